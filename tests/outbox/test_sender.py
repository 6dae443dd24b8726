"""The sender against real aiosmtpd sinks with injected faults: retried, failed, or held, never lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SinkHandler
from wizard.services.config import Config
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender, backoff_delay
from wizard.services.settings import DeliverySettings
from wizard.services.transports.base import PasswordCredential, Transport
from wizard.services.transports.smtp import SmtpSettings, SmtpTransport

PROFILE = Profile(name="main", from_address="app@example.com", host="127.0.0.1", security=Security.NONE,
                  allow_plaintext_loopback=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, server: RunningSmtpServer, settings: DeliverySettings, timeout_s: float = 10.0) -> None:
        self.clock = FakeClock()
        self.outbox = Outbox(clock=self.clock)
        self.password = GOOD_PASSWORD
        self.opened = 0
        self.slept: list[float] = []

        async def factory(profile: Profile) -> Transport:
            self.opened += 1
            settings_ = SmtpSettings(server.host, server.port, Security.NONE, allow_plaintext_loopback=True,
                                     timeout_s=timeout_s)
            return SmtpTransport(settings_, PasswordCredential(GOOD_USER, self.password))

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        config = Config(profiles={"main": PROFILE}, default_profile="main", delivery=settings)
        self.sender = Sender(self.outbox, lambda: config, factory, clock=self.clock, sleep=sleep, jitter=lambda: 1.0)

    def enqueue(self, to: str = "bob@example.net") -> int:
        message = EmailMessage()
        message["From"] = "app@example.com"
        message["To"] = to
        message["Subject"] = "Report"
        message.set_content("numbers")
        return self.outbox.enqueue(message, profile="main").id


@pytest.fixture
def harness(smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> Callable[..., Harness]:
    def make(handler: SinkHandler | None = None, timeout_s: float = 10.0, **settings: int) -> Harness:
        server = smtp_server("plain", handler=handler or SinkHandler())
        return Harness(server, DeliverySettings(**settings), timeout_s)  # type: ignore[arg-type]
    return make


@pytest.mark.asyncio
async def test_many_messages_share_one_session_and_keep_their_message_id(harness: Callable[..., Harness],
                                                                         smtp_server: object) -> None:
    h = harness(send_interval_ms=250)
    ids = [h.enqueue() for _ in range(3)]
    assert await h.sender.drain() == 3
    assert h.opened == 1
    assert h.slept == [0.25, 0.25]
    assert {h.outbox.get(i).state for i in ids} == {MessageState.SENT}
    received = h.sender.outbox.messages()
    assert all(m.message_id.encode() in m.raw for m in received)


@pytest.mark.asyncio
async def test_451_on_first_attempt_is_retried_after_backoff(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(data_replies=["451 4.3.0 try again later"])
    h = harness(handler, retry_backoff_initial_s=60)
    message_id = h.enqueue()
    await h.sender.drain()
    queued = h.outbox.get(message_id)
    assert queued.state is MessageState.QUEUED and queued.last_reply.startswith("451")
    assert queued.next_attempt_at == h.clock.now + 60
    assert await h.sender.drain() == 0  # not due yet
    h.clock.now += 60
    await h.sender.drain()
    assert h.outbox.get(message_id).state is MessageState.SENT
    assert len(handler.messages) == 1


@pytest.mark.asyncio
async def test_550_on_one_recipient_is_not_resent_to_the_others(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(rcpt_replies={"gone@example.net": "550 5.1.1 no such user"})
    h = harness(handler)
    message_id = h.enqueue("a@example.net, gone@example.net, c@example.net")
    await h.sender.drain()
    sent = h.outbox.get(message_id)
    assert sent.state is MessageState.SENT
    assert sent.recipient_results["gone@example.net"].startswith("550")
    assert handler.messages[0].rcpt_tos == ["a@example.net", "c@example.net"]


@pytest.mark.asyncio
async def test_connection_dropped_mid_data_is_retried_on_a_new_connection(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(drop_during_data=1)
    h = harness(handler)
    message_id = h.enqueue()
    await h.sender.drain()
    assert h.outbox.get(message_id).state is MessageState.QUEUED
    h.clock.now += 3600
    await h.sender.drain()
    assert h.outbox.get(message_id).state is MessageState.SENT
    assert len(handler.messages) == 1


@pytest.mark.asyncio
async def test_slow_server_timeout_is_transient(harness: Callable[..., Harness]) -> None:
    h = harness(SinkHandler(data_delay_s=2.0), timeout_s=0.3)
    message_id = h.enqueue()
    await h.sender.drain()
    stored = h.outbox.get(message_id)
    assert stored.state is MessageState.QUEUED and stored.diagnosis_code == "timeout"


@pytest.mark.asyncio
async def test_retries_stop_after_max_retry_time(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler(data_replies=["451 busy"] * 5)
    h = harness(handler, retry_backoff_initial_s=60, max_retry_time_s=100)
    message_id = h.enqueue()
    await h.sender.drain()
    h.clock.now += 60
    await h.sender.drain()
    assert h.outbox.get(message_id).state is MessageState.FAILED


@pytest.mark.asyncio
async def test_535_after_password_change_holds_mail_until_resumed(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler()
    h = harness(handler)
    h.password = "the old password"
    first, second = h.enqueue(), h.enqueue()
    await h.sender.drain()
    assert "main" in h.sender.paused and h.sender.paused["main"].code
    assert {h.outbox.get(i).state for i in (first, second)} == {MessageState.HELD}
    assert await h.sender.drain() == 0
    h.password = GOOD_PASSWORD
    assert h.sender.resume("main") == 2
    await h.sender.drain()
    assert {h.outbox.get(i).state for i in (first, second)} == {MessageState.SENT}
    assert len(handler.messages) == 2



@pytest.mark.asyncio
async def test_the_apps_resume_releases_held_mail_on_the_outbox_thread(harness: Callable[..., Harness],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The main window's Resume: 100,000 held rows take seconds to rewrite, never on the window's loop."""
    handler = SinkHandler()
    h = harness(handler)
    h.password = "the old password"
    first, second = h.enqueue(), h.enqueue()
    await h.sender.drain()
    assert {h.outbox.get(i).state for i in (first, second)} == {MessageState.HELD}
    threads: list[str] = []
    release = h.outbox.release

    def noting_release(*args: Any, **kwargs: Any) -> int:
        threads.append(threading.current_thread().name)
        return release(*args, **kwargs)

    monkeypatch.setattr(h.outbox, "release", noting_release)
    h.password = GOOD_PASSWORD
    assert await h.sender.aresume("main") == 2
    assert threads and all(name.startswith("outbox") for name in threads), threads
    assert "main" not in h.sender.paused
    await h.sender.drain()
    assert {h.outbox.get(i).state for i in (first, second)} == {MessageState.SENT}

