"""errors.failure_scope: what a reply affects, from its stage, reply code and enhanced status only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer, SinkHandler
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import (
    DeliveryTimeoutError,
    DiagnosisCode,
    Scope,
    SmtpReplyError,
    Stage,
    StorageError,
    TransportError,
    describe,
    failure_scope,
)
from wizard.services.model import Profile, Security
from wizard.services.transports.smtp import SmtpTransport


@pytest.mark.parametrize(("stage", "code", "enhanced", "scope"), [
    (Stage.RCPT, 550, "5.1.1", Scope.RECIPIENT),
    (Stage.RCPT, 554, "5.7.1", Scope.RECIPIENT),  # "Relay access denied" for one recipient
    (Stage.RCPT, 450, "4.7.1", Scope.RETRY),  # greylisting
    (Stage.RCPT, 550, "5.7.64", Scope.ACCOUNT),  # TenantAttribution: the connector does not know the account
    (Stage.DATA, 550, "5.7.1", Scope.MESSAGE),  # content filter
    (Stage.END_OF_DATA, 552, "5.3.4", Scope.MESSAGE),  # too big
    (Stage.DATA, 451, "4.3.0", Scope.RETRY),
    (Stage.DATA, 550, "5.4.5", Scope.THROTTLE),  # Gmail's daily quota: slow the account, keep the mail
    (Stage.MAIL, 553, "5.7.1", Scope.ACCOUNT),  # send-as denied
    (Stage.MAIL, 550, "5.7.60", Scope.ACCOUNT),
    (Stage.MAIL, 553, "5.1.8", Scope.MESSAGE),  # this envelope sender's domain does not exist
    (Stage.MAIL, 530, "5.7.0", Scope.ACCOUNT),  # must authenticate / STARTTLS first
    (Stage.AUTH, 535, "5.7.8", Scope.ACCOUNT),
    (Stage.AUTH, 535, "5.7.139", Scope.ACCOUNT),
    (Stage.AUTH, 454, "4.7.0", Scope.RETRY),
    (Stage.TLS, 454, "4.7.0", Scope.RETRY),  # STARTTLS refused for now
    (Stage.TLS, 0, "", Scope.ACCOUNT),  # handshake failed
    (Stage.CONNECT, 0, "", Scope.RETRY),  # refused, timed out
    (Stage.CONNECT, 421, "4.7.0", Scope.THROTTLE),
    (Stage.CONNECT, 554, "5.7.1", Scope.RETRY),  # a 5xx banner: no session now
])
def test_smtp_scope(stage: Stage, code: int, enhanced: str, scope: Scope) -> None:
    assert failure_scope(stage, code, enhanced) is scope


@pytest.mark.parametrize(("status", "error_code", "scope"), [
    (400, "ErrorInvalidRecipients", Scope.MESSAGE),
    (413, "ErrorMessageSizeExceeded", Scope.MESSAGE),
    (403, "ErrorSendAsDenied", Scope.MESSAGE),
    (401, "InvalidAuthenticationToken", Scope.ACCOUNT),
    (403, "ErrorAccessDenied", Scope.ACCOUNT),
    (404, "MailboxNotEnabledForRESTAPI", Scope.ACCOUNT),
    (429, "ApplicationThrottled", Scope.THROTTLE),
    (503, "", Scope.THROTTLE),
    (500, "", Scope.RETRY),
])
def test_graph_scope(status: int, error_code: str, scope: Scope) -> None:
    assert failure_scope(Stage.GRAPH, status, error_code=error_code) is scope


def test_reply_error_carries_the_facts_as_fields() -> None:
    error = SmtpReplyError(Stage.RCPT, 550, "5.1.1 <bad@example.com>: User unknown in relay recipient table")
    assert (error.stage, error.reply_code, error.enhanced, error.scope, error.code) == (
        Stage.RCPT, 550, "5.1.1", Scope.RECIPIENT, "recipient_rejected")
    assert describe(error).detail == "550 5.1.1 <bad@example.com>: User unknown in relay recipient table"


def test_a_timeout_is_a_timeout_error() -> None:

    error = DeliveryTimeoutError(DiagnosisCode.TIMEOUT, Scope.RETRY, stage=Stage.DATA)
    assert isinstance(error, TimeoutError) and error.scope is Scope.RETRY


def test_describe_names_storage_faults_and_unexpected_errors() -> None:
    assert describe(sqlite3.OperationalError("database or disk is full")).code == "storage_full"
    assert describe(sqlite3.OperationalError("database is locked")).code == "outbox_busy"
    assert isinstance(StorageError(DiagnosisCode.STORAGE_FULL, "full"), OSError)
    unexpected = describe(ZeroDivisionError("division by zero"), log_path="/data/logs/mailwright.log")
    assert unexpected.code == "internal_error" and "/data/logs/mailwright.log" in unexpected.fix


# -- words only at the edge: transports raise facts, describe() renders them ----------------------------------------


def test_no_transport_or_token_service_builds_a_diagnosis() -> None:
    """The transports, the OAuth token services and the checks raise typed errors with facts; only errors.describe
    (through the diagnostics table) turns them into words, where a person reads them."""
    import ast
    from pathlib import Path

    from wizard import services

    root = Path(services.__file__).parent
    modules = [*root.glob("transports/*.py"), *root.glob("oauth/*.py"), root / "accounts.py", root / "check.py",
               root / "graph_check.py"]
    builders = {"Diagnosis", "diagnostics.make", "make", "diagnostics.Diagnosis"}
    found = []
    for path in sorted(modules):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in builders:
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}(...)")
    assert found == []


def test_a_token_error_is_raised_as_facts_and_the_sender_keeps_them() -> None:
    from wizard.services.oauth.errors import as_transport_error, error_from_response

    error = error_from_response({"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token "
                                 "has expired due to inactivity. Trace ID: 1"}, username="app@example.com")
    assert (error.code, error.scope) == ("token_expired", Scope.ACCOUNT)
    assert error.detail == "invalid_grant: AADSTS700082: The refresh token has expired due to inactivity."
    assert not any(isinstance(value, Diagnosis) for value in vars(error).values())
    carried = as_transport_error(error)  # what the sender and the outbox see
    assert (carried.code, carried.scope, carried.reply) == (error.code, Scope.ACCOUNT, error.detail)
    assert describe(carried) == describe(error) and describe(error).fix


@pytest.mark.asyncio
async def test_a_refusal_is_raised_as_facts_and_described_where_it_is_read(
        smtp_server: Callable[..., RunningSmtpServer]) -> None:
    server = smtp_server("plain", auth=False, handler=SinkHandler(
        mail_reply="550 5.7.60 SMTP; Client does not have permissions to send as this sender"))
    transport = SmtpTransport.for_profile(Profile(name="p", from_address="app@example.com", host=server.host,
                                                  port=server.port, security=Security.NONE,
                                                  allow_plaintext_loopback=True), None)
    try:
        with pytest.raises(TransportError) as raised:
            await transport.send("other@example.com", ["bob@example.net"], b"Subject: x\r\n\r\nhi\r\n")
    finally:
        await transport.close()
    error = raised.value
    assert (error.stage, error.reply_code, error.enhanced, error.code, error.scope) == (
        Stage.MAIL, 550, "5.7.60", DiagnosisCode.SEND_AS_DENIED, Scope.ACCOUNT)
    assert "Client does not have permissions" in error.text
    assert not any(isinstance(value, Diagnosis) for value in vars(error).values())  # no words built when raised
    words = describe(error, from_address="other@example.com")
    assert words.code == "send_as_denied" and words.detail.startswith("550 5.7.60")
    assert "other@example.com" in words.fix + words.explanation
