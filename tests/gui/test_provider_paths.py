"""Every provider path through the wizard, end to end against local servers: a catalogue preset, Gmail with an
app password, Microsoft 365 SMTP (app-only client secret; browser sign-in), Microsoft Graph (client secret),
and the switch from Microsoft 365 SMTP to Graph when SMTP AUTH is disabled.

Provider host names (smtp.gmail.com, smtp.office365.com, login.microsoftonline.com, graph.microsoft.com) are
replaced in the wizard's state by the local servers, as an admin's profile setting would (host, authority,
graph_endpoint, CA file); everything else is what the user types and clicks.
"""

from __future__ import annotations

import base64
import datetime
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from tests.fixtures.graph_endpoint import GraphEndpoint, graph_endpoint
from tests.fixtures.identity_provider import (
    CONFIDENTIAL_CLIENT,
    PUBLIC_CLIENT,
    TENANT,
    USER,
    App,
    IdentityProvider,
    identity_provider,
)
from tests.fixtures.smtp_servers import GOOD_USER, SmtpServerFactory, free_port, server_context
from tests.fixtures.xoauth2_smtp import XOAuth2Controller, XOAuth2Handler, XOAuth2Server, xoauth2_smtp_server
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, files_containing
from tests.gui.wizard_driver import (
    choose_provider,
    click,
    click_next,
    pass_check,
    register_app_myself,
    settings_dns_test_mail_and_save,
    start_new_account,
    type_into,
)
from tests.oauth.conftest import system_browser
from wizard.pages.ids import PageId
from wizard.pages.welcome import describe_profile
from wizard.pages.wizard import MailwrightWizard, load_saved_accounts
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, ProviderKind
from wizard.services.oauth import token_store
from wizard.services.secrets import SecretKind

__all__ = ["graph_endpoint", "identity_provider", "system_browser", "xoauth2_smtp_server"]

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

# What Entra shows in the Value column: 40 characters (the wizard warns about anything that looks like the ID).
CLIENT_SECRET = "abC8Q~" + "s3cr3t-Value_" * 2 + "x" * 8
APP_OBJECT_ID = "99999999-8888-4777-8666-555555555555"
CERTIFICATE_CLIENT = "aaaaaaaa-0000-4000-8000-0000000000c1"


@pytest.fixture(autouse=True)
def clean_keyring_and_tokens(profile_name: str) -> Iterator[None]:
    yield
    secrets.delete_profile_secrets(profile_name)
    token_store.delete(profile_name)


@pytest.fixture
def app_with_secret(identity_provider: IdentityProvider) -> IdentityProvider:
    identity_provider.register(App(CONFIDENTIAL_CLIENT, public=False, secret=CLIENT_SECRET))
    return identity_provider


def saved_config(data_home: Path) -> tuple[str, dict[str, object]]:
    text = (data_home / "config.toml").read_text()
    return text, tomllib.loads(text)


def point_at(window: MailwrightWizard, host: str, port: int, ca_file: str) -> None:
    """The local server stands in for the provider's real host."""
    window.state.draft = replace(window.state.draft, host=host, port=port, ca_file=ca_file)


async def test_catalogue_preset_fills_the_smtp_page_then_sends(
        qtbot: QtBot, flow_window: MailwrightWizard, smtp_server: SmtpServerFactory, data_home: Path,
        profile_name: str) -> None:
    api_key = "SG.local-test-key"
    server = smtp_server("starttls", users={"apikey": api_key})
    window = flow_window
    start_new_account(qtbot, window, GOOD_USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.SMTP, preset="sendgrid")
    assert "apikey" in window.provider_page.preset_help.text()
    click_next(qtbot, window, PageId.SMTP)
    page = window.smtp_page
    assert page.findChild(QLineEdit, "host").text() == "smtp.sendgrid.net"
    assert page.findChild(QLineEdit, "port").text() == "587"
    assert page.findChild(QLineEdit, "username").text() == "apikey"
    assert "SendGrid" in page.findChild(QLabel, "smtpPresetHelp").text()
    type_into(window, "host", server.host)
    type_into(window, "port", str(server.port))
    type_into(window, "password", api_key)
    type_into(window, "caFile", server.ca_file)

    await pass_check(qtbot, window, PageId.SMTP)
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert [m.authenticated_as for m in server.messages] == ["apikey"]
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["preset"] == "sendgrid" and profile["username"] == "apikey"
    assert api_key not in text and files_containing(data_home, api_key) == []
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == api_key


