"""One sender per outbox: a second sender (another Sender, a second `serve`) does not send, and takes over
only when the first stops or is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer, SinkHandler
from tests.fixtures.waiting import eventually
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender, SenderBusyError
from wizard.services.sender_lock import SenderLock

WAIT_S = 60.0  # subprocesses start, poll and take over on their own schedule
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def _sink_profile(server: RunningSmtpServer) -> Profile:
    return Profile(name="sink", from_address="app@example.com", host=server.host, port=server.port,
                   security=Security.NONE, allow_plaintext_loopback=True)


def _enqueue(outbox: Outbox, number: int) -> str:
    raw = (f"From: app@example.com\r\nTo: bob@example.net\r\nMessage-ID: <lock-{number}@example.com>\r\n\r\n"
           "hello\r\n").encode()
    queued = outbox.enqueue(raw, profile="sink", envelope_from="app@example.com", recipients=["bob@example.net"])
    return queued.message_id


def _arrivals(sink: SinkHandler) -> Counter[str]:
    found = (MESSAGE_ID.search(m.data) for m in list(sink.messages))
    return Counter(match.group(1).decode() for match in found if match)


def test_a_second_lock_on_the_same_outbox_is_refused_until_the_first_is_released(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first, second = SenderLock.for_outbox(path), SenderLock.for_outbox(path)
    assert first.try_acquire()
    try:
        assert not second.try_acquire() and not second.held
        owner = second.owner()
        assert owner.pid == os.getpid()
        assert second.busy().owner.pid == os.getpid()
        assert f"Another Mailwright (pid {os.getpid()}) is delivering this outbox" in str(second.busy())
    finally:
        first.release()
    assert second.try_acquire()
    second.release()


@pytest.mark.asyncio
async def test_two_senders_on_one_outbox_deliver_each_message_once_and_the_second_takes_over(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    sink = SinkHandler(data_delay_s=0.02)  # slow enough that the first sender is mid-batch when the second starts
    server = smtp_server("plain", auth=False, handler=sink)
    config = ConfigStore()
    config.save_profile(_sink_profile(server))
    outbox = Outbox()
    expected = [_enqueue(outbox, number) for number in range(40)]
    first, second = Sender(outbox, config.load), Sender(outbox, config.load)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first_run = asyncio.create_task(first.run(stop_first, poll_s=0.05))
    second_run: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: outbox.counts().get(MessageState.SENDING, 0) > 0, "the first sender to claim",
                         timeout_s=WAIT_S)
        with pytest.raises(SenderBusyError, match=rf"pid {os.getpid()}"):
            await second.run(stop_second, poll_s=0.05)
        # Waiting for the lock must not recover (and resend) the rows the first sender has claimed.
        second_run = asyncio.create_task(second.run(stop_second, poll_s=0.05, wait=True))
        await eventually(lambda: len(_arrivals(sink)) == len(expected), "every message to arrive", timeout_s=WAIT_S)
        assert not second.lock.held
        stop_first.set()
        await first_run
        await eventually(lambda: second.lock.held, "the second sender to take over", timeout_s=WAIT_S)
        expected.append(_enqueue(outbox, 40))
        second.wake()
        await eventually(lambda: len(_arrivals(sink)) == len(expected), "mail queued after the take-over",
                         timeout_s=WAIT_S)
        assert _arrivals(sink) == Counter(expected)
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(first_run, *([second_run] if second_run else []), return_exceptions=True)
    assert not first.lock.held and not second.lock.held


def _serve(home: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MAILWRIGHT_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def _killed_at_exit(*processes: subprocess.Popen[str]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_second_serve_exits_or_waits_and_takes_over_when_the_first_is_killed(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    sink = SinkHandler()
    server = smtp_server("plain", auth=False, handler=sink)
    ConfigStore().save_profile(_sink_profile(server))
    outbox = Outbox()
    holder = _serve(data_home)
    with _killed_at_exit(holder):
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "sender running\n"

        refused = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "wizard", "serve"],
                                          env={**os.environ, "MAILWRIGHT_HOME": str(data_home)},
                                          capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1
        assert f"Another Mailwright (pid {holder.pid}) is delivering this outbox" in refused.stderr
        assert "--wait" in refused.stderr

        waiter = _serve(data_home, "--wait")
        with _killed_at_exit(waiter):
            assert waiter.stdout is not None
            line = await asyncio.to_thread(waiter.stdout.readline)
            assert f"pid {holder.pid}" in line and "Waiting" in line
            first = _enqueue(outbox, 1)
            await eventually(lambda: _arrivals(sink)[first] == 1, "delivery by the holder", timeout_s=WAIT_S)
            # Killed before it recorded "sent", the holder's message would rightly be sent again (at-least-once).
            await eventually(lambda: outbox.counts().get(MessageState.SENT) == 1, "the holder's record of it",
                             timeout_s=WAIT_S)

            holder.send_signal(signal.SIGKILL)
            await asyncio.to_thread(holder.wait)
            assert await asyncio.to_thread(waiter.stdout.readline) == "sender running\n"
            second = _enqueue(outbox, 2)
            await eventually(lambda: _arrivals(sink)[second] == 1, "delivery by the waiter after the kill",
                             timeout_s=WAIT_S)
            waiter.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(waiter.wait, 30) == 0
    assert _arrivals(sink) == Counter([first, second])
