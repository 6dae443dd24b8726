"""The relay speaks SMTP semantics: local trouble is 4xx, bad envelopes are refused at their command, limits reply.

Every test talks to the real relay (aiosmtpd on loopback, a real outbox file) with smtplib or a raw socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from wizard.services.config import Config
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.relay import start_relay
from wizard.services.settings import RelaySettings

PROFILES = {"main": Profile(name="main", from_address="app@example.com")}
CONFIG = Config(profiles=PROFILES, default_profile="main")
BODY = b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: x\r\n\r\nhello\r\n"


@contextlib.asynccontextmanager
async def running_relay(outbox: Outbox, config: Config = CONFIG) -> AsyncIterator[int]:
    port = free_port()
    server = await start_relay(outbox, lambda: config, "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def _transaction(port: int, sender: str = "app@example.com", recipients: tuple[str, ...] = ("bob@example.net",),
                 body: bytes = BODY) -> list[tuple[int, bytes]]:
    """MAIL, each RCPT and DATA as separate replies (smtplib's sendmail would hide which one failed)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        replies = [client.docmd("MAIL", f"FROM:<{sender}>")]
        for recipient in recipients:
            if replies[-1][0] != 250:
                return replies
            replies.append(client.docmd("RCPT", f"TO:<{recipient}>"))
        if replies[-1][0] == 250:
            replies.append(client.data(body))
        return replies


def _relay_connection(outbox: Outbox, pragma: str) -> None:
    """Set a PRAGMA on the connection the relay commits with (commit_on_loop: this thread's connection)."""
    with outbox._connect() as connection:
        connection.execute(f"PRAGMA {pragma}")


# -- local, temporary trouble is 4xx ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_full_disk_is_answered_452_and_the_same_message_is_accepted_once_there_is_room(
        data_home: Path) -> None:
    outbox = Outbox(commit_on_loop=True)
    with outbox._connect() as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    _relay_connection(outbox, f"max_page_count = {pages + 2}")  # SQLite's "database or disk is full"
    big = BODY + (b"x" * 998 + b"\r\n") * 200
    async with running_relay(outbox) as port:
        replies = await asyncio.to_thread(_transaction, port, body=big)
        assert replies[-1][0] == 452 and replies[-1][1].startswith(b"4.3.1"), replies
        assert outbox.messages() == []
        _relay_connection(outbox, "max_page_count = 1073741823")  # room again: the client's retry succeeds
        replies = await asyncio.to_thread(_transaction, port, body=big)
        assert replies[-1][0] == 250
        assert len(outbox.messages()) == 1


@pytest.mark.slow
@pytest.mark.asyncio
async def test_an_outbox_locked_by_another_process_is_answered_451_not_500(data_home: Path) -> None:
    outbox = Outbox(commit_on_loop=True, lock_wait_s=0.2)  # the relay's wait (relay.QUEUE_WAIT_S), shortened
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(outbox.path)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert (await holder.stdout.readline()).strip() == b"locked"
        async with running_relay(outbox) as port:
            replies = await asyncio.to_thread(_transaction, port)
            assert replies[-1][0] == 451 and replies[-1][1].startswith(b"4.3.0"), replies
            holder.stdin.close()  # the other program lets go: the retry is accepted
            await holder.wait()
            replies = await asyncio.to_thread(_transaction, port)
            assert replies[-1][0] == 250
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
    assert len(outbox.messages()) == 1


