"""Property-based: whatever MAIL FROM / RCPT TO arguments a client sends, the relay never answers 250 to an
envelope it cannot hand on, and never crashes.

"Hand on" is checked with the real parts downstream: the stored envelope is sent with aiosmtplib (the
client the sender uses) to an aiosmtpd server, which must receive exactly that envelope.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fixtures.smtp_servers import SinkHandler, free_port
from wizard.services.config import Config
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.relay import start_relay

CONFIG = Config(profiles={"main": Profile(name="main", from_address="app@example.com")}, default_profile="main")
BODY = b"From: app@example.com\r\nSubject: fuzz\r\n\r\nhello\r\n.\r\n"
REPLY = re.compile(rb"^[2-5][0-9][0-9][ -]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Running:
    relay_port: int
    sink_port: int
    sink: SinkHandler
    outbox: Outbox


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One relay (on its own loop in a thread) and one downstream server for every generated example."""
    outbox = Outbox(tmp_path_factory.mktemp("fuzz") / "outbox.sqlite3")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="relay-loop", daemon=True)
    thread.start()
    port = free_port()
    server = asyncio.run_coroutine_threadsafe(start_relay(outbox, lambda: CONFIG, "127.0.0.1", port), loop).result(30)
    sink = SinkHandler()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Running(port, controller.port, sink, outbox)
    finally:
        controller.stop()

        async def close() -> None:
            server.close()
            await server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _session(port: int, mail_arg: str, rcpt_arg: str) -> list[bytes]:
    """EHLO, MAIL, RCPT and (if both were accepted) DATA as raw bytes; the reply line to each."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, sock.makefile("rb") as lines:
        def reply() -> bytes:
            line = lines.readline()
            while line[3:4] == b"-":
                line = lines.readline()
            return line.rstrip(b"\r\n")

        assert reply().startswith(b"220")
        answers = []
        for command in (b"EHLO fuzz.example", b"MAIL FROM:" + mail_arg.encode("latin-1"),
                        b"RCPT TO:" + rcpt_arg.encode("latin-1")):
            sock.sendall(command + b"\r\n")
            answers.append(reply())
            if not answers[-1].startswith(b"250"):
                return answers
        sock.sendall(b"DATA\r\n")
        if reply().startswith(b"354"):
            sock.sendall(BODY)
            answers.append(reply())
        sock.sendall(b"QUIT\r\n")
        return answers


# Printable and control ASCII except LF (which ends the command line: the rest would be another command).
_ANY = st.characters(min_codepoint=0, max_codepoint=127, exclude_characters="\n")
_PIECES = st.sampled_from(["<", ">", "@", ".", '"', "\\", " ", "\x00", "\r", "\t", "\x7f", "[", "]", ":", ",", "(",
                           ")", "IPv6:", "::1", "127.0.0.1", "example.com", "a", "-", "=", " SIZE=10",
                           " BODY=8BITMIME", " SMTPUTF8", "postmaster", "..", "@a,@b:", "x" * 70])
_ARGUMENT = st.one_of(
    st.text(_ANY, max_size=60),
    st.lists(st.one_of(_PIECES, st.text(_ANY, min_size=1, max_size=4)), max_size=14).map("".join),
    st.builds(lambda local, domain, rest: f"<{local}@{domain}>{rest}",
              st.lists(st.one_of(_PIECES, st.text(_ANY, min_size=1, max_size=3)), min_size=1, max_size=5).map("".join),
              st.lists(st.one_of(_PIECES, st.text(_ANY, min_size=1, max_size=3)), min_size=1, max_size=5).map("".join),
              st.sampled_from(["", " SIZE=100", " BODY=8BITMIME", " X=1"])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mail_arg=_ARGUMENT, rcpt_arg=_ARGUMENT)
# aiosmtpd reads an unbracketed `0 0@0` as the quoted mailbox "0 0"@0: the relay took it at RCPT, then the
# submission rules refused it at DATA (554) with a stricter rule of their own. One rule now (mailbox_syntax).
@example(mail_arg="<app@example.com>", rcpt_arg="0 0@0")
def test_the_relay_never_accepts_an_envelope_it_cannot_hand_on(running: Running, mail_arg: str,
                                                                rcpt_arg: str) -> None:
    answers = _session(running.relay_port, mail_arg, rcpt_arg)
    for answer in answers:
        assert REPLY.match(answer), answers  # a reply, never a crash or silence
        assert not answer.startswith(b"500 Error: ("), answers  # aiosmtpd's report of an exception in a hook
    if answers[1].startswith(b"250"):
        assert not CONTROL.search(mail_arg), answers
    if len(answers) > 2 and answers[2].startswith(b"250"):
        assert not CONTROL.search(rcpt_arg), answers
    if len(answers) < 4:
        return
    assert answers[3].startswith(b"250 2.0.0 Ok: queued as"), answers
    stored = running.outbox.get(int(answers[3].split()[5]))
    sender, (recipient,) = stored.envelope_from, stored.recipients
    for address in (sender, recipient):
        assert address.isascii() and not CONTROL.search(address) and "@" in address and len(address) <= 254

    async def hand_on() -> None:
        await aiosmtplib.send(stored.raw, sender=sender, recipients=[recipient], hostname="127.0.0.1",
                              port=running.sink_port, start_tls=False, timeout=30)
    before = len(running.sink.messages)
    asyncio.run(hand_on())
    arrived = running.sink.messages[before]
    assert (arrived.mail_from, arrived.rcpt_tos) == (sender, [recipient])


def test_the_relay_still_answers_after_the_fuzzing(running: Running, tmp_path: Path) -> None:
    answers = _session(running.relay_port, "<app@example.com>", "<bob@example.net>")
    assert answers[-1].startswith(b"250 2.0.0"), answers
