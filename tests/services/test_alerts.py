"""Alerts fire once per transition into trouble, and reach a webhook and a mailbox for real."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from pathlib import Path

import pytest
import pytest_asyncio
import trustme

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory, server_context
from wizard.services import accounts
from wizard.services.alerts import (
    Alert,
    AlertDispatcher,
    AlertTracker,
    post_webhook,
)
from wizard.services.config import ConfigStore
from wizard.services.health import HealthState, Issue, ProfileHealth
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.settings import AlertSettings
from wizard.services.validation import InvalidInputError


def _health(name: str, state: HealthState, *issues: Issue) -> ProfileHealth:
    return ProfileHealth(name=name, provider=Profile(name=name).provider, from_address=f"{name}@example.com",
                         is_default=False, state=state, issues=issues,
                         reasons=tuple(f"reason {i.value}" for i in issues))


OK = HealthState.OK


def test_an_alert_fires_once_when_a_profile_starts_failing_and_again_after_it_recovered() -> None:
    tracker = AlertTracker()
    assert tracker.update([_health("main", OK)]) == []
    [alert] = tracker.update([_health("main", HealthState.PAUSED, Issue.PAUSED)])
    assert (alert.profile, alert.state, alert.issues) == ("main", "paused", (Issue.PAUSED,))
    assert tracker.update([_health("main", HealthState.PAUSED, Issue.PAUSED)]) == []  # still paused: silence
    [worse] = tracker.update([_health("main", HealthState.PAUSED, Issue.PAUSED, Issue.SECRET_EXPIRING)])
    assert worse.issues == (Issue.SECRET_EXPIRING,)  # only what is new
    assert tracker.update([_health("main", OK)]) == []
    assert len(tracker.update([_health("main", HealthState.PAUSED, Issue.PAUSED)])) == 1


def test_plain_warnings_do_not_alert() -> None:
    tracker = AlertTracker()
    assert tracker.update([_health("main", HealthState.WARNING, Issue.RETRYING, Issue.LAST_MESSAGE_FAILED)]) == []
    [alert] = tracker.update([_health("main", HealthState.FAILING, Issue.REPEATED_TEMPORARY_FAILURES)])
    assert alert.issues == (Issue.REPEATED_TEMPORARY_FAILURES,)


def test_alerts_already_raised_are_not_repeated_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "alerts-state.json"
    assert len(AlertTracker(state).update([_health("main", HealthState.PAUSED, Issue.PAUSED)])) == 1
    assert AlertTracker(state).update([_health("main", HealthState.PAUSED, Issue.PAUSED)]) == []


def test_alert_settings_come_from_the_alerts_table_and_are_validated(data_home: Path) -> None:
    store = ConfigStore()
    assert store.load().alerts == AlertSettings()
    store.path.write_text('[alerts]\nemail_to = "it@example.com"\nvia_profile = "backup"\n'
                          'webhook_url = "https://hooks.example.com/x"\n', encoding="utf-8")
    assert store.load().alerts == AlertSettings("it@example.com", "backup", "https://hooks.example.com/x")
    for table, wrong in (('webhook_url = "ftp://x"', r"alerts\.webhook_url"),
                         ('webhook_url = "http://hooks.example.com/x?token=1"', r"alerts\.webhook_url.*https://"),
                         ('emial_to = "x@example.com"', r"Unknown setting alerts\.emial_to")):
        store.path.write_text(f"[alerts]\n{table}\n", encoding="utf-8")
        with pytest.raises(InvalidInputError, match=wrong):
            store.load()


@dataclass
class WebhookReceiver:
    status: int = 204
    bodies: list[dict[str, object]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    port: int = 0
    scheme: str = "https"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n")
                      if line.lower().startswith("content-length:"))
        self.headers.append(head)
        self.bodies.append(json.loads(await reader.readexactly(length)))
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/hook"


async def _receiving(context: ssl.SSLContext | None) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(scheme="https" if context else "http")
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=context)
    receiver.port = server.sockets[0].getsockname()[1]
    yield receiver
    server.close()
    await server.wait_closed()


@pytest_asyncio.fixture
async def webhook(trusted_ca: trustme.CA, ca_file: str, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver over TLS, its certificate trusted through SSL_CERT_FILE (as an admin's CA bundle)."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    async for receiver in _receiving(server_context(trusted_ca, "127.0.0.1", "localhost")):
        yield receiver


@pytest_asyncio.fixture
async def plain_http_webhook() -> AsyncIterator[WebhookReceiver]:
    async for receiver in _receiving(None):
        yield receiver


@pytest.mark.asyncio
async def test_the_webhook_receives_the_alert_as_json(webhook: WebhookReceiver) -> None:
    alert = Alert("main", "paused", "Paused: sign-in failed (2 held)", (Issue.PAUSED,), ("535 5.7.8 bad",), 1.0)
    delivery = await post_webhook(alert, webhook.url)
    assert (delivery.ok, delivery.detail) == (True, "HTTP 204")
    [body] = webhook.bodies
    assert body["profile"] == "main"
    assert body["issues"] == ["paused"]
    assert body["reasons"] == ["535 5.7.8 bad"]
    assert "POST /hook" in webhook.headers[0]


@pytest.mark.asyncio
async def test_a_plain_http_webhook_is_refused_even_when_the_settings_check_was_bypassed(
        plain_http_webhook: WebhookReceiver) -> None:
    """config.toml's loader refuses http://, but post_webhook must not rely on every caller having used it: the
    alert names profiles and failures, and a webhook URL often carries a token."""
    alert = Alert("main", "paused", "Paused", (Issue.PAUSED,), ("535 5.7.8 bad",), 1.0)
    delivery = await post_webhook(alert, plain_http_webhook.url)
    assert not delivery.ok
    assert "https://" in delivery.detail
    assert plain_http_webhook.headers == []  # nothing reached the plain-text receiver


@pytest.mark.asyncio
async def test_a_webhook_error_is_reported_not_raised(webhook: WebhookReceiver) -> None:
    webhook.status = 500
    alert = Alert("main", "failing", "Failing", (Issue.CHECK_FAILED,), (), 1.0)
    delivery = await post_webhook(alert, webhook.url)
    assert (delivery.ok, delivery.detail) == (False, "HTTP 500")


@pytest.mark.keyring
@pytest.mark.asyncio
async def test_an_alert_mail_goes_through_another_profile_and_reaches_the_mailbox(
        smtp_server: SmtpServerFactory, data_home: Path, profile_name: str, webhook: WebhookReceiver) -> None:
    sink = smtp_server("starttls")
    via = f"{profile_name}-via"
    failing = f"{profile_name}-main"
    store = ConfigStore()
    accounts.save_profile(Profile(name=via, from_address=GOOD_USER, host=sink.host, port=sink.port,
                                  security=Security.STARTTLS, username=GOOD_USER, ca_file=sink.ca_file),
                          GOOD_PASSWORD, store)
    accounts.save_profile(Profile(name=failing, from_address="app@example.com", host="127.0.0.1", port=1), None, store)
    try:
        outbox = Outbox()
        settings = AlertSettings(email_to="it@example.com", via_profile=via, webhook_url=webhook.url)
        dispatcher = AlertDispatcher(outbox, lambda: replace(store.load(), alerts=settings))
        alerts = await dispatcher.process([_health(failing, HealthState.PAUSED, Issue.PAUSED)])
        assert [a.profile for a in alerts] == [failing]
        assert [(d.channel, d.ok) for d in dispatcher.deliveries] == [("email", True), ("webhook", True)]
        [queued] = outbox.messages()
        assert (queued.profile, queued.priority) == (via, 1)
        await Sender(outbox, store.load).run_once()
        assert outbox.get(queued.id).state is MessageState.SENT
        [received] = sink.messages
        mail = message_from_bytes(received.data)
        assert received.rcpt_tos == ["it@example.com"]
        assert mail["Subject"] == f"[Mailwright] {failing}: Paused: sign-in failed"
        assert "reason paused" in mail.get_payload()
        # the same state on the next refresh: nothing more is sent
        assert await dispatcher.process([_health(failing, HealthState.PAUSED, Issue.PAUSED)]) == []
        assert len(outbox.messages()) == 1
    finally:
        accounts.remove_profile(via, store)
        accounts.remove_profile(failing, store)


@pytest.mark.asyncio
async def test_the_failing_profile_never_sends_its_own_alert(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="only", from_address="app@example.com", host="127.0.0.1"))
    outbox = Outbox()
    dispatcher = AlertDispatcher(outbox, lambda: replace(store.load(), alerts=AlertSettings(email_to="it@example.com")))
    await dispatcher.process([_health("only", HealthState.PAUSED, Issue.PAUSED)])
    [delivery] = dispatcher.deliveries
    assert not delivery.ok
    assert "cannot send its own alert" in delivery.detail
    assert outbox.messages() == []
