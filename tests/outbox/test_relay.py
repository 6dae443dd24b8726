"""The loopback relay: 250 only once the message is in the outbox, policy enforced at MAIL FROM."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from wizard.services.config import Config, Profile
from wizard.services.outbox import MessageState, Outbox
from wizard.services.relay import RelayConfigError, start_relay

PROFILES = {
    "main": Profile(name="main", from_address="app@example.com", authorized_domains=("example.com",)),
    "erp": Profile(name="erp", from_address="erp@example.com", priority=1),
}
CONFIG = Config(profiles=PROFILES, default_profile="main")


def _submit(port: int, sender: str, body: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt("bob@example.net")
        return client.data(body)


@pytest.mark.asyncio
async def test_submission_is_queued_before_250_and_routed_by_from(data_home: Path) -> None:
    import asyncio

    outbox = Outbox()
    port = free_port()
    server = await start_relay(outbox, lambda: CONFIG, "127.0.0.1", port)
    try:
        code, reply = await asyncio.to_thread(_submit, port, "erp@example.com",
                                              b"From: erp@example.com\r\nSubject: x\r\n\r\nhello\r\n")
        assert code == 250
        stored = outbox.messages()
        assert len(stored) == 1 and stored[0].message_id.encode() in reply
        assert stored[0].profile == "erp" and stored[0].priority == 1 and stored[0].state is MessageState.QUEUED
        assert stored[0].recipients == ("bob@example.net",)
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_unauthorised_sender_is_refused_at_mail_from(data_home: Path) -> None:
    import asyncio

    outbox = Outbox()
    port = free_port()
    server = await start_relay(outbox, lambda: CONFIG, "127.0.0.1", port)
    try:
        def mail_from() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.ehlo()
                return client.mail("spoof@evil.test")
        code, reply = await asyncio.to_thread(mail_from)
        assert code == 550 and b"not an authorised sender" in reply
        assert outbox.messages() == []
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_remote_bind_needs_explicit_flag_and_tls_with_auth(data_home: Path) -> None:
    with pytest.raises(RelayConfigError, match="loopback-only"):
        await start_relay(Outbox(), lambda: CONFIG, "0.0.0.0", free_port())
    with pytest.raises(RelayConfigError, match="requires TLS and AUTH"):
        await start_relay(Outbox(), lambda: CONFIG, "0.0.0.0", free_port(), allow_remote=True)