async def test_gmail_with_an_app_password(qtbot: QtBot, flow_window: MailwrightWizard,
                                          smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    app_password = "abcdefghijklmnop"
    server = smtp_server("starttls", users={GOOD_USER: app_password})
    window = flow_window
    start_new_account(qtbot, window, GOOD_USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.GMAIL)
    click_next(qtbot, window, PageId.GMAIL_AUTH)
    assert (window.state.draft.host, window.state.draft.port) == ("smtp.gmail.com", 587)
    assert window.gmail_auth_page.app_password_radio.isChecked()
    type_into(window, "gmailAppPassword", "abcd efgh ijkl")
    assert "16 letters" in window.gmail_auth_page.app_password_hint.text()
    assert not window.gmail_auth_page.isComplete()
    type_into(window, "gmailAppPassword", "abcd efgh ijkl mnop")
    point_at(window, server.host, server.port, server.ca_file)

    await pass_check(qtbot, window, PageId.GMAIL_AUTH)
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert [m.authenticated_as for m in server.messages] == [GOOD_USER]
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "gmail" and profile["username"] == GOOD_USER and "auth" not in profile
    assert app_password not in text and files_containing(data_home, app_password) == []
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == app_password


async def enter_app_only_registration(qtbot: QtBot, window: MailwrightWizard, provider: ProviderKind,
                                      idp: IdentityProvider) -> None:
    """Microsoft sign-in page (client secret, registration known) -> registration page with the secret."""
    enter_registration_ids(qtbot, window, "auth-client-secret", CONFIDENTIAL_CLIENT)
    assert not window.m365_auth_page.panel.isVisibleTo(window)
    click_next(qtbot, window, PageId.AZURE_REGISTRATION)
    page = window.azure_registration_page
    assert page.cloud.currentText() == f"Other: {idp.url}"
    assert page.findChild(QLineEdit, "tenantId").text() == TENANT
    type_into(window, "clientSecret", "0f9e8d7c-6b5a-4948-8372-615e4d3c2b1a")
    assert "Secret ID" in page.validation.text() and not page.isComplete()
    type_into(window, "clientSecret", CLIENT_SECRET)
    if provider is ProviderKind.M365_SMTP:
        type_into(window, "enterpriseObjectId", APP_OBJECT_ID)
        assert f"New-ServicePrincipal -AppId {CONFIDENTIAL_CLIENT} -ObjectId {APP_OBJECT_ID}" in \
            page.powershell.toPlainText()
    else:
        assert not page.powershell.isVisibleTo(window)
        assert "Microsoft Graph" in page.steps.text()


def enter_registration_ids(qtbot: QtBot, window: MailwrightWizard, mode: str, client_id: str) -> None:
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    click(qtbot, window, mode)
    type_into(window, "m365Tenant", TENANT)
    type_into(window, "m365ClientId", client_id)


async def test_microsoft_365_smtp_app_only_certificate_with_passphrase(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, data_home: Path, profile_name: str, tmp_path: Path) -> None:
    passphrase = "pfx-passphrase-123"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailwright test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    pfx = tmp_path / "mailwright.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        b"mailwright", key, certificate, None, serialization.BestAvailableEncryption(passphrase.encode())))
    identity_provider.register(App(CERTIFICATE_CLIENT, public=False, certificate=certificate))
    server = xoauth2_smtp_server
    server.handler.audience = "https://outlook.office365.com"
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    window.provider_page.validatePage()
    point_at(window, server.host, server.port, ca_file)
    enter_registration_ids(qtbot, window, "auth-client-certificate", CERTIFICATE_CLIENT)
    click_next(qtbot, window, PageId.AZURE_REGISTRATION)
    page = window.azure_registration_page
    assert not page.secret.isVisibleTo(window) and page.certificate.isVisibleTo(window)
    assert not page.isComplete() and "certificate" not in page.validation.text()  # no red before any input
    type_into(window, "certificatePath", str(pfx))
    type_into(window, "certificatePassphrase", passphrase)

    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert server.handler.authenticated_as == [USER, USER]
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["auth"] == "client-certificate" and profile["certificate_path"] == str(pfx)
    assert passphrase not in text and files_containing(data_home, passphrase) == []
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE) == passphrase


