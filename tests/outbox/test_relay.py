"""The loopback relay: 250 only once the message is in the outbox, policy enforced at MAIL FROM."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from wizard.services.config import Config
from wizard.services.model import Profile
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


@pytest.mark.asyncio
async def test_concurrent_submissions_are_each_committed_before_their_250(data_home: Path) -> None:
    import asyncio

    outbox = Outbox()
    port = free_port()
    woken: list[int] = []
    server = await start_relay(outbox, lambda: CONFIG, "127.0.0.1", port, on_queued=lambda: woken.append(1))
    try:
        def submit(number: int) -> bytes:
            body = f"From: app@example.com\r\nMessage-ID: <c{number}@example.com>\r\n\r\nhi\r\n".encode()
            code, reply = _submit(port, "app@example.com", body)
            assert code == 250
            # The 250 names the row: it must already be readable through a fresh connection.
            row_id = int(reply.split()[4])
            assert Outbox().get(row_id).message_id == f"<c{number}@example.com>"
            return reply
        replies = await asyncio.gather(*(asyncio.to_thread(submit, n) for n in range(8)))
        assert len(set(replies)) == 8 and len(outbox.messages()) == 8 and len(woken) == 8
    finally:
        server.close()
        await server.wait_closed()


def test_serve_refuses_a_network_address_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.cli import main

    assert main(["serve", "--relay", "0.0.0.0:2525"]) == 2
    assert "loopback-only" in capsys.readouterr().err
    assert main(["serve", "--relay", "0.0.0.0:2525", "--allow-remote"]) == 2
    assert "requires TLS and AUTH" in capsys.readouterr().err


def test_the_cached_config_is_reread_only_after_config_toml_changes(data_home: Path) -> None:
    from wizard.services.config import ConfigStore
    from wizard.services.config_cache import CachedConfigLoader

    store = ConfigStore()
    store.save_profile(Profile(name="main", host="smtp.example.com"))
    load = CachedConfigLoader(store)
    first = load()
    assert load() is first  # unchanged file: no second parse
    store.save_profile(Profile(name="erp", host="smtp.example.com"))
    assert set(load().profiles) == {"main", "erp"}