def test_backoff_doubles_up_to_the_maximum_with_jitter() -> None:
    settings = DeliverySettings(retry_backoff_initial_s=60, retry_backoff_max_s=200)
    assert backoff_delay(1, settings, 1.0) == 60
    assert backoff_delay(2, settings, 1.0) == 120
    assert backoff_delay(3, settings, 1.0) == 200
    assert backoff_delay(3, settings, 0.0) == 100


@pytest.mark.asyncio
async def test_pause_survives_a_restart_and_shows_in_the_status(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler()
    h = harness(handler)
    h.password = "the old password"
    first = h.enqueue()
    await h.sender.drain()
    restarted = Sender(h.outbox, h.sender.load_config, h.sender.transport_factory, clock=h.clock,
                       sleep=h.sender.sleep)
    opened = h.opened
    later = h.enqueue()
    await restarted.drain()
    assert h.opened == opened  # the paused profile is not tried again after the restart
    assert restarted.paused["main"].code == "auth_failed"
    status = h.outbox.status()
    assert status.paused["main"].code == "auth_failed" and "535" in status.paused["main"].reply
    assert status.counts == {MessageState.HELD: 2}
    h.password = GOOD_PASSWORD
    assert restarted.resume("main") == 2
    await restarted.drain()
    assert {h.outbox.get(i).state for i in (first, later)} == {MessageState.SENT}
    assert h.outbox.paused_profiles() == {}


class RetryOnceRecipientHandler(SinkHandler):
    """Answers 451 to one recipient the first time only (a greylisting mailbox)."""

    def __init__(self, greylisted: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.greylisted = greylisted

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address == self.greylisted and self.greylisted:
            self.greylisted = ""
            return "451 4.7.1 greylisted, try again"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.mark.asyncio
async def test_partial_failure_retries_only_the_deferred_recipient(harness: Callable[..., Harness]) -> None:
    handler = RetryOnceRecipientHandler("later@example.net",
                                        rcpt_replies={"gone@example.net": "550 5.1.1 no such user"})
    h = harness(handler, retry_backoff_initial_s=60)
    message_id = h.enqueue("a@example.net, gone@example.net, later@example.net")
    await h.sender.drain()
    waiting = h.outbox.get(message_id)
    assert waiting.state is MessageState.QUEUED and waiting.pending_recipients == ("later@example.net",)
    h.clock.now += 60
    await h.sender.drain()
    done = h.outbox.get(message_id)
    assert done.state is MessageState.SENT
    assert [m.rcpt_tos for m in handler.messages] == [["a@example.net"], ["later@example.net"]]
    assert done.recipient_results["gone@example.net"].startswith("550")
    assert done.recipient_results["later@example.net"].startswith("250")


@pytest.mark.asyncio
async def test_nothing_is_sent_while_delivery_is_disabled(harness: Callable[..., Harness]) -> None:
    handler = SinkHandler()
    h = harness(handler, enabled=False)
    message_id = h.enqueue()
    assert await h.sender.drain() == 0
    assert h.outbox.get(message_id).state is MessageState.QUEUED and handler.messages == []


@pytest.mark.asyncio
async def test_mail_waiting_at_startup_is_held_when_send_pending_at_startup_is_false(
        harness: Callable[..., Harness]) -> None:
    import asyncio

    handler = SinkHandler()
    h = harness(handler, send_pending_at_startup=False)
    old = h.enqueue("old@example.net")
    stop = asyncio.Event()
    first_round = h.sender.run_once
    new: list[int] = []

    async def one_round_then_stop() -> int:
        assert h.outbox.get(old).state is MessageState.HELD  # held before the first round
        new.append(h.enqueue("new@example.net"))  # queued after startup: sent as usual
        handled = await first_round()
        stop.set()
        return handled

    h.sender.run_once = one_round_then_stop  # type: ignore[method-assign]
    await h.sender.run(stop, poll_s=0.01)
    assert h.outbox.get(old).state is MessageState.HELD
    assert h.outbox.get(new[0]).state is MessageState.SENT
    assert [m.rcpt_tos for m in handler.messages] == [["new@example.net"]]


@pytest.mark.asyncio
async def test_a_round_purges_finished_mail_past_retention(harness: Callable[..., Harness]) -> None:
    h = harness(retention_days=2)
    sent = h.enqueue()
    await h.sender.drain()
    h.clock.now += 3 * 86400
    fresh = h.enqueue()
    h.outbox.hold_profile("main", "held for the test", "")
    await h.sender.run_once()
    assert [m.id for m in h.outbox.messages()] == [fresh]
    assert sent != fresh