async def test_microsoft_365_smtp_app_only_client_secret(
        qtbot: QtBot, flow_window: MailwrightWizard, app_with_secret: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, data_home: Path, profile_name: str) -> None:
    server = xoauth2_smtp_server
    server.handler.audience = "https://outlook.office365.com"  # app-only tokens are for the .default resource
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    window.state.draft = replace(window.state.draft, authority=app_with_secret.url)
    window.provider_page.validatePage()
    assert (window.state.draft.host, window.state.draft.port) == ("smtp.office365.com", 587)
    point_at(window, server.host, server.port, ca_file)
    await enter_app_only_registration(qtbot, window, ProviderKind.M365_SMTP, app_with_secret)

    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)
    assert window.check_page.findChild(QLabel, "step-token").text().startswith("passed")
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert server.handler.authenticated_as == [USER, USER]  # the check, then the test mail
    assert set(app_with_secret.grant_types) == {"client_credentials"}
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "m365-smtp" and profile["auth"] == "client-secret"
    assert (profile["tenant"], profile["client_id"]) == (TENANT, CONFIDENTIAL_CLIENT)
    assert profile["authority"] == app_with_secret.url and "client_secret_expires" in profile
    assert CLIENT_SECRET not in text and files_containing(data_home, CLIENT_SECRET) == []
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == CLIENT_SECRET


@pytest.mark.usefixtures("system_browser")
async def test_microsoft_365_smtp_browser_sign_in(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, data_home: Path, profile_name: str) -> None:
    server = xoauth2_smtp_server
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    point_at(window, server.host, server.port, ca_file)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    page = window.m365_auth_page
    assert page.auth_mode() is AuthMode.OAUTH_INTERACTIVE
    type_into(window, "m365Tenant", TENANT)
    type_into(window, "m365ClientId", PUBLIC_CLIENT)
    assert not page.isComplete()
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()
    assert f"Access granted for {USER}" in page.panel.status.text()

    await pass_check(qtbot, window, PageId.M365_AUTH)
    click(qtbot, window, "sendTestMail")  # the check page's quick test mail signs in with the same tokens
    dialog = window.check_page.send_test_dialog
    assert dialog is not None
    dialog.findChild(QLineEdit, "testTo").setText("someone@example.net")
    sent = SignalWaiter(dialog.send_finished)
    dialog.send_button.click()
    assert await sent.wait() == (True,), dialog.status.text()
    await window.wait_idle()
    dialog.close()
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert server.handler.authenticated_as == [USER, USER, USER]  # check, dialog, test mail page
    assert identity_provider.grant_types[0] == "authorization_code"
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["auth"] == "oauth-interactive" and profile["client_id"] == PUBLIC_CLIENT
    assert token_store.load_blob(profile_name) is not None  # the refresh token, encrypted, under the saved name
    assert "refresh_token" not in text and "rt-" not in text


