"""Sender policy: who may send through a profile (the postmaster rule is tested with submission)."""

from __future__ import annotations

from wizard.services.model import Profile
from wizard.services.policy import check_sender, sender_authorized


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


def test_block_refuses_and_alert_lets_through_with_a_warning() -> None:
    blocking = Profile(name="p", authorized_domains=("example.com",))
    assert not check_sender("x@evil.test", blocking).allowed
    alerting = Profile(name="p", authorized_domains=("example.com",), unauthorized_action="alert")
    decision = check_sender("x@evil.test", alerting)
    assert decision.allowed and "x@evil.test" in decision.alert

