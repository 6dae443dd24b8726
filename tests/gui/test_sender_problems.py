"""The main window shows what the running sender meets: a profile's problem on its card, the outbox's in the banner,
both gone once the sender gets through again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer, SinkHandler
from tests.fixtures.waiting import eventually
from tests.gui.conftest import OFFSCREEN_NOISE
from tests.outbox.test_sender_boundary import Locker
from wizard.main_window import MainWindow
from wizard.services.alerts import AlertDispatcher, AlertTracker
from wizard.services.app_services import Services
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.transports.base import BeforeData, SendResult, Transport
from wizard.services.transports.smtp import SmtpTransport

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def mail() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "app@example.com", "bob@example.net", "Invoice"
    message.set_content("numbers")
    return message


class BuggyTransport(SmtpTransport):
    """A transport with a bug: its send raises something no transport expects."""

    async def send(self, sender: str, recipients: Sequence[str], raw: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult:
        raise ZeroDivisionError("a bug in a transport")


@contextlib.asynccontextmanager
async def window_for(outbox: Outbox, store: ConfigStore, sender: Sender) -> AsyncIterator[MainWindow]:
    delivery = BackgroundDelivery(outbox, store.load, sender=sender, poll_s=0.05)
    dispatcher = AlertDispatcher(outbox, store.load, tracker=AlertTracker())
    window = MainWindow(Services(store.home, store, outbox), delivery, dispatcher, refresh_ms=50)
    await delivery.start()
    window.show()
    await window.refresh()
    try:
        yield window
    finally:
        await window.shutdown()
        await delivery.stop()
        window.close()
        window.deleteLater()


def plain_profile(name: str, server: RunningSmtpServer) -> Profile:
    return Profile(name=name, from_address="app@example.com", host=server.host, port=server.port,
                   security=Security.NONE, allow_plaintext_loopback=True)


@pytest.mark.asyncio
async def test_a_profile_the_sender_cannot_deliver_shows_the_problem_on_its_card_until_it_recovers(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("plain", auth=False)
    store = ConfigStore()
    store.save_profile(plain_profile("buggy", server))
    store.save_profile(plain_profile("fine", server))
    buggy = [True]

    async def factory(profile: Profile) -> Transport:
        kind = BuggyTransport if profile.name == "buggy" and buggy[0] else SmtpTransport
        return kind.for_profile(profile, None)

    now = [time.time()]
    outbox = Outbox(clock=lambda: now[0])
    stuck = outbox.enqueue(mail(), profile="buggy").id
    async with window_for(outbox, store, Sender(outbox, store.load, factory, clock=lambda: now[0])) as window:
        card, other = window.cards["buggy"], window.cards["fine"]
        await eventually(lambda: card.sender_problem.isVisible(), "the card to show the sender's problem")
        text = card.sender_problem.text()
        assert "Mailwright ran into an unexpected problem" in text and "mailwright.log" in text
        assert "Traceback" not in text and "ZeroDivisionError" not in text
        assert not other.sender_problem.isVisible()
        assert not window.banner.isVisible() or "unexpected" not in window.banner.text()
        await eventually(lambda: outbox.get(stuck).attempts >= 1, "the attempt to be recorded")
        await asyncio.sleep(0.3)  # rounds with nothing due go by: the problem stays until mail goes through
        assert card.sender_problem.isVisible()
        buggy[0] = False  # the fault is gone: the retry delivers and the card forgets the problem
        now[0] += 3600
        await eventually(lambda: outbox.get(stuck).state is MessageState.SENT, "the message to be sent")
        await eventually(lambda: not card.sender_problem.isVisible(), "the card's problem to disappear")


@pytest.mark.asyncio
async def test_an_outbox_another_program_locks_is_named_in_the_banner_until_it_is_released(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("plain", auth=False)
    store = ConfigStore()
    store.save_profile(plain_profile("main", server))
    outbox = Outbox(busy_timeout_s=0.05)
    async with window_for(outbox, store, Sender(outbox, store.load)) as window:
        queued = outbox.enqueue(mail(), profile="main").id
        locker = Locker(outbox.path)  # a database browser opens it while the app runs
        try:
            await eventually(lambda: "Another program holds the outbox locked" in window.banner.text()
                             and window.banner.isVisible(), "the banner to name the locked outbox")
            assert "outbox.sqlite3" in window.banner.text()
            assert not window.cards["main"].sender_problem.isVisible()  # the outbox's problem, not this profile's
        finally:
            locker.release()
        await eventually(lambda: outbox.get(queued).state is MessageState.SENT, "the message to be sent")
        await eventually(lambda: "outbox locked" not in window.banner.text(), "the banner to forget the lock")


def _start_serve(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                            env={**os.environ, "MAILWRIGHT_HOME": str(home)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_while_serve_delivers_the_window_shows_what_serve_meets(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    busy = smtp_server("plain", auth=False, handler=SinkHandler(
        mail_reply="451 4.7.28 Our system has detected an unusual rate of unsolicited mail"))
    store = ConfigStore()
    store.save_profile(plain_profile("main", busy))
    outbox = Outbox()
    outbox.enqueue(mail(), profile="main")
    serve = _start_serve(data_home)
    try:
        assert serve.stdout is not None and await asyncio.to_thread(serve.stdout.readline) == "sender running\n"
        async with window_for(outbox, store, Sender(outbox, store.load)) as window:
            assert f"(pid {serve.pid}) is delivering this outbox" in window.summary.text()
            card = window.cards["main"]
            await eventually(lambda: card.sender_problem.isVisible(), "the card to show what serve meets", 60)
            assert card.sender_problem.text().startswith("Sending: The provider is limiting how fast you send")
            assert not window.delivery.sender.lock.held  # serve's problem, published by serve
            serve.send_signal(signal.SIGKILL)
            await asyncio.to_thread(serve.wait, 30)
            # serve is gone: its file is stale; this window becomes the sender and shows only what it meets itself.
            await eventually(lambda: window.delivery.sender.lock.held, "the window to take over", 60)
    finally:
        if serve.poll() is None:
            serve.kill()
        await asyncio.to_thread(serve.communicate, timeout=30)
