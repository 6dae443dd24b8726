"""What the admin sees when the provider says no: revoked grant -> mail held; Microsoft 365 and Gmail SMTP replies
-> their diagnoses. Real servers: the local identity provider, the XOAUTH2-only SMTP server, aiosmtpd sinks."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, AuthResult

from tests.fixtures.identity_provider import USER, IdentityProvider
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SinkHandler, SmtpServerFactory
from tests.fixtures.xoauth2_smtp import XOAuth2Server
from tests.oauth.conftest import m365_profile
from wizard.services import accounts, check, oauth, secrets
from wizard.services.config import Config
from wizard.services.model import Profile, ProviderKind
from wizard.services.outbox import MessageState, Outbox
from wizard.services.secrets import SecretKind
from wizard.services.sender import Sender
from wizard.services.transports.base import Scope, TransportError

pytestmark = [pytest.mark.keyring, pytest.mark.usefixtures("system_browser")]


def report_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = USER
    message["To"] = "someone@example.net"
    message["Subject"] = "Nightly report"
    message.set_content("numbers")
    return message


@pytest.mark.asyncio
async def test_revoked_refresh_token_holds_the_mail_with_token_expired(
        identity_provider: IdentityProvider, xoauth2_smtp_server: XOAuth2Server, ca_file: str,
        profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name, port=xoauth2_smtp_server.port, ca_file=ca_file)
    await oauth.login(profile)
    identity_provider.revoke_refresh_tokens()  # the admin revoked the grant in the tenant ...
    identity_provider.issued.clear()  # ... and the cached access token no longer works either
    outbox = Outbox()
    first = outbox.enqueue(report_mail(), profile=profile_name).id
    second = outbox.enqueue(report_mail(), profile=profile_name).id

    async def no_wait(_seconds: float) -> None:
        return None

    sender = Sender(outbox, lambda: Config(profiles={profile_name: profile}, default_profile=profile_name),
                    sleep=no_wait)
    await sender.drain()

    assert {outbox.get(first).state, outbox.get(second).state} == {MessageState.HELD}
    assert sender.paused[profile_name].code == "token_expired"
    assert xoauth2_smtp_server.handler.messages == []
    assert identity_provider.grant_types[-1] == "refresh_token"


@pytest.mark.asyncio
async def test_smtp_auth_disabled_for_the_tenant_is_basic_auth_disabled_even_with_oauth(
        identity_provider: IdentityProvider, xoauth2_smtp_server: XOAuth2Server, ca_file: str,
        profile_name: str) -> None:
    async def tenant_without_smtp_auth(server: SMTP, args: list[str]) -> AuthResult:
        await server.push("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                          "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")
        return AuthResult(success=False, handled=True)

    xoauth2_smtp_server.handler.auth_XOAUTH2 = tenant_without_smtp_auth  # type: ignore[method-assign]
    profile = m365_profile(identity_provider, profile_name, port=xoauth2_smtp_server.port, ca_file=ca_file)
    await oauth.login(profile)

    report = await check.check_profile(profile)

    diagnosis = report.diagnosis
    assert diagnosis is not None and diagnosis.code == "basic_auth_disabled"
    assert f"Set-CASMailbox -Identity {USER} -SmtpClientAuthenticationDisabled $false" in diagnosis.fix
    assert "Microsoft Graph" in diagnosis.fix
    assert identity_provider.grant_types == ["authorization_code"]  # not retried with a refreshed token


def gmail_password_profile(name: str, port: int, ca_file: str) -> Profile:
    return Profile(name=name, provider=ProviderKind.GMAIL, from_address=GOOD_USER, username=GOOD_USER,
                   host="127.0.0.1", port=port, ca_file=ca_file)


@pytest.mark.asyncio
@pytest.mark.parametrize(("reply", "code"), [
    ("534 5.7.9 Application-specific password required. Learn more at "
     "https://support.google.com/mail/?p=InvalidSecondFactor", "app_password_required"),
    ("535 5.7.8 Username and Password not accepted. For more information, go to "
     "https://support.google.com/mail/?p=BadCredentials", "auth_failed"),
    ("534 5.7.14 <https://accounts.google.com/signin/continue?...> Please log in via your web browser and then "
     "try again.", "browser_login_required"),
])
async def test_gmail_sign_in_replies_are_diagnosed(smtp_server: SmtpServerFactory, profile_name: str, reply: str,
                                                   code: str) -> None:
    server = smtp_server("starttls", auth_reply=reply)
    profile = accounts.save_profile(gmail_password_profile(profile_name, server.port, server.ca_file), GOOD_PASSWORD)

    report = await check.check_profile(profile)

    assert report.diagnosis is not None and report.diagnosis.code == code
    assert reply.split(" ", 2)[1] in report.diagnosis.detail
    assert GOOD_PASSWORD not in str(report.to_json())


@pytest.mark.asyncio
async def test_gmail_daily_quota_reply_is_quota_exceeded_and_retried_not_failed(smtp_server: SmtpServerFactory,
                                                                               profile_name: str) -> None:
    handler = SinkHandler(data_replies=["550 5.4.5 Daily user sending limit exceeded. For more information on "
                                        "Gmail's sending limits go to https://support.google.com/a/answer/166852"])
    server = smtp_server("starttls", handler=handler)
    profile = gmail_password_profile(profile_name, server.port, server.ca_file)
    secrets.store_secret(profile_name, SecretKind.PASSWORD, GOOD_PASSWORD)

    async with await accounts.transport_for(profile) as transport:
        with pytest.raises(TransportError) as raised:
            await transport.send(GOOD_USER, ["someone@example.net"], b"Subject: hi\r\n\r\nhello\r\n")

    assert raised.value.diagnosis.code == "quota_exceeded"
    assert raised.value.scope is Scope.THROTTLE  # Gmail lifts the limit within 24 hours: keep the mail
