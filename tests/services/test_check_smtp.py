"""The connection check against real aiosmtpd servers: each failure gets the right diagnosis."""

from __future__ import annotations

import socket

import pytest

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory, refused_port
from wizard.services.check import CheckReport, Step, StepStatus, check_smtp
from wizard.services.model import Profile, Security
from wizard.services.transports.base import PasswordCredential

pytestmark = pytest.mark.asyncio

GOOD = PasswordCredential(GOOD_USER, GOOD_PASSWORD)


def profile(port: int, security: Security = Security.STARTTLS, *, ca_file: str = "", host: str = "127.0.0.1",
            **extra: object) -> Profile:
    values: dict[str, object] = {"timeout_s": 5.0, **extra}
    return Profile(name="t", host=host, port=port, security=security, ca_file=ca_file, username=GOOD_USER,
                   from_address="app@example.com", **values)  # type: ignore[arg-type]


def statuses(report: CheckReport) -> dict[str, str]:
    return {s.name: s.status.value for s in report.steps}


async def test_starttls_server_passes_every_step_and_sends_nothing(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    seen: list[Step] = []
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), GOOD, on_step=seen.append)
    assert report.ok, report.diagnosis
    assert [s.name for s in report.steps] == ["resolve", "connect", "tls", "ehlo", "auth", "sender"]
    assert all(s.status is StepStatus.PASSED for s in report.steps)
    assert "TLSv1.3" in report.steps[2].detail or "TLSv1.2" in report.steps[2].detail
    assert any(c.startswith("AUTH") for c in report.capabilities)
    assert [s.status for s in seen[:2]] == [StepStatus.RUNNING, StepStatus.PASSED]
    assert server.messages == []
    assert server.handler.mail_from_seen == ["app@example.com"]


async def test_implicit_tls_server_passes(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("tls")
    report = await check_smtp(profile(server.port, Security.TLS, ca_file=server.ca_file), GOOD)
    assert report.ok, report.diagnosis


async def test_wrong_password_is_auth_failed(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), PasswordCredential(GOOD_USER, "nope"))
    assert report.diagnosis is not None and report.diagnosis.code == "auth_failed"
    assert "535" in report.diagnosis.detail
    assert statuses(report)["auth"] == "failed" and statuses(report)["sender"] == "skipped"
    assert "nope" not in str(report.to_json())


@pytest.mark.parametrize(("reply", "code"), [
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
     "basic_auth_disabled"),
    ("534 5.7.9 Application-specific password required.", "app_password_required"),
    ("535 5.7.8 Username and Password not accepted.", "auth_failed"),
])
async def test_auth_replies_are_diagnosed(smtp_server: SmtpServerFactory, reply: str, code: str) -> None:
    server = smtp_server("starttls", auth_reply=reply)
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), GOOD)
    assert report.diagnosis is not None
    assert report.diagnosis.code == code
    assert reply.split(" ", 2)[1] in report.diagnosis.detail