@pytest.mark.asyncio
async def test_an_unexpected_error_while_storing_is_451_and_its_traceback_goes_to_the_log(
        data_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(commit_on_loop=True)
    _relay_connection(outbox, "query_only = 1")  # "attempt to write a readonly database"
    async with running_relay(outbox) as port:
        replies = await asyncio.to_thread(_transaction, port)
    assert replies[-1][0] == 451 and replies[-1][1].startswith(b"4.3.0"), replies
    assert b"Error" not in replies[-1][1] and b"readonly" not in replies[-1][1]  # no internals to the client
    # the traceback, as exc_info or (once a redacting handler formatted it) as exc_text
    tracebacks = [r.exc_text or (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
                  for r in caplog.records if r.name == "wizard.services.relay"]
    assert any("Traceback" in text and "readonly" in text for text in tracebacks), tracebacks


@pytest.mark.asyncio
async def test_a_config_that_cannot_be_read_is_451_at_mail_from(data_home: Path) -> None:
    def broken() -> Config:
        raise ValueError("config.toml: line 3: expected '='")

    port = free_port()
    server = await start_relay(Outbox(), broken, "127.0.0.1", port)
    try:
        replies = await asyncio.to_thread(_transaction, port)
    finally:
        server.close()
        await server.wait_closed()
    assert replies[0][0] == 451 and replies[0][1].startswith(b"4.3.0")


# -- the null sender and control characters ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_null_sender_is_rewritten_to_the_account_address(data_home: Path) -> None:
    outbox = Outbox()
    async with running_relay(outbox) as port:
        replies = await asyncio.to_thread(_transaction, port, "")
    assert [code for code, _ in replies] == [250, 250, 250]
    (stored,) = outbox.messages()
    assert stored.envelope_from == "app@example.com" and stored.profile == "main"


@pytest.mark.asyncio
async def test_the_null_sender_is_refused_at_mail_when_the_account_has_no_address(data_home: Path) -> None:
    config = Config(profiles={"bare": Profile(name="bare", username="apikey")}, default_profile="bare")
    outbox = Outbox()
    async with running_relay(outbox, config) as port:
        replies = await asyncio.to_thread(_transaction, port, "")
    assert replies == [(550, replies[0][1])] and replies[0][1].startswith(b"5.1.7")
    assert outbox.messages() == []


def _raw_session(port: int, *lines: bytes) -> list[bytes]:
    """Send each command line as bytes; the reply line to each (after the greeting)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as replies:
        assert replies.readline().startswith(b"220")
        answers = []
        for line in (b"EHLO client.example", *lines):
            sock.sendall(line + b"\r\n")
            answer = replies.readline()
            while answer[3:4] == b"-":
                answer = replies.readline()
            answers.append(answer.rstrip())
        return answers[1:]


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", [b"a\x00b@example.com", b"a\rb@example.com", b"ab@exam\x00ple.com",
                                 b"a\x1b@example.com", b"a@example.com\x7f"])
async def test_control_characters_are_refused_at_mail_and_at_rcpt(data_home: Path, bad: bytes) -> None:
    outbox = Outbox()
    async with running_relay(outbox) as port:
        at_mail = await asyncio.to_thread(_raw_session, port, b"MAIL FROM:<" + bad + b">")
        at_rcpt = await asyncio.to_thread(_raw_session, port, b"MAIL FROM:<app@example.com>",
                                          b"RCPT TO:<" + bad + b">")
    assert at_mail[0].startswith(b"501 5.1.7"), at_mail
    assert at_rcpt[0].startswith(b"250") and at_rcpt[1].startswith(b"501 5.1.3"), at_rcpt


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", [b"user", b"", b"a..b@example.com", b"a@-example.com", b"a@[999.1.1.1]",
                                 b"x" * 65 + b"@example.com", b"a@" + b"b" * 64 + b".com"])
async def test_recipients_the_relay_could_not_hand_on_are_refused_at_rcpt(data_home: Path, bad: bytes) -> None:
    async with running_relay(Outbox()) as port:
        answers = await asyncio.to_thread(_raw_session, port, b"MAIL FROM:<app@example.com>", b"RCPT TO:<" + bad + b">")
    assert answers[0].startswith(b"250") and answers[1][:1] == b"5" and answers[1][:3] != b"500", answers


# -- limits ------------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_default_recipient_limit_is_1000_and_the_next_is_452_4_5_3(data_home: Path) -> None:
    outbox = Outbox()
    recipients = tuple(f"r{n}@example.net" for n in range(1001))
    async with running_relay(outbox) as port:
        replies = await asyncio.to_thread(_transaction, port, "app@example.com", recipients)
        # the client sends the rest in a second transaction, as RFC 5321 4.5.3.1.10 expects
        assert replies[-1][0] == 452 and replies[-1][1] == b"4.5.3 Too many recipients"
        assert all(code == 250 for code, _ in replies[:-1])
    assert outbox.messages() == []  # no DATA in the helper once a reply was not 250


@pytest.mark.asyncio
async def test_the_recipient_limit_is_a_relay_setting_and_the_accepted_ones_get_the_message(data_home: Path) -> None:
    outbox = Outbox()
    config = replace(CONFIG, relay=RelaySettings(max_recipients=2))
    async with running_relay(outbox, config) as port:
        def send() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                return client.sendmail("app@example.com", ["a@example.net", "b@example.net", "c@example.net"], BODY)
        refused = await asyncio.to_thread(send)
    assert refused == {"c@example.net": (452, b"4.5.3 Too many recipients")}
    (stored,) = outbox.messages()
    assert stored.recipients == ("a@example.net", "b@example.net")


def _greeting(port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock, sock.recv(1024)


@pytest.mark.asyncio
async def test_connections_beyond_the_limit_get_421_and_a_freed_slot_is_reused(data_home: Path) -> None:
    config = replace(CONFIG, relay=RelaySettings(max_connections=2))
    async with running_relay(Outbox(), config) as port:
        first, hello1 = await asyncio.to_thread(_greeting, port)
        second, hello2 = await asyncio.to_thread(_greeting, port)
        third, refused = await asyncio.to_thread(_greeting, port)
        try:
            assert hello1.startswith(b"220") and hello2.startswith(b"220")
            assert refused.startswith(b"421 4.7.0"), refused
            assert await asyncio.to_thread(third.recv, 1024) == b""  # and closed
            first.close()

            async def greeted_again() -> bytes:  # once the relay has seen the first one go
                while True:
                    sock, hello = await asyncio.to_thread(_greeting, port)
                    sock.close()
                    if not hello.startswith(b"421"):
                        return hello
                    await asyncio.sleep(0.02)
            assert (await asyncio.wait_for(greeted_again(), 15)).startswith(b"220")
        finally:
            for sock in (first, second, third):
                sock.close()


@pytest.mark.asyncio
async def test_an_idle_client_gets_421_4_4_2_and_is_disconnected(data_home: Path) -> None:
    config = replace(CONFIG, relay=RelaySettings(idle_timeout_s=1))
    async with running_relay(Outbox(), config) as port:
        def idle() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as replies:
                assert replies.readline().startswith(b"220")
                return replies.read()  # nothing sent: the relay speaks, then closes
        said = await asyncio.to_thread(idle)
    assert said.startswith(b"421 4.4.2"), said


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("max_recipients", "1000", 1000), ("max_connections", "1", 1), ("idle_timeout_s", "3600", 3600),
])
def test_relay_limits_are_validated_settings(data_home: Path, key: str, value: str, expected: int) -> None:
    from wizard.services.config import ConfigStore

    store = ConfigStore()
    assert store.set(f"relay.{key}", value) == expected
    assert getattr(store.load().relay, key) == expected


@pytest.mark.parametrize(("key", "value"), [
    ("max_recipients", "0"), ("max_recipients", "100001"), ("max_connections", "-1"), ("max_connections", "x"),
    ("idle_timeout_s", "3601"), ("idle_timeout_s", "9" * 40), ("idle_timeout_s", "true"),
    ("max_recipients", "\u0661\u0660"),  # Arabic-Indic digits: isdigit() but not a number TOML or Postfix takes
])
def test_out_of_range_relay_limits_are_refused_naming_the_key(data_home: Path, key: str, value: str) -> None:
    from wizard.services.config import ConfigStore
    from wizard.services.validation import InvalidInputError

    with pytest.raises(InvalidInputError, match=f"relay.{key} must be a whole number from"):
        ConfigStore().set(f"relay.{key}", value)

