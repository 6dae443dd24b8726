"""The rules every message gets (services/submission.py), one behaviour per test, on the prepared bytes.

What a receiving server gets through each way in is tested in tests/outbox/test_every_way_in.py.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import SMTP
from pathlib import Path

import pytest

import wizard
from wizard.services.config import Config, ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.submission import (
    MAX_MESSAGE_BYTES,
    InvalidMessageError,
    MessageTooLargeError,
    NoProfileError,
    SenderNotAuthorizedError,
    apply_rules,
    prepare,
    route,
)

MAIN = Profile(name="main", from_address="app@example.com", display_name="Example Support",
               authorized_domains=("example.com",), priority=3)
ERP = Profile(name="erp", from_address="erp@example.org", priority=2)
CONFIG = Config(profiles={"main": MAIN, "erp": ERP}, default_profile="main")


def headers(raw: bytes) -> Message:
    return BytesParser(policy=SMTP).parsebytes(raw, headersonly=True)


def test_routing_prefers_the_named_profile_then_the_envelope_sender_then_from_then_the_default() -> None:
    raw = b"From: erp@example.org\r\nTo: bob@example.net\r\n\r\nhi\r\n"
    assert prepare(raw, CONFIG).profile.name == "erp"  # header From
    assert route(CONFIG, envelope_from="app@example.com", header_from="erp@example.org").name == "main"
    assert route(CONFIG, profile="main", envelope_from="erp@example.org").name == "main"
    assert prepare(b"From: x@example.com\r\nTo: b@example.net\r\n\r\n", CONFIG).profile.name == "main"  # default
    with pytest.raises(NoProfileError):
        prepare(raw, Config())
    with pytest.raises(NoProfileError, match="no profile named 'nope'"):
        route(CONFIG, profile="nope")


@pytest.mark.parametrize("raw", [
    b"From: app@example.com\r\nTo: b@example.net\r\nSubject: a\rBcc: c@example.net\r\n\r\nx\r\n",
    b"From: app@example.com\r\nTo: b@example.net\r\nSubject: " + b"x" * 990 + b"\r\n\r\nx\r\n",
    b"From: app@example.com\r\nTo: b@example.net\r\nnot a header\r\n\r\nx\r\n",
])
def test_a_header_with_a_line_break_an_overlong_line_or_no_field_name_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidMessageError):
        prepare(raw, CONFIG)


def test_a_compat32_message_object_cannot_smuggle_a_header_through_a_value() -> None:
    message = Message()
    message["From"] = "app@example.com"
    message["To"] = "bob@example.net"
    message["Subject"] = "hello\nBcc: everyone@example.net"
    with pytest.raises(InvalidMessageError, match="line break"):
        prepare(message, CONFIG)


def test_folded_headers_are_kept_and_the_body_bytes_are_untouched() -> None:
    body = b"line one  \r\n\r\n=41 not decoded\r\n"
    raw = b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: a long\r\n subject\r\n\r\n" + body
    prepared = prepare(raw, CONFIG)
    assert prepared.raw.endswith(b"\r\n\r\n" + body)
    assert b"Subject: a long\r\n subject\r\n" in prepared.raw


def test_date_and_a_message_id_in_the_senders_domain_are_added_when_missing_and_kept_otherwise() -> None:
    added = prepare(b"From: app@example.com\nTo: bob@example.net\n\nhi\n", CONFIG)
    message = headers(added.raw)
    assert email.utils.parsedate_to_datetime(str(message["Date"])) is not None
    assert added.message_id == str(message["Message-ID"]) and added.message_id.endswith("@example.com>")
    assert b"\n\nhi\n" in added.raw and b"\r" not in added.raw  # the file's own line endings stay
    kept = prepare(b"From: app@example.com\r\nTo: b@example.net\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                   b"Message-ID: <mine@example.com>\r\n\r\nhi\r\n", CONFIG)
    assert kept.message_id == "<mine@example.com>" and kept.raw.count(b"Date:") == 1


def test_a_message_without_from_gets_the_accounts_address_and_name() -> None:
    prepared = prepare(b"To: bob@example.net\r\nSubject: x\r\n\r\nhi\r\n", CONFIG, profile="main")
    assert str(headers(prepared.raw)["From"]) == "Example Support <app@example.com>"
    assert prepared.envelope_from == "app@example.com"


def test_bcc_recipients_are_envelope_recipients_and_the_header_is_removed() -> None:
    prepared = prepare(b"From: app@example.com\r\nTo: a@example.net\r\nBcc: hidden@example.net\r\n\r\nx\r\n", CONFIG)
    assert prepared.recipients == ("a@example.net", "hidden@example.net")
    assert b"hidden" not in prepared.raw


@pytest.mark.parametrize(("envelope", "header_from", "sender_header", "where"), [
    ("spoof@evil.test", "app@example.com", "", "envelope"),
    ("app@example.com", "CEO <ceo@bank.example>", "", "From"),
    ("app@example.com", "app@example.com, ceo@bank.example", "", "From"),
    ("app@example.com", "app@example.com", "ceo@bank.example", "Sender"),
])
def test_the_policy_blocks_the_envelope_sender_and_every_from_and_sender_address(
        envelope: str, header_from: str, sender_header: str, where: str) -> None:
    raw = f"From: {header_from}\r\nTo: b@example.net\r\n".encode()
    raw += f"Sender: {sender_header}\r\n".encode() if sender_header else b""
    with pytest.raises(SenderNotAuthorizedError) as refused:
        prepare(raw + b"\r\nx\r\n", CONFIG, profile="main", envelope_from=envelope)
    assert refused.value.where == where
    assert refused.value.sender == ("spoof@evil.test" if where == "envelope" else "ceo@bank.example")


def test_alert_lets_the_message_through_and_says_why() -> None:
    alerting = Profile(name="main", from_address="app@example.com", authorized_domains=("example.com",),
                       unauthorized_action="alert")
    prepared = apply_rules(b"From: CEO <ceo@bank.example>\r\nTo: b@example.net\r\n\r\nx\r\n", alerting)
    assert prepared.alerts == ("ceo@bank.example is not an authorised sender for profile 'main'.",)


def test_forced_postmaster_becomes_from_and_envelope_and_the_author_goes_to_reply_to() -> None:
    profile = Profile(name="p", from_address="app@example.com", display_name="Example",
                      postmaster="postmaster@example.com", force_postmaster_sender=True)
    prepared = apply_rules(b"From: Erp <erp@example.com>\r\nTo: b@example.net\r\n\r\nx\r\n", profile,
                           envelope_from="erp@example.com")
    message = headers(prepared.raw)
    assert prepared.envelope_from == "postmaster@example.com"
    assert str(message["From"]) == "Example <postmaster@example.com>"
    assert str(message["Reply-To"]) == "Erp <erp@example.com>"
    own_reply_to = apply_rules(b"From: erp@example.com\r\nReply-To: desk@example.com\r\nTo: b@example.net\r\n\r\nx",
                               profile)
    assert str(headers(own_reply_to.raw)["Reply-To"]) == "desk@example.com"


def test_the_display_name_is_added_only_to_the_accounts_own_address_without_a_name() -> None:
    def from_of(header_from: str) -> str:
        raw = f"From: {header_from}\r\nTo: b@example.net\r\n\r\nx\r\n".encode()
        return str(headers(apply_rules(raw, MAIN).raw)["From"])

    assert from_of("app@example.com") == "Example Support <app@example.com>"
    assert from_of("Billing <app@example.com>") == "Billing <app@example.com>"
    assert from_of("news@example.com") == "news@example.com"
    named = Profile(name="n", from_address="app@example.com", display_name="Müller Support")
    raw = apply_rules(b"From: app@example.com\r\nTo: b@example.net\r\n\r\nx\r\n", named).raw
    assert str(headers(raw)["From"]) == "Müller Support <app@example.com>" and raw.isascii()


def test_priority_is_the_higher_of_account_and_message_and_must_be_1_to_5() -> None:
    raw = b"From: erp@example.org\r\nTo: b@example.net\r\n\r\nx\r\n"
    assert prepare(raw, CONFIG).priority == 2
    assert prepare(raw, CONFIG, priority=4).priority == 2
    assert prepare(raw, CONFIG, priority=1).priority == 1
    with pytest.raises(InvalidMessageError, match="Priority"):
        prepare(raw, CONFIG, priority=6)


@pytest.mark.parametrize(("header", "expected"), [
    (b"X-Priority: 1 (Highest)", 1), (b"Importance: high", 1), (b"Priority: urgent", 1),
    (b"X-MSMail-Priority: High", 1), (b"X-Priority: 5 (Lowest)", 2), (b"Importance: low", 2),
])
def test_the_messages_own_priority_header_can_only_hurry_it_and_is_kept(header: bytes, expected: int) -> None:
    raw = b"From: erp@example.org\r\nTo: b@example.net\r\n" + header + b"\r\n\r\nx\r\n"
    prepared = prepare(raw, CONFIG)
    assert prepared.priority == expected  # the account (erp) is 2: a "low" header does not slow it down
    assert header in prepared.raw


def test_a_message_over_32_mib_is_refused() -> None:
    head = b"From: app@example.com\r\nTo: b@example.net\r\n\r\n"
    fits = head + b"x" * (MAX_MESSAGE_BYTES - len(head) - 200)
    assert len(prepare(fits, CONFIG).raw) <= MAX_MESSAGE_BYTES
    with pytest.raises(MessageTooLargeError, match="32 MiB"):
        prepare(head + b"x" * MAX_MESSAGE_BYTES, CONFIG)


def test_recipients_are_required_and_must_be_addresses() -> None:
    with pytest.raises(InvalidMessageError, match="no recipients"):
        prepare(b"From: app@example.com\r\n\r\nx\r\n", CONFIG)
    with pytest.raises(InvalidMessageError, match="not a valid recipient"):
        prepare(b"From: app@example.com\r\n\r\nx\r\n", CONFIG, recipients=["bob"])


def test_wizard_submit_queues_through_the_rules_into_the_data_homes_outbox(data_home: Path) -> None:
    ConfigStore().save_profile(MAIN)
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = "bob@example.net"
    message["Subject"] = "Invoice"
    message.set_content("hello")
    queued = wizard.submit(message, priority=1)
    stored = Outbox().get(queued.id)
    assert (stored.profile, stored.priority, stored.recipients) == ("main", 1, ("bob@example.net",))
    assert b"From: Example Support <app@example.com>" in stored.raw and stored.message_id == queued.message_id
    spoofed = EmailMessage()
    spoofed["From"] = "CEO <ceo@bank.example>"
    spoofed["To"] = "bob@example.net"
    with pytest.raises(wizard.SenderNotAuthorizedError):
        wizard.submit(spoofed)
    assert len(Outbox().messages()) == 1


def test_import_wizard_loads_nothing_else() -> None:
    import subprocess
    import sys

    code = "import sys, wizard; print(sorted(m for m in sys.modules if m.startswith('wizard.') or m == 'email'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
    assert callable(wizard.submit) and issubclass(wizard.SenderNotAuthorizedError, wizard.SubmissionError)


@pytest.mark.parametrize("argv", [
    ["--to", "bob@example.net\r\nBcc: everyone@example.net", "--subject", "x", "--body", "y"],
    ["--to", "bob@example.net", "--subject", "x\r\nBcc: everyone@example.net", "--body", "y"],
])
def test_send_refuses_a_line_break_in_a_header_value_and_queues_nothing(
        argv: list[str], capsys: pytest.CaptureFixture[str], data_home: Path) -> None:
    from wizard.cli import main

    ConfigStore().save_profile(MAIN)
    assert main(["send", *argv]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert Outbox().messages() == []


def test_send_eml_over_32_mib_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           data_home: Path) -> None:
    from wizard.cli import main

    ConfigStore().save_profile(MAIN)
    eml = tmp_path / "big.eml"
    line = b"x" * 76 + b"\n"
    eml.write_bytes(b"From: app@example.com\nTo: bob@example.net\n\n" + line * (MAX_MESSAGE_BYTES // len(line) + 1))
    assert main(["send", "--eml", str(eml), "--to", "bob@example.net", "--json"]) == 2
    assert '"message_too_large"' in capsys.readouterr().out
    assert Outbox().messages() == []
