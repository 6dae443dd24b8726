"""Each profile's health from what the outbox, the sender's pauses, the check and the secret expiry say."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wizard.services import diagnostics
from wizard.services.config import Config
from wizard.services.health import (
    DnsVerdict,
    DnsVerdictStore,
    HealthState,
    Issue,
    SignInView,
    assess,
    assess_profile,
    format_time,
    load_health,
    load_orphaned_mail,
    orphaned_mail,
    sign_in_view,
    worst_state,
)
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.outbox import MessageState, Outbox, ProfilePause
from wizard.services.outbox_stats import ProfileStats, read_profile_stats
from wizard.services.settings import DeliverySettings
from wizard.services.wording import plural

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
RAW = b"From: app@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nhi\r\n"


def _profile(name: str = "main", **changes: object) -> Profile:
    return Profile(name=name, from_address="app@example.com", host="smtp.example.com", **changes)  # type: ignore[arg-type]


def _enqueue(outbox: Outbox, profile: str) -> int:
    return outbox.enqueue(RAW, profile=profile, envelope_from="app@example.com", recipients=["b@example.net"]).id


def test_a_profile_that_sent_and_has_nothing_pending_is_ok() -> None:
    stats = ProfileStats(counts={MessageState.SENT: 4}, last_sent_at=NOW - 120)
    health = assess_profile(_profile(), stats, now=NOW, is_default=True)
    assert health.state is HealthState.OK
    assert health.issues == ()
    assert health.label == "OK"
    assert format_time(health.last_success_at, NOW) == "2 min ago"


def test_auth_pause_is_the_worst_state_and_names_the_held_count() -> None:
    stats = ProfileStats(counts={MessageState.HELD: 3}, held_code="auth_failed", held_reply="535 5.7.8 bad")
    pause = ProfilePause("main", "auth_failed", "535 5.7.8 Authentication credentials invalid", NOW)
    health = assess_profile(_profile(), stats, now=NOW, paused=pause)
    assert health.state is HealthState.PAUSED
    assert health.label == "Paused: sign-in failed (3 held)"
    assert health.diagnosis_code == "auth_failed"
    assert "535 5.7.8 Authentication credentials invalid" in health.reasons[0]
    assert "3 messages held" in health.reasons[0]


def test_mail_held_by_an_error_without_a_recorded_pause_still_counts_as_paused() -> None:
    stats = ProfileStats(counts={MessageState.HELD: 1}, held_code="auth_failed", held_reply="535 5.7.8 bad")
    assert assess_profile(_profile(), stats, now=NOW).state is HealthState.PAUSED


def test_mail_held_at_startup_is_a_warning_not_a_pause() -> None:
    stats = ProfileStats(counts={MessageState.HELD: 2})
    health = assess_profile(_profile(), stats, now=NOW)
    assert health.state is HealthState.WARNING
    assert health.issues == (Issue.HELD,)


def test_temporary_failures_warn_first_and_fail_when_repeated() -> None:
    once = ProfileStats(counts={MessageState.QUEUED: 1}, retrying=1, most_attempts=1,
                        retry_reply="451 4.3.0 try later", retry_code="throttled")
    assert assess_profile(_profile(), once, now=NOW).issues == (Issue.RETRYING,)
    repeated = ProfileStats(counts={MessageState.QUEUED: 1}, retrying=1, most_attempts=3,
                            retry_reply="451 4.3.0 try later", retry_code="throttled")
    health = assess_profile(_profile(), repeated, now=NOW)
    assert health.state is HealthState.FAILING
    assert health.issues == (Issue.REPEATED_TEMPORARY_FAILURES,)
    assert "451 4.3.0 try later" in health.reasons[0]


def test_client_secret_expiry_warns_within_14_days_and_fails_after() -> None:
    def state_for(expires: str) -> HealthState:
        profile = _profile(provider=ProviderKind.GRAPH, auth=AuthMode.CLIENT_SECRET, client_secret_expires=expires)
        return assess_profile(profile, None, now=NOW).state

    assert state_for("2027-06-01") is HealthState.OK
    assert state_for("2026-12-10") is HealthState.WARNING
    assert state_for("2026-11-01") is HealthState.FAILING


def test_a_failed_check_and_switched_off_delivery_show() -> None:
    failed = diagnostics.make("auth_failed", detail="535 5.7.8 no")
    health = assess_profile(_profile(), None, now=NOW, failed_check=failed)
    assert health.state is HealthState.FAILING
    assert health.reasons[0].startswith("Connection check failed")
    disabled = assess_profile(_profile(), None, now=NOW, delivery_enabled=False)
    assert disabled.state is HealthState.DISABLED


def test_the_last_message_failing_after_the_last_success_is_a_warning() -> None:
    stats = ProfileStats(counts={MessageState.SENT: 1, MessageState.FAILED: 1}, last_sent_at=NOW - 600,
                         last_failed_at=NOW - 60, last_failure_reply="550 5.1.1 no such user",
                         last_failure_code="recipient_rejected")
    health = assess_profile(_profile(), stats, now=NOW)
    assert health.state is HealthState.WARNING
    assert health.issues == (Issue.LAST_MESSAGE_FAILED,)


def test_stats_come_from_the_real_outbox_per_profile(data_home: Path) -> None:
    clock = [NOW]
    outbox = Outbox(clock=lambda: clock[0])
    sent = _enqueue(outbox, "main")
    outbox.mark_sent(sent, "250 ok", {})
    retried = _enqueue(outbox, "main")
    outbox.claim("main")
    outbox.mark_retry(retried, 60, "451 4.3.0 later", "throttled")
    _enqueue(outbox, "backup")
    _enqueue(outbox, "backup")
    outbox.hold_profile("backup", "535 5.7.8 bad", "auth_failed")
    stats = read_profile_stats(outbox.path)
    assert stats["main"].counts == {MessageState.SENT: 1, MessageState.QUEUED: 1}
    assert stats["main"].last_sent_at == NOW
    assert (stats["main"].retrying, stats["main"].most_attempts, stats["main"].retry_code) == (1, 1, "throttled")
    assert stats["backup"].counts == {MessageState.HELD: 2}
    assert (stats["backup"].held_code, stats["backup"].held_reply) == ("auth_failed", "535 5.7.8 bad")


def test_load_health_reads_pauses_and_dns_verdicts(data_home: Path) -> None:
    outbox = Outbox()
    _enqueue(outbox, "backup")
    outbox.hold_profile("backup", "535 5.7.8 bad", "auth_failed")
    outbox.pause_profile("backup", "535 5.7.8 bad", "auth_failed")
    store = DnsVerdictStore(data_home / "dns.json")
    store.record(DnsVerdict("example.com", False, "spf fail", NOW))
    config = Config(profiles={"main": _profile(), "backup": _profile("backup")}, default_profile="main",
                    delivery=DeliverySettings())
    healths = asyncio.run(load_health(config, outbox, dns_store=store, now=NOW))
    by_name = {h.name: h for h in healths}
    assert by_name["main"].state is HealthState.OK
    assert by_name["main"].is_default
    assert by_name["backup"].state is HealthState.PAUSED
    assert by_name["backup"].held == 1
    assert by_name["main"].dns == DnsVerdict("example.com", False, "spf fail", NOW)
    assert worst_state(healths) is HealthState.PAUSED
    assert by_name["backup"].to_json()["counts"] == {"queued": 0, "sending": 0, "sent": 0, "failed": 0, "held": 1}


def test_assess_keeps_configuration_order() -> None:
    config = Config(profiles={"b": _profile("b"), "a": _profile("a")}, default_profile="b")
    assert [h.name for h in assess(config, {}, now=NOW)] == ["b", "a"]


def test_an_oauth_account_that_is_not_signed_in_is_a_warning() -> None:
    health = assess_profile(_profile(auth=AuthMode.OAUTH_INTERACTIVE), None, now=NOW, needs_sign_in=True)
    assert health.state is HealthState.WARNING
    assert health.issues == (Issue.NOT_SIGNED_IN,)
    assert health.reasons[0].startswith("Not signed in")


@pytest.mark.keyring
def test_sign_in_view_says_not_signed_in_without_contacting_the_identity_provider(profile_name: str) -> None:
    # The authority is a closed port: any attempt to reach it would end in "Sign-in status unknown".
    delegated = _profile(profile_name, provider=ProviderKind.M365_SMTP, auth=AuthMode.OAUTH_INTERACTIVE,
                         client_id="11111111-1111-1111-1111-111111111111", authority="https://127.0.0.1:9/tenant")
    assert asyncio.run(sign_in_view(delegated, NOW)) == SignInView("Not signed in", needs_sign_in=True)
    app_only = replace(delegated, auth=AuthMode.CLIENT_SECRET)
    assert asyncio.run(sign_in_view(app_only, NOW)).needs_sign_in is False
    assert asyncio.run(sign_in_view(_profile(profile_name), NOW)) == SignInView("")


def test_waiting_mail_of_profiles_missing_from_the_config_is_orphaned() -> None:
    stats = {"main": ProfileStats(counts={MessageState.QUEUED: 5}),
             "old": ProfileStats(counts={MessageState.QUEUED: 1, MessageState.HELD: 2, MessageState.SENDING: 1,
                                         MessageState.SENT: 7, MessageState.FAILED: 3}),
             "done": ProfileStats(counts={MessageState.SENT: 2})}
    orphans = orphaned_mail({"main"}, stats)
    assert [(o.profile, o.count) for o in orphans] == [("old", 4)]
    assert "re-create the profile" in orphans[0].advice()
    assert "`mailwright queue delete --profile old`" in orphans[0].advice()
    assert orphaned_mail({"main", "old"}, stats) == []


@pytest.mark.asyncio
async def test_orphaned_mail_is_read_from_the_outbox(data_home: Path) -> None:
    outbox = Outbox()
    _enqueue(outbox, "main")
    _enqueue(outbox, "deleted")
    config = Config(profiles={"main": _profile()}, default_profile="main")
    assert [(o.profile, o.count) for o in await load_orphaned_mail(config, outbox)] == [("deleted", 1)]


def test_counts_are_real_plurals_not_message_s() -> None:
    one = assess_profile(_profile(), ProfileStats(counts={MessageState.HELD: 1}, held_code="auth_failed",
                                                  held_reply="535 5.7.8 bad"), now=NOW)
    assert one.reasons[0].startswith("1 message held after: 535 5.7.8 bad")
    assert "(s)" not in " ".join(one.reasons)
    assert plural(1, "day") == "1 day" and plural(9, "day") == "9 days" and plural(0, "message") == "0 messages"