async def test_untrusted_ca_is_tls_certificate_and_says_unknown_ca(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", certificate="untrusted")
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_certificate"
    assert "Unknown certificate authority" in report.diagnosis.explanation
    assert statuses(report)["tls"] == "failed"
    assert statuses(report)["auth"] == "skipped"


async def test_implicit_tls_hostname_mismatch_is_tls_certificate(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("tls", certificate="mismatch")
    report = await check_smtp(profile(server.port, Security.TLS, ca_file=server.ca_file, host="localhost"), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_certificate"
    assert "Hostname mismatch" in report.diagnosis.explanation
    assert "'localhost'" in report.diagnosis.explanation
    assert statuses(report) == {"resolve": "passed", "connect": "passed", "tls": "failed", "ehlo": "skipped",
                                "auth": "skipped", "sender": "skipped"}


async def test_system_store_does_not_trust_test_ca(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    report = await check_smtp(profile(server.port), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_certificate"


async def test_security_none_to_server_requiring_tls_never_sends_password(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", require_starttls=True)
    report = await check_smtp(profile(server.port, Security.NONE, allow_plaintext_loopback=True), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_required"
    authenticator = server.controller.SMTP_kwargs["authenticator"]
    assert authenticator.attempts == []


async def test_server_offering_neither_auth_nor_starttls_is_not_told_to_encrypt(
        smtp_server: SmtpServerFactory) -> None:
    # A plain server that advertises no AUTH (aiosmtpd's auth_require_tls without TLS) and no STARTTLS: issue 14
    # item 4 saw "offers sign-in (AUTH) only on an encrypted connection", which it cannot offer at all.
    server = smtp_server("plain", auth=True, auth_require_tls=True,
                         extra_kwargs={"auth_require_tls": True})
    report = await check_smtp(profile(server.port, Security.NONE, allow_plaintext_loopback=True), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "auth_not_supported"
    assert "encrypted" not in report.diagnosis.explanation
    assert server.controller.SMTP_kwargs["authenticator"].attempts == []


async def test_must_issue_starttls_reply_is_tls_required(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", require_starttls=True, auth=False)
    unauthenticated = profile(server.port, Security.NONE, allow_plaintext_loopback=True)
    report = await check_smtp(unauthenticated, None)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_required"


async def test_plaintext_loopback_needs_explicit_confirmation(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("plain", auth=True, auth_require_tls=False)
    refused = await check_smtp(profile(server.port, Security.NONE), GOOD)
    assert refused.diagnosis is not None and refused.diagnosis.code == "tls_required"
    said = refused.diagnosis.explanation + refused.diagnosis.fix + refused.diagnosis.detail
    assert "--allow-plaintext-loopback" in said  # the way to confirm it, on the command line and on the page
    assert "'Send the password unencrypted to this server on my own computer'" in said
    assert server.controller.SMTP_kwargs["authenticator"].attempts == []
    allowed = await check_smtp(profile(server.port, Security.NONE, allow_plaintext_loopback=True), GOOD)
    assert allowed.ok, allowed.diagnosis


async def test_refused_port_is_connect_failed_and_suggests_working_port(smtp_server: SmtpServerFactory) -> None:
    report = await check_smtp(profile(refused_port(), ca_file=""), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == "connect_failed"
    assert statuses(report)["connect"] == "failed"


async def test_unknown_host_is_dns_failed() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    report = await check_smtp(profile(587, host="smtp.does-not-exist.invalid"), GOOD, resolver=nxdomain)
    assert report.diagnosis is not None and report.diagnosis.code == "dns_failed"
    assert "smtp.does-not-exist.invalid" in report.diagnosis.explanation


async def test_silent_server_is_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        slow = profile(listener.getsockname()[1], timeout_s=0.5)  # type: ignore[arg-type]
        report = await check_smtp(slow, GOOD)
    finally:
        listener.close()
    assert report.diagnosis is not None and report.diagnosis.code == "timeout"


@pytest.mark.parametrize(("reply", "code"), [
    ("550 5.7.60 SMTP; Client does not have permissions to send as this sender", "send_as_denied"),
    ("554 5.2.252 SendAsDenied; app@example.com not allowed to send as boss@example.com", "send_as_denied"),
    ("550 5.7.64 TenantAttribution; Relay Access Denied", "relay_denied"),
    ("550 5.7.1 Relaying denied", "sender_rejected"),  # words from the stage and codes, never from "relay"
])
async def test_sender_refusals_are_diagnosed(smtp_server: SmtpServerFactory, reply: str, code: str) -> None:
    server = smtp_server("starttls")
    server.handler.mail_reply = reply
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), GOOD)
    assert report.diagnosis is not None and report.diagnosis.code == code
    assert statuses(report)["sender"] == "failed"
    assert reply in report.diagnosis.detail


async def test_unknown_reply_shows_the_exact_server_text(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    server.handler.mail_reply = "553 5.9.99 Frobnication quota of the flux capacitor reached"
    report = await check_smtp(profile(server.port, ca_file=server.ca_file), GOOD)
    assert report.diagnosis is not None
    assert "Frobnication quota of the flux capacitor reached" in report.diagnosis.explanation
