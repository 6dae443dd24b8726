"""Relay users as MailUp SMTP+ has them (issue 17), against the real loopback relay and the real keyring:
sign-in required or not, active and inactive users, each user's own policy, priority and profile, password
reset, and the counts per user."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fixtures.smtp_servers import free_port
from wizard.services import relay_user_admin, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox
from wizard.services.relay import RelayConfigError, start_relay
from wizard.services.relay_users import RelayUser

pytestmark = pytest.mark.keyring

PASSWORD = "erp relay password 1"
BODY = b"From: erp@example.com\r\nTo: bob@example.net\r\nSubject: Invoice\r\n\r\nhello\r\n"


@pytest.fixture
def store(data_home: Path) -> Iterator[ConfigStore]:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", priority=3))
    store.save_profile(Profile(name="erp", from_address="erp@example.com", priority=4))
    store.set_table_value("relay", "require_auth", True)
    relay_user_admin.add_user(store, RelayUser("erp-server", priority=2, note="ERP on srv-erp-01",
                                               authorized_domains=("example.com",)), PASSWORD)
    yield store
    for name in ("erp-server", "shop"):
        secrets.delete_relay_password(name)


@pytest_asyncio.fixture
async def relay(store: ConfigStore) -> AsyncIterator[tuple[int, Outbox]]:
    outbox = Outbox()
    port = free_port()
    server = await start_relay(outbox, store.load, "127.0.0.1", port)
    try:
        yield port, outbox
    finally:
        server.close()
        await server.wait_closed()


def _send(port: int, *, login: tuple[str, str] | None, sender: str = "erp@example.com", body: bytes = BODY,
          mechanism: str = "PLAIN") -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        if login is not None:
            client.user, client.password = login
            code, reply = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"),
                                      initial_response_ok=mechanism == "PLAIN")
            if code != 235:
                return code, reply
        code, reply = client.mail(sender)
        if code != 250:
            return code, reply
        client.rcpt("bob@example.net")
        return client.data(body)


async def _attempt(port: int, **kwargs: object) -> tuple[int, bytes]:
    try:
        return await asyncio.to_thread(_send, port, **kwargs)  # type: ignore[arg-type]
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code, exc.smtp_error


@pytest.mark.asyncio
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_with_sign_in_required_mail_without_auth_gets_530_and_a_user_gets_in(
        relay: tuple[int, Outbox], mechanism: str) -> None:
    port, outbox = relay
    code, _ = await _attempt(port, login=None)
    assert code == 530
    code, reply = await _attempt(port, login=("erp-server", PASSWORD), mechanism=mechanism)
    assert code == 250, reply
    [stored] = outbox.summaries()
    assert (stored.profile, stored.priority) == ("erp", 2)  # the user's priority 2 beats the profile's 4


@pytest.mark.asyncio
async def test_a_wrong_password_and_an_inactive_user_get_535(relay: tuple[int, Outbox], store: ConfigStore) -> None:
    port, outbox = relay
    assert (await _attempt(port, login=("erp-server", "wrong password!!")))[0] == 535
    relay_user_admin.update_user(store, RelayUser("erp-server", active=False, priority=2,
                                                  authorized_domains=("example.com",)))
    assert (await _attempt(port, login=("erp-server", PASSWORD)))[0] == 535
    assert outbox.summaries() == []


@pytest.mark.asyncio
async def test_the_users_own_policy_blocks_or_alerts_in_addition_to_the_profiles(
        relay: tuple[int, Outbox], store: ConfigStore, caplog: pytest.LogCaptureFixture) -> None:
    port, outbox = relay
    store.save_profile(Profile(name="other", from_address="news@other.example"))
    code, reply = await _attempt(port, login=("erp-server", PASSWORD), sender="news@other.example",
                                 body=BODY.replace(b"erp@example.com", b"news@other.example"))
    assert code == 550 and b"relay user 'erp-server'" in reply
    relay_user_admin.update_user(store, RelayUser("erp-server", priority=2, authorized_domains=("example.com",),
                                                  unauthorized_action="alert"))
    code, reply = await _attempt(port, login=("erp-server", PASSWORD), sender="news@other.example",
                                 body=BODY.replace(b"erp@example.com", b"news@other.example"))
    assert code == 250, reply
    assert "not an authorised sender for relay user 'erp-server'" in caplog.text
    assert [m.profile for m in outbox.summaries()] == ["other"]


@pytest.mark.asyncio
async def test_the_users_profile_and_the_messages_own_priority_header(
        relay: tuple[int, Outbox], store: ConfigStore) -> None:
    port, outbox = relay
    relay_user_admin.add_user(store, RelayUser("shop", priority=5, profile="main"), "shop relay password")
    urgent = BODY.replace(b"Subject: Invoice", b"Importance: high\r\nSubject: Reset")
    code, reply = await _attempt(port, login=("shop", "shop relay password"), sender="app@example.com",
                                 body=urgent.replace(b"erp@example.com", b"app@example.com"))
    assert code == 250, reply
    [stored] = outbox.summaries()
    assert (stored.profile, stored.priority) == ("main", 1)


@pytest.mark.asyncio
async def test_a_reset_password_replaces_the_old_one_and_is_never_readable_again(
        relay: tuple[int, Outbox], store: ConfigStore) -> None:
    port, _outbox = relay
    new = relay_user_admin.reset_password(store, "erp-server")
    assert len(new) >= 24 and new != PASSWORD
    assert (await _attempt(port, login=("erp-server", PASSWORD)))[0] == 535
    assert (await _attempt(port, login=("erp-server", new)))[0] == 250
    views = relay_user_admin.list_users(store, Outbox().path)
    assert new not in repr(views) and new not in (store.path.read_text())


@pytest.mark.asyncio
async def test_counts_per_user_follow_what_became_of_the_mail(relay: tuple[int, Outbox], store: ConfigStore) -> None:
    port, outbox = relay
    for _ in range(3):
        assert (await _attempt(port, login=("erp-server", PASSWORD)))[0] == 250
    first = outbox.claim_batch(limit=1)[0]
    outbox.mark_sent(first.id, "250 ok", {})
    [view] = relay_user_admin.list_users(store, outbox.path)
    day = view.counts["24h"]
    assert (day.accepted, day.sent, day.failed, day.held) == (3, 1, 0, 0)
    assert view.last_used_at is not None and view.has_password
    assert {m.state for m in outbox.summaries()} == {MessageState.SENT, MessageState.QUEUED}


@pytest.mark.asyncio
async def test_sign_in_required_without_any_user_refuses_to_start(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com"))
    store.set_table_value("relay", "require_auth", True)
    with pytest.raises(RelayConfigError, match="relay user add"):
        await start_relay(Outbox(), store.load, "127.0.0.1", free_port())
