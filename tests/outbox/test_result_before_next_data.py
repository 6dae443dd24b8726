"""The sender writes a message's result while the next message does MAIL and RCPT, but never hands the next
message's content over before that result is in the outbox: a crash then resends at most the message on the
wire (issue 16: duplicates after kill -9 bounded by what is in flight)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SinkHandler
from wizard.services.config import Config, DeliverySettings
from wizard.services.model import Profile, Security
from wizard.services.outbox import Outbox
from wizard.services.sender import Sender
from wizard.services.transports.base import PasswordCredential, Transport
from wizard.services.transports.smtp import SmtpSettings, SmtpTransport

PROFILE = Profile(name="main", from_address="app@example.com", host="127.0.0.1", security=Security.NONE,
                  allow_plaintext_loopback=True)
LOCK_HELD_S = 0.3


def _raw(number: int) -> bytes:
    return f"From: app@example.com\r\nTo: bob@example.net\r\nSubject: n{number}\r\n\r\nbody\r\n".encode()


@dataclass
class LocksTheOutboxAfterData(SinkHandler):
    """At each DATA, notes which messages the outbox already has as sent, then holds the outbox's write lock for
    a moment after answering (another program writing), so the sender cannot store this message's result
    before the next message's MAIL and RCPT."""

    outbox_path: Path | None = None
    sent_when_data_arrived: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert self.outbox_path is not None
        reader = sqlite3.connect(self.outbox_path)
        try:
            self.sent_when_data_arrived.append([
                bytes(raw).split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode()
                for (raw,) in reader.execute("SELECT raw FROM messages WHERE state = 'sent' ORDER BY id")])
        finally:
            reader.close()
        blocker = sqlite3.connect(self.outbox_path, timeout=0, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # still held from the previous message: the sender did not wait for it
            blocker.close()
        else:
            asyncio.get_running_loop().call_later(LOCK_HELD_S, lambda: (blocker.execute("COMMIT"), blocker.close()))
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.asyncio
async def test_a_message_s_content_goes_out_only_after_the_previous_result_is_stored(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    outbox = Outbox()
    handler = LocksTheOutboxAfterData(outbox_path=outbox.path)
    server = smtp_server("plain", handler=handler)
    for number in range(4):
        outbox.enqueue(_raw(number), profile="main", envelope_from="app@example.com", recipients=["bob@example.net"])

    async def transport(profile: Profile) -> Transport:
        settings = SmtpSettings(server.host, server.port, Security.NONE, allow_plaintext_loopback=True)
        return SmtpTransport(settings, PasswordCredential(GOOD_USER, GOOD_PASSWORD))

    config = Config(profiles={"main": PROFILE}, default_profile="main", delivery=DeliverySettings())
    assert await Sender(outbox, lambda: config, transport).drain() == 4

    assert handler.sent_when_data_arrived == [[], ["n0"], ["n0", "n1"], ["n0", "n1", "n2"]]
    assert outbox.counts().get("sent") == 4
