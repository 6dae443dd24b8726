"""Urgent mail goes next (MailUp SMTP+): a priority-1 message that arrives while a burst of priority-5 mail is
being sent reaches the receiving server right after the message already on the wire, before the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
                  allow_plaintext_loopback=True, priority=5)


def _raw(subject: str, priority_header: str = "") -> bytes:
    extra = f"{priority_header}\r\n" if priority_header else ""
    return (f"From: app@example.com\r\nTo: bob@example.net\r\nSubject: {subject}\r\n{extra}\r\nbody\r\n").encode()


@dataclass
class UrgentArrives(SinkHandler):
    """Receives the burst; when the first message lands, the application submits an urgent one."""

    outbox_path: Path | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == 1 and self.outbox_path is not None:
            Outbox(self.outbox_path).enqueue(_raw("urgent", "X-Priority: 1 (Highest)"), profile="main",
                                             envelope_from="app@example.com", recipients=["bob@example.net"],
                                             priority=1)
        return reply


@pytest.mark.asyncio
async def test_a_priority_1_message_queued_behind_20_priority_5_ones_is_sent_next(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    outbox = Outbox()
    handler = UrgentArrives(outbox_path=outbox.path)
    server = smtp_server("plain", handler=handler)
    for number in range(20):
        outbox.enqueue(_raw(f"burst {number}"), profile="main", envelope_from="app@example.com",
                       recipients=["bob@example.net"], priority=5)

    async def transport(profile: Profile) -> Transport:
        settings = SmtpSettings(server.host, server.port, Security.NONE, allow_plaintext_loopback=True)
        return SmtpTransport(settings, PasswordCredential(GOOD_USER, GOOD_PASSWORD))

    config = Config(profiles={"main": PROFILE}, default_profile="main", delivery=DeliverySettings())
    sender = Sender(outbox, lambda: config, transport)
    assert await sender.drain() == 21
    subjects = [message.data.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode() for message in handler.messages]
    assert subjects[:3] == ["burst 0", "urgent", "burst 1"]
    assert sorted(subjects) == sorted(["urgent", *(f"burst {n}" for n in range(20))])
