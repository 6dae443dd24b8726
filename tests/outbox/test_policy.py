"""Sender policy: who may send through a profile, and the forced postmaster sender."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import SMTP

import pytest

from wizard.services.model import Profile
from wizard.services.policy import SenderNotAuthorizedError, apply_postmaster, check_sender, sender_authorized


def test_empty_lists_allow_everyone() -> None:
    assert sender_authorized("anyone@anywhere.org", Profile(name="p"))


def test_second_level_domain_authorises_its_third_level_domains() -> None:
    profile = Profile(name="p", authorized_domains=("example.com",))
    assert sender_authorized("a@example.com", profile)
    assert sender_authorized("a@news.example.com", profile)
    assert not sender_authorized("a@badexample.com", profile)
    assert not sender_authorized("a@example.org", profile)


def test_third_level_domain_does_not_authorise_its_parent() -> None:
    profile = Profile(name="p", authorized_domains=("news.example.com",))
    assert sender_authorized("a@news.example.com", profile)
    assert not sender_authorized("a@example.com", profile)
    assert not sender_authorized("a@shop.example.com", profile)


def test_authorised_sender_is_exact_and_case_insensitive() -> None:
    profile = Profile(name="p", authorized_senders=("Billing@Example.com",))
    assert sender_authorized("billing@example.com", profile)
    assert not sender_authorized("sales@example.com", profile)


def test_block_raises_and_alert_lets_through_with_a_warning() -> None:
    blocking = Profile(name="p", authorized_domains=("example.com",))
    with pytest.raises(SenderNotAuthorizedError, match="not an authorised sender"):
        check_sender("x@evil.test", blocking)
    alerting = Profile(name="p", authorized_domains=("example.com",), unauthorized_action="alert")
    decision = check_sender("x@evil.test", alerting)
    assert decision.allowed and "x@evil.test" in decision.alert


def test_forced_postmaster_rewrites_from_and_keeps_the_original_in_reply_to() -> None:
    profile = Profile(name="p", postmaster="postmaster@example.com", force_postmaster_sender=True)
    raw = b"From: Erp <erp@example.com>\r\nTo: bob@example.net\r\nSubject: x\r\n\r\nbody\r\n"
    rewritten, envelope = apply_postmaster(raw, "erp@example.com", profile)
    message = BytesParser(policy=SMTP).parsebytes(rewritten)
    assert envelope == "postmaster@example.com"
    assert message["From"] == "postmaster@example.com"
    assert message["Reply-To"] == "Erp <erp@example.com>"


def test_without_force_the_message_is_untouched() -> None:
    raw = b"From: erp@example.com\r\n\r\nbody\r\n"
    assert apply_postmaster(raw, "erp@example.com", Profile(name="p", postmaster="pm@example.com")) == (
        raw, "erp@example.com")
