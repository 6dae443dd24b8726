"""The relay never makes one client's trouble every client's: a locked outbox is answered 451 after a short, bounded
wait while other connections are served, and a slow but progressing DATA transfer is not cut off as idle.

Real parts: the relay in its own process (as `serve` and the app run it), a second process holding SQLite's write
lock, smtplib clients over loopback.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fixtures.smtp_servers import free_port
from tests.outbox.test_relay_semantics import CONFIG, running_relay
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.relay_process import RelayProcess, RelaySpec
from wizard.services.settings import RelaySettings


def _body(subject: str) -> bytes:
    return f"From: app@example.com\r\nTo: bob@example.net\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()


def _submit(port: int, subject: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo()
        client.mail("app@example.com")
        client.rcpt("bob@example.net")
        return client.data(_body(subject))


@pytest_asyncio.fixture
async def outbox_holder(data_home: Path) -> AsyncIterator[OutboxHolder]:
    holder = OutboxHolder()
    yield holder
    await holder.let_go()


class OutboxHolder:
    """Another program (a database browser, a backup) holding the outbox's write lock until told to let go."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None

    async def take(self, path: Path) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        assert (await self.process.stdout.readline()).strip() == b"locked"

    async def let_go(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


class WaitingClient:
    """A client that sends a whole message and then waits for the relay's answer in a thread of its own."""

    def __init__(self, port: int, subject: str) -> None:
        self.port = port
        self.subject = subject
        self.sent = threading.Event()  # the final "." is on the wire
        self.answered = threading.Event()
        self.reply: tuple[int, bytes] = (0, b"")

    def run(self) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as client:
            client.ehlo()
            client.mail("app@example.com")
            client.rcpt("bob@example.net")
            assert client.docmd("DATA")[0] == 354
            client.send(_body(self.subject) + b".\r\n")
            self.sent.set()
            self.reply = client.getreply()
            self.answered.set()


def _hello_and_noop(port: int) -> list[int]:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        return [client.ehlo()[0], client.noop()[0]]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_locked_outbox_is_answered_451_while_other_connections_are_served_and_nothing_is_lost(
        data_home: Path, outbox_holder: OutboxHolder) -> None:
    ConfigStore().save_profile(Profile(name="main", from_address="app@example.com"))
    outbox = Outbox()
    port = free_port()
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, outbox.path))
    await relay.start()
    try:
        assert (await asyncio.to_thread(_submit, port, "before the lock"))[0] == 250
        await outbox_holder.take(outbox.path)
        waiting = WaitingClient(port, "during the lock")
        client = asyncio.create_task(asyncio.to_thread(waiting.run))
        await asyncio.to_thread(waiting.sent.wait, 60)
        # While that client waits for its answer, the relay's event loop goes on serving everyone else.
        assert await asyncio.to_thread(_hello_and_noop, port) == [250, 250]
        assert not waiting.answered.is_set()
        await client
        code, text = waiting.reply
        assert (code, text[:5]) == (451, b"4.3.0"), waiting.reply  # temporary: the client keeps it and retries
        await outbox_holder.let_go()
        code, text = await asyncio.to_thread(_submit, port, "during the lock")  # the client's retry
        assert code == 250, text
    finally:
        await relay.stop()
    subjects = sorted(m.raw.split(b"Subject: ")[1].split(b"\r\n")[0] for m in outbox.messages())
    assert subjects == [b"before the lock", b"during the lock"]  # every 250 kept; the 451 left no copy behind


def _slow_transaction(port: int, pause_s: float, lines: int) -> tuple[int, bytes]:
    """A message whose DATA trickles in: one line every `pause_s`, the whole transfer longer than the idle time."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock, sock.makefile("rb") as replies:
        def command(line: bytes) -> bytes:
            sock.sendall(line + b"\r\n")
            return replies.readline()

        assert replies.readline().startswith(b"220")
        assert command(b"HELO client").startswith(b"250")
        assert command(b"MAIL FROM:<app@example.com>").startswith(b"250")
        assert command(b"RCPT TO:<bob@example.net>").startswith(b"250")
        assert command(b"DATA").startswith(b"354")
        sock.sendall(b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: slow\r\n\r\n")
        for number in range(lines):
            time.sleep(pause_s)
            sock.sendall(b"line %d of a slow upload\r\n" % number)
        reply = command(b".")
        code, _, text = reply.partition(b" ")
        return int(code), text


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_slow_but_progressing_data_transfer_is_not_cut_off_as_idle(data_home: Path) -> None:
    config = replace(CONFIG, relay=RelaySettings(idle_timeout_s=1))
    outbox = Outbox()
    async with running_relay(outbox, config) as port:
        # 30 lines 0.1 s apart: three times the idle time in all, never a second without a byte.
        code, text = await asyncio.to_thread(_slow_transaction, port, 0.1, 30)
    assert code == 250, text
    [stored] = outbox.messages()
    assert b"line 29 of a slow upload" in stored.raw
