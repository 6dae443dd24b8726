"""Failure scope from protocol facts (issue 12): a refused recipient or a refused message never pauses the account.

Against real aiosmtpd sinks that answer with the everyday wording of Postfix and content filters, which
contains "relay" and "5.7.1" although neither says anything about the account.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer, SinkHandler
from tests.outbox.test_sender import Harness
from wizard.services.outbox import MessageState
from wizard.services.settings import DeliverySettings

POSTFIX_UNKNOWN_USER = ("550 5.1.1 <bad@example.com>: Recipient address rejected: User unknown in relay "
                        "recipient table")
CONTENT_FILTER = "550 5.7.1 Message rejected as spam by content filter"


@pytest.fixture
def harness(smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> Callable[..., Harness]:
    def make(handler: SinkHandler, **settings: int) -> Harness:
        return Harness(smtp_server("plain", handler=handler), DeliverySettings(**settings))  # type: ignore[arg-type]
    return make


@pytest.mark.asyncio
async def test_unknown_recipient_fails_that_message_only_and_the_account_keeps_sending(
        harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(rcpt_replies={"bad@example.com": POSTFIX_UNKNOWN_USER})
    h = harness(handler)
    bad, good = h.enqueue("bad@example.com"), h.enqueue("bob@example.net")
    await h.sender.drain()
    assert h.sender.paused == {} and h.outbox.paused_profiles() == {}
    failed = h.outbox.get(bad)
    assert failed.state is MessageState.FAILED and failed.diagnosis_code == "recipient_rejected"
    assert failed.recipient_results == {"bad@example.com": POSTFIX_UNKNOWN_USER}
    assert h.outbox.get(good).state is MessageState.SENT
    assert [m.rcpt_tos for m in handler.messages] == [["bob@example.net"]]


@pytest.mark.asyncio
async def test_unknown_recipient_among_others_is_recorded_and_the_others_get_the_message(
        harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(rcpt_replies={"bad@example.com": POSTFIX_UNKNOWN_USER})
    h = harness(handler)
    message_id = h.enqueue("a@example.net, bad@example.com, c@example.net")
    await h.sender.drain()
    sent = h.outbox.get(message_id)
    assert sent.state is MessageState.SENT and h.outbox.paused_profiles() == {}
    assert sent.recipient_results["bad@example.com"] == POSTFIX_UNKNOWN_USER
    assert handler.messages[0].rcpt_tos == ["a@example.net", "c@example.net"]


@pytest.mark.asyncio
async def test_spam_rejection_at_end_of_data_fails_that_message_only(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(data_replies=[CONTENT_FILTER])
    h = harness(handler)
    spam, next_one = h.enqueue(), h.enqueue()
    await h.sender.drain()
    assert h.sender.paused == {} and h.outbox.paused_profiles() == {}
    failed = h.outbox.get(spam)
    assert (failed.state, failed.diagnosis_code, failed.last_reply) == (
        MessageState.FAILED, "message_rejected", CONTENT_FILTER)
    assert h.outbox.get(next_one).state is MessageState.SENT and len(handler.messages) == 1


@pytest.mark.asyncio
async def test_4xx_at_end_of_data_retries_that_message_with_backoff_and_pauses_nothing(
        harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(data_replies=["451 4.7.1 Service unavailable - try again later"])
    h = harness(handler, retry_backoff_initial_s=60)
    first, second = h.enqueue(), h.enqueue()
    await h.sender.drain()
    waiting = h.outbox.get(first)
    assert waiting.state is MessageState.QUEUED and waiting.next_attempt_at == h.clock.now + 60
    assert h.outbox.get(second).state is MessageState.SENT and h.outbox.paused_profiles() == {}


@pytest.mark.asyncio
async def test_releasing_held_mail_never_repauses_the_account_for_one_bad_message(
        harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(rcpt_replies={"bad@example.com": POSTFIX_UNKNOWN_USER})
    h = harness(handler)
    h.password = "the old password"  # the account really breaks: its mail is held
    bad, good = h.enqueue("bad@example.com"), h.enqueue("bob@example.net")
    await h.sender.drain()
    assert "main" in h.sender.paused
    assert {h.outbox.get(i).state for i in (bad, good)} == {MessageState.HELD}
    h.password = "correct horse battery staple"
    assert h.sender.resume("main") == 2  # `queue release main`: the bad message is released too
    await h.sender.drain()
    assert h.outbox.paused_profiles() == {} and h.sender.paused == {}
    assert h.outbox.get(bad).state is MessageState.FAILED
    assert h.outbox.get(good).state is MessageState.SENT


@pytest.mark.asyncio
async def test_send_as_denial_at_mail_from_pauses_the_account(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(mail_reply="553 5.7.1 <app@example.com>: Sender address rejected: not owned by user")
    h = harness(handler)
    message_id = h.enqueue()
    await h.sender.drain()
    assert h.outbox.paused_profiles()["main"].code == "sender_rejected"
    assert h.outbox.get(message_id).state is MessageState.HELD


@pytest.mark.asyncio
async def test_gmail_daily_quota_slows_the_account_without_failing_or_pausing(
        harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(data_replies=["550 5.4.5 Daily user sending limit exceeded."])
    h = harness(handler, retry_backoff_initial_s=60)
    first, second = h.enqueue(), h.enqueue()
    await h.sender.drain()
    assert h.outbox.paused_profiles() == {}
    over = h.outbox.get(first)
    assert over.state is MessageState.QUEUED and over.diagnosis_code == "quota_exceeded"
    # Throttled: nothing more is sent on the account this round; the second message was not even tried.
    assert h.outbox.get(second).state is MessageState.QUEUED and h.outbox.get(second).attempts == 0
    assert handler.messages == []
