"""Several accounts: an ordered fallback per profile, recorded in the outbox and in the log (issue 7)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SinkHandler, refused_port
from wizard.services.config import Config, ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.settings import DeliverySettings
from wizard.services.transports.base import PasswordCredential, Transport
from wizard.services.transports.smtp import SmtpSettings, SmtpTransport
from wizard.services.validation import InvalidInputError


def _profile(name: str, port: int, fallback: tuple[str, ...] = ()) -> Profile:
    return Profile(name=name, from_address="app@example.com", host="127.0.0.1", port=port, username=GOOD_USER,
                   security=Security.NONE, allow_plaintext_loopback=True, fallback=fallback)


class Accounts:
    """Profiles pointing at real loopback sinks; passwords per profile so a test can break one account."""

    def __init__(self, profiles: list[Profile]) -> None:
        self.passwords = {p.name: GOOD_PASSWORD for p in profiles}
        self.config = Config(profiles={p.name: p for p in profiles}, default_profile=profiles[0].name,
                             delivery=DeliverySettings())
        self.outbox = Outbox()
        self.sender = Sender(self.outbox, lambda: self.config, self.transport, jitter=lambda: 1.0)

    async def transport(self, profile: Profile) -> Transport:
        settings = SmtpSettings(profile.host, profile.port, Security.NONE, allow_plaintext_loopback=True,
                                timeout_s=5)
        return SmtpTransport(settings, PasswordCredential(GOOD_USER, self.passwords[profile.name]))

    def enqueue(self, profile: str = "primary") -> int:
        message = EmailMessage()
        message["From"] = "app@example.com"
        message["To"] = "bob@example.net"
        message["Subject"] = "Invoice"
        message.set_content("numbers")
        return self.outbox.enqueue(message, profile=profile).id


@pytest.fixture
def two_sinks(smtp_server: Callable[..., RunningSmtpServer]) -> tuple[RunningSmtpServer, RunningSmtpServer]:
    return smtp_server("plain", auth_require_tls=False), smtp_server("plain", auth_require_tls=False)


@pytest.mark.asyncio
async def test_auth_failure_on_the_primary_is_delivered_by_the_fallback(
        two_sinks: tuple[RunningSmtpServer, RunningSmtpServer], caplog: pytest.LogCaptureFixture) -> None:
    primary, backup = two_sinks
    accounts = Accounts([_profile("primary", primary.port, ("backup",)), _profile("backup", backup.port)])
    accounts.passwords["primary"] = "revoked"
    first, second = accounts.enqueue(), accounts.enqueue()
    with caplog.at_level(logging.INFO, logger="wizard.services.sender"):
        assert await accounts.sender.drain() == 2
    for message_id in (first, second):
        delivered = accounts.outbox.get(message_id)
        assert delivered.state is MessageState.SENT and delivered.delivered_by == "backup"
    assert len(backup.messages) == 2 and primary.messages == []
    assert accounts.sender.paused["primary"].code == "auth_failed"
    assert "delivered by fallback profile backup" in caplog.text
    # Mail keeps flowing through the fallback while the primary stays paused: nothing is held.
    third = accounts.enqueue()
    await accounts.sender.drain()
    assert accounts.outbox.get(third).delivered_by == "backup"
    assert accounts.outbox.counts() == {MessageState.SENT: 3}


@pytest.mark.asyncio
async def test_unreachable_primary_falls_back_and_a_healthy_primary_is_used_first(
        smtp_server: Callable[..., RunningSmtpServer]) -> None:
    backup = smtp_server("plain", auth_require_tls=False)
    accounts = Accounts([_profile("primary", refused_port(), ("backup",)), _profile("backup", backup.port)])
    message_id = accounts.enqueue()
    await accounts.sender.drain()
    assert accounts.outbox.get(message_id).delivered_by == "backup"
    assert "primary" not in accounts.sender.paused  # a transient failure does not pause the account
    healthy = smtp_server("plain", auth_require_tls=False)
    accounts.config.profiles["primary"] = _profile("primary", healthy.port, ("backup",))
    again = accounts.enqueue()
    await accounts.sender.drain()
    assert accounts.outbox.get(again).delivered_by == "primary" and len(healthy.messages) == 1


@pytest.mark.asyncio
async def test_a_permanent_rejection_is_not_retried_through_the_fallback(
        smtp_server: Callable[..., RunningSmtpServer]) -> None:
    primary = smtp_server("plain", auth_require_tls=False,
                          handler=SinkHandler(data_replies=["554 5.7.1 Message rejected: spam"]))
    backup = smtp_server("plain", auth_require_tls=False)
    accounts = Accounts([_profile("primary", primary.port, ("backup",)), _profile("backup", backup.port)])
    message_id = accounts.enqueue()
    await accounts.sender.drain()
    assert accounts.outbox.get(message_id).state is MessageState.FAILED
    assert backup.messages == []


@pytest.mark.asyncio
async def test_when_every_account_of_the_route_fails_auth_the_mail_is_held(
        two_sinks: tuple[RunningSmtpServer, RunningSmtpServer]) -> None:
    primary, backup = two_sinks
    accounts = Accounts([_profile("primary", primary.port, ("backup",)), _profile("backup", backup.port)])
    accounts.passwords = {"primary": "revoked", "backup": "revoked too"}
    first, second = accounts.enqueue(), accounts.enqueue()
    await accounts.sender.drain()
    assert {accounts.outbox.get(i).state for i in (first, second)} == {MessageState.HELD}
    assert set(accounts.outbox.paused_profiles()) == {"primary", "backup"}


def test_fallback_round_trips_through_toml_and_is_validated(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="backup", host="smtp.example.net"))
    store.save_profile(Profile(name="spare", host="smtp.example.org"))
    store.save_profile(Profile(name="primary", host="smtp.example.com", fallback=("backup", "spare")))
    assert 'fallback = ["backup", "spare"]' in store.path.read_text()
    assert store.load().profiles["primary"].fallback == ("backup", "spare")
    with pytest.raises(InvalidInputError, match="own fallback"):
        Profile(name="primary", from_address="a@example.com", host="smtp.example.com",
                fallback=("primary",)).validated()
    with pytest.raises(InvalidInputError, match="not a configured profile"):
        store.save_profile(Profile(name="other", host="smtp.example.com", fallback=("nobody",)))
    store.remove_profile("backup")
    assert store.load().profiles["primary"].fallback == ("spare",)


def test_an_outbox_from_before_fallback_is_migrated(data_home: Path) -> None:
    path = data_home / "outbox.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript("""
            CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL,
              profile TEXT NOT NULL, priority INTEGER NOT NULL, envelope_from TEXT NOT NULL, recipients TEXT NOT NULL,
              pending_recipients TEXT NOT NULL, raw BLOB NOT NULL, state TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, first_attempt_at REAL,
              next_attempt_at REAL NOT NULL, lease_until REAL, last_reply TEXT NOT NULL DEFAULT '',
              diagnosis_code TEXT NOT NULL DEFAULT '', recipient_results TEXT NOT NULL DEFAULT '{}',
              updated_at REAL NOT NULL);
            INSERT INTO messages (message_id, profile, priority, envelope_from, recipients, pending_recipients, raw,
              state, created_at, next_attempt_at, updated_at)
              VALUES ('<old@example.com>', 'main', 3, 'a@example.com', '["b@example.net"]', '["b@example.net"]',
                      X'00', 'queued', 1, 1, 1);
        """)
    old.close()
    outbox = Outbox()
    (message,) = outbox.messages()
    assert message.message_id == "<old@example.com>" and message.delivered_by == ""
    claimed = outbox.claim()
    assert claimed is not None
    outbox.mark_sent(claimed.id, "250 ok", {}, delivered_by="main")
    assert outbox.get(claimed.id).delivered_by == "main"
    assert outbox.paused_profiles() == {}


def test_profile_add_takes_a_fallback_list(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.cli import main

    common = ["--host", "127.0.0.1", "--security", "none", "--allow-plaintext-loopback", "--username", ""]
    assert main(["profile", "add", "backup", "--from", "app@example.com", *common]) == 0
    assert main(["profile", "add", "primary", "--from", "app@example.com", *common, "--fallback", "backup"]) == 0
    assert ConfigStore().load().profiles["primary"].fallback == ("backup",)
    assert main(["profile", "add", "broken", "--from", "app@example.com", *common, "--fallback", "nobody"]) == 2
    assert "not a configured profile" in capsys.readouterr().err
