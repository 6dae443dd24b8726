"""The knowledge base: replies from REFERENCE.md map to stable codes, unknown replies keep their text."""

from __future__ import annotations

import pytest

from wizard.services import diagnostics
from wizard.services.errors import DiagnosisCode


@pytest.mark.parametrize(("code", "message", "expected"), [
    (454, "4.7.0 TLS not available due to local problem", "server_error"),
    (535, "5.7.139 Authentication unsuccessful, basic authentication is disabled", "basic_auth_disabled"),
    (535, "5.7.3 Authentication unsuccessful", "auth_failed"),
    (534, "5.7.9 Application-specific password required", "app_password_required"),
    (535, "5.7.9 Application-specific password required", "app_password_required"),
    (534, "5.7.14 Please log in via your web browser", "browser_login_required"),
    (530, "5.7.0 Must issue a STARTTLS command first", "tls_required"),
    (530, "5.7.57 Client not authenticated to send mail", "tls_required"),
    (550, "5.7.60 SMTP; Client does not have permissions to send as this sender", "send_as_denied"),
    (554, "5.2.252 SendAsDenied; not allowed to send as", "send_as_denied"),
    (550, "5.7.64 TenantAttribution; Relay Access Denied", "relay_denied"),
    (550, "5.4.5 Daily user sending quota exceeded", "quota_exceeded"),
    (421, "4.7.0 Try again later, closing connection", "throttled"),
    (432, "4.3.2 Concurrent connections limit exceeded", "throttled"),
    (550, "5.7.26 Unauthenticated email is not accepted", "dmarc_rejected"),
    (451, "4.3.0 Mail server temporarily rejected message", "server_error"),
    (554, "5.6.0 Message content rejected", "message_rejected"),
])
def test_smtp_replies_map_to_codes(code: int, message: str, expected: str) -> None:
    assert diagnostics.code_for_smtp_reply(code, message) == expected


@pytest.mark.parametrize(("stage", "code", "message", "expected"), [
    # Words come from the stage and codes, never from "relay" or "5.7.1" in the text (issue 12).
    ("rcpt", 550, "5.1.1 <bad@example.com>: Recipient address rejected: User unknown in relay recipient table",
     "recipient_rejected"),
    ("rcpt", 554, "5.7.1 <x@y>: Relay access denied", "recipient_rejected"),
    ("data", 550, "5.7.1 Message rejected as spam by content filter", "message_rejected"),
    ("mail", 553, "5.7.1 <a@b>: Sender address rejected: not owned by user app", "sender_rejected"),
    ("mail", 553, "5.1.8 <a@b>: Sender address rejected: Domain not found", "sender_rejected"),
    ("tls", 454, "4.7.0 TLS not available due to local problem", "tls_failed"),  # never "throttled" (issue 14)
    ("auth", 454, "4.7.0 Temporary authentication failure", "server_error"),
    ("rcpt", 550, "5.7.64 TenantAttribution; Relay Access Denied", "relay_denied"),
])
def test_replies_map_to_codes_by_stage(stage: str, code: int, message: str, expected: str) -> None:
    assert diagnostics.code_for_smtp_reply(code, message, stage) == expected


def test_every_diagnosis_code_has_words_and_every_entry_a_code() -> None:
    assert {code.value for code in DiagnosisCode} == set(diagnostics.ENTRIES)


def test_diagnosis_keeps_the_exact_reply() -> None:
    result = diagnostics.diagnose_smtp_reply(553, "5.9.99 Something odd  happened")
    assert result.code == "message_rejected"
    assert result.detail == "553 5.9.99 Something odd happened"
    assert "553 5.9.99 Something odd happened" in result.explanation


def test_texts_fill_context_and_never_show_raw_placeholders() -> None:
    result = diagnostics.make("connect_failed", host="smtp.example.com", port=587, reason="Connection refused")
    assert "smtp.example.com" in result.explanation and "587" in result.explanation
    for code in diagnostics.ENTRIES:
        made = diagnostics.make(code, detail="421 x")
        assert "{" not in made.title + made.explanation + made.fix, code


def test_token_errors() -> None:
    assert diagnostics.token_error_code("AADSTS7000215: Invalid client secret provided.") == "invalid_client_secret"
    assert diagnostics.token_error_code("AADSTS700082: The refresh token has expired") == "token_expired"
    assert diagnostics.token_error_code("something else") == "unknown"