async def test_microsoft_graph_app_only_client_secret(
        qtbot: QtBot, flow_window: MailwrightWizard, app_with_secret: IdentityProvider,
        graph_endpoint: GraphEndpoint, ca_file: str, data_home: Path, profile_name: str) -> None:
    graph_endpoint.accept_audience = "https://graph.microsoft.com"
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.GRAPH)
    window.state.draft = replace(window.state.draft, authority=app_with_secret.url, graph_endpoint=graph_endpoint.url)
    window.state.draft = replace(window.state.draft, ca_file=ca_file)
    await enter_app_only_registration(qtbot, window, ProviderKind.GRAPH, app_with_secret)
    click_next(qtbot, window, PageId.GRAPH_PERMISSIONS)
    permissions = window.graph_permissions_page
    assert USER in permissions.warning.text()
    assert f"-App '{CONFIDENTIAL_CLIENT}'" in permissions.rbac.text.toPlainText()
    type_into(window, "enterpriseObjectId", APP_OBJECT_ID)

    await pass_check(qtbot, window, PageId.GRAPH_PERMISSIONS)
    for step in ("token", "mailbox", "permissions"):
        assert window.check_page.findChild(QLabel, f"step-{step}").text().startswith("passed"), step
    assert not window.check_page.findChild(QLabel, "step-ehlo").isVisible()
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    [mail] = graph_endpoint.received
    assert mail.route == "mime"
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "graph" and profile["auth"] == "client-secret"
    assert profile["graph_endpoint"] == graph_endpoint.url
    reopened = load_saved_accounts(ConfigStore())
    assert describe_profile(reopened.state.saved_profiles[profile_name], True) == \
        f"{profile_name}: {USER} via Microsoft Graph  (default)"
    assert CLIENT_SECRET not in text and files_containing(data_home, CLIENT_SECRET) == []
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == CLIENT_SECRET


class SmtpAuthDisabledHandler(XOAuth2Handler):
    """Microsoft 365 with SMTP AUTH off for the tenant: a valid token is refused with 5.7.139."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        base64.b64decode(args[1])
        await server.push("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                          "Tenant.")
        return AuthResult(success=False, handled=True)


@pytest.fixture
def smtp_auth_disabled(identity_provider: IdentityProvider, trusted_ca: trustme.CA) -> Iterator[XOAuth2Server]:
    handler = SmtpAuthDisabledHandler(identity_provider)
    port = free_port()
    controller = XOAuth2Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test",
                                   ready_timeout=5.0, tls_context=server_context(trusted_ca, "127.0.0.1"),
                                   auth_require_tls=True, auth_exclude_mechanism=["LOGIN", "PLAIN"],
                                   authenticator=lambda *args: AuthResult(success=False))
    controller.start()
    yield XOAuth2Server("127.0.0.1", port, handler)
    controller.stop(no_assert=True)


async def test_smtp_auth_disabled_offers_graph_and_keeps_the_registration(
        qtbot: QtBot, flow_window: MailwrightWizard, app_with_secret: IdentityProvider,
        smtp_auth_disabled: XOAuth2Server, graph_endpoint: GraphEndpoint, ca_file: str, data_home: Path,
        profile_name: str) -> None:
    graph_endpoint.accept_audience = "https://graph.microsoft.com"
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    window.state.draft = replace(window.state.draft, authority=app_with_secret.url, graph_endpoint=graph_endpoint.url)
    window.provider_page.validatePage()
    point_at(window, smtp_auth_disabled.host, smtp_auth_disabled.port, ca_file)
    await enter_app_only_registration(qtbot, window, ProviderKind.M365_SMTP, app_with_secret)

    checked = SignalWaiter(window.check_page.check_finished)
    click_next(qtbot, window, PageId.CHECK)
    assert await checked.wait() == (False,)
    await window.wait_idle()
    assert window.check_page.findChild(QLabel, "diagnosisTitle").text() == \
        "SMTP AUTH is disabled for the tenant or this mailbox"
    click(qtbot, window, "useGraphInstead")

    assert window.currentId() == PageId.M365_AUTH
    assert window.state.draft.provider is ProviderKind.GRAPH and window.state.draft.auth is AuthMode.CLIENT_SECRET
    assert (window.state.draft.tenant, window.state.draft.client_id) == (TENANT, CONFIDENTIAL_CLIENT)
    assert window.m365_auth_page.title().startswith("Microsoft Graph")
    click_next(qtbot, window, PageId.AZURE_REGISTRATION)
    assert window.azure_registration_page.findChild(QLineEdit, "clientSecret").text() == CLIENT_SECRET
    assert "Microsoft Graph" in window.azure_registration_page.steps.text()
    click_next(qtbot, window, PageId.GRAPH_PERMISSIONS)
    await pass_check(qtbot, window, PageId.GRAPH_PERMISSIONS)
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert len(graph_endpoint.received) == 1
    _text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "graph" and profile["client_id"] == CONFIDENTIAL_CLIENT
    assert "host" not in profile
