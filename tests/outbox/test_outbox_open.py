"""An outbox another program holds locked at start is waited for, not a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer
from tests.fixtures.waiting import eventually
from tests.outbox.test_sender_boundary import Locker, message
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.errors import DiagnosisCode
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.outbox_open import open_outbox
from wizard.services.sender import Sender
from wizard.services.sender_boundary import OUTBOX


@pytest.mark.asyncio
async def test_an_outbox_locked_at_start_is_waited_for_and_the_wait_names_the_file(data_home: Path) -> None:
    path = Outbox().path  # exists, as after an earlier run
    locker = Locker(path)  # a second process holds BEGIN EXCLUSIVE on it
    with pytest.raises(Exception, match="database is locked"):
        Outbox(busy_timeout_s=0.05)  # what serve met before: an exception, exit 70
    said: list[str] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            locker.release()

    try:
        outbox = await open_outbox(lambda: Outbox(busy_timeout_s=0.05), path, sleep=sleep, on_wait=said.append)
    finally:
        locker.release()
    assert len(slept) == 3 and slept == sorted(slept)  # backing off
    assert len(said) == 1 and str(path) in said[0] and "Another program holds the outbox locked" in said[0]
    queued = outbox.enqueue(message(), profile="main").id
    assert outbox.get(queued).state is MessageState.QUEUED


@pytest.mark.asyncio
async def test_any_other_error_is_not_waited_for(data_home: Path) -> None:
    def broken() -> Outbox:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await open_outbox(broken, data_home / "outbox.sqlite3")


@pytest.mark.slow
def test_serve_waits_for_an_outbox_locked_at_start_instead_of_exiting(data_home: Path) -> None:
    path = Outbox().path
    locker = Locker(path)
    serve = subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                             env={**os.environ, "MAILWRIGHT_HOME": str(data_home)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()  # after the first attempt's wait (outbox_open.OPEN_WAIT_S), not SQLite's 30 s
        assert first.startswith("Waiting to open the outbox") and str(path) in first, first
        assert serve.poll() is None
        locker.release()
        assert serve.stdout.readline().strip() == "sender running"
    finally:
        locker.release()
        serve.terminate()
        _, stderr = serve.communicate(timeout=60)
    assert serve.returncode == 0 and "Traceback" not in stderr, stderr


@pytest.mark.asyncio
async def test_the_apps_delivery_starts_while_another_program_locks_the_outbox_and_sends_once_it_lets_go(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("plain", auth=False)
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", host=server.host, port=server.port,
                               security=Security.NONE, allow_plaintext_loopback=True))
    outbox = Outbox(busy_timeout_s=0.05)  # SQLite's 30 s wait, shortened: "locked past the busy timeout" is quick
    queued = outbox.enqueue(message(), profile="main").id
    locker = Locker(outbox.path)  # a database browser holds it as the app starts
    # The sender waits for the outbox, then gives up the start-up steps (and tries them again later).
    delivery = BackgroundDelivery(outbox, store.load, sender=Sender(outbox, store.load, storage_wait_s=0.3),
                                  poll_s=0.05)
    try:
        await delivery.start()  # returns: the window can open and say what is wrong
        await eventually(lambda: OUTBOX in delivery.problems, "the locked outbox to be named")
        problem = delivery.problems[OUTBOX]
        assert problem.code == DiagnosisCode.OUTBOX_BUSY and problem.title == "Another program holds the outbox locked"
        assert outbox.get(queued).state is MessageState.QUEUED
        locker.release()
        await eventually(lambda: outbox.get(queued).state is MessageState.SENT, "the message to be sent")
        await eventually(lambda: OUTBOX not in delivery.problems, "the problem to be forgotten")
        assert [m.rcpt_tos for m in server.messages] == [["bob@example.net"]]
    finally:
        locker.release()
        await delivery.stop()


@pytest.mark.asyncio
async def test_taking_over_from_another_sender_later_is_not_a_start_mail_waiting_is_sent_not_held(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    """delivery.send_pending_at_startup = false holds what waits when the app starts, not when it takes over from
    a `serve` that stopped hours later."""
    from wizard.services.sender_lock import SenderLock

    server = smtp_server("plain", auth=False)
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", host=server.host, port=server.port,
                               security=Security.NONE, allow_plaintext_loopback=True))
    store.set("delivery.send_pending_at_startup", "false")
    outbox = Outbox()
    other = SenderLock.for_outbox(outbox.path)  # another Mailwright delivers this outbox as the app starts
    assert other.try_acquire()
    delivery = BackgroundDelivery(outbox, store.load, poll_s=0.05)
    try:
        await delivery.start()
        assert delivery.other_sender is not None
        queued = outbox.enqueue(message(), profile="main").id  # queued while the other one delivers
        other.release()  # it stops; the app takes over
        await eventually(lambda: delivery.sender.lock.held, "the app to take over")
        await eventually(lambda: outbox.get(queued).state is MessageState.SENT, "the message to be sent, not held")
    finally:
        other.release()
        await delivery.stop()
