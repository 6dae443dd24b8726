"""Alert mails take the one way in, and an unauthorised sender let through with an alert reaches the admin.

Real parts: an aiosmtpd sink with STARTTLS and AUTH (the password from the real keyring), an HTTPS webhook
on loopback (trustme), the relay in its own process, the sender of a services object on the test's data home.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import SMTP, default
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import wizard
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SmtpServerFactory, free_port
from tests.fixtures.webhook import HttpsWebhook, https_webhook
from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.services import accounts
from wizard.services.alerts import AlertDispatcher, AlertEventLimiter, sender_policy_alert
from wizard.services.app_services import Services
from wizard.services.config import ConfigStore
from wizard.services.health import HealthState, Issue, ProfileHealth
from wizard.services.model import Profile, Security
from wizard.services.relay_process import RelayProcess, RelaySpec
from wizard.services.settings import AlertSettings
from wizard.services.submission import QueuedMessage

__all__ = ["https_webhook"]

pytestmark = pytest.mark.keyring

ADMIN = "it@example.com"
INTRUDER = "intruder@evil.example"
POSTMASTER = "postmaster@example.com"


@dataclass
class Home:
    """A data home with two accounts on one sink: `main` lets other senders through with an alert, `via` sends
    the alerts (with a display name and a forced postmaster, so the submission rules show in what arrives)."""

    store: ConfigStore
    sink: RunningSmtpServer
    main: Profile
    via: Profile

    def alerts_to(self, webhook_url: str = "") -> None:
        self.store.set_table_value("alerts", "email_to", ADMIN)
        self.store.set_table_value("alerts", "via_profile", self.via.name)
        if webhook_url:
            self.store.set_table_value("alerts", "webhook_url", webhook_url)

    def arrived(self) -> list[tuple[list[str], Message]]:
        return [(m.rcpt_tos, message_from_bytes(m.data, policy=default)) for m in self.sink.messages]


@pytest.fixture
def home(smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> Iterator[Home]:
    sink = smtp_server("starttls")
    store = ConfigStore()
    account = Profile(name="account", from_address=GOOD_USER, host=sink.host, port=sink.port,
                      security=Security.STARTTLS, username=GOOD_USER, ca_file=sink.ca_file)
    main = accounts.save_profile(replace(account, name=f"{profile_name}-main", authorized_senders=(GOOD_USER,),
                                         unauthorized_action="alert"), GOOD_PASSWORD, store)
    via = accounts.save_profile(replace(account, name=f"{profile_name}-via", display_name="Example Ops",
                                        postmaster=POSTMASTER, force_postmaster_sender=True), GOOD_PASSWORD, store)
    store.set_default(main.name)
    try:
        yield Home(store, sink, main, via)
    finally:
        for profile in (main, via):
            accounts.remove_profile(profile.name, store)


def _intruder_mail(subject: str = "from outside") -> EmailMessage:
    message = EmailMessage()
    message["From"] = INTRUDER
    message["To"] = "bob@example.net"
    message["Subject"] = subject
    message.set_content("hello")
    return message


def _health(name: str) -> ProfileHealth:
    return ProfileHealth(name=name, provider=Profile(name=name).provider, from_address=GOOD_USER, is_default=True,
                         state=HealthState.PAUSED, issues=(Issue.PAUSED,), reasons=("535 5.7.8 bad",))


@pytest.mark.asyncio
async def test_an_alert_mail_gets_the_rules_of_every_message(home: Home) -> None:
    home.alerts_to()
    services = Services.open()
    assert [a.profile for a in await services.alerts.process([_health(home.main.name)])] == [home.main.name]
    [delivery] = services.alerts.deliveries
    assert delivery.ok, delivery.detail
    [queued] = services.outbox.messages()
    assert (queued.profile, queued.priority, queued.envelope_from) == (home.via.name, 1, POSTMASTER)
    assert await services.sender().drain() == 1
    [(rcpt_tos, mail)] = home.arrived()
    assert rcpt_tos == [ADMIN]
    # the forced postmaster with the account's display name, the original From kept as Reply-To
    assert mail["From"] == f"Example Ops <{POSTMASTER}>"
    assert mail["Reply-To"] == f"Example Ops <{GOOD_USER}>"
    assert mail["Date"] and mail["Message-ID"].endswith("@example.com>")
    assert mail["Subject"].strip().startswith(f"[Mailwright] {home.main.name}: Paused")


@pytest.mark.asyncio
async def test_an_alert_mail_the_sending_accounts_policy_blocks_is_not_queued(home: Home) -> None:
    home.alerts_to()
    home.store.save_profile(replace(home.via, force_postmaster_sender=False, authorized_domains=("other.example",)))
    services = Services.open()
    await services.alerts.process([_health(home.main.name)])
    [delivery] = services.alerts.deliveries
    assert not delivery.ok
    assert f"refused by the rules of profile '{home.via.name}'" in delivery.detail
    assert GOOD_USER in delivery.detail  # the From: the policy refused
    assert services.outbox.messages() == []


@pytest.mark.asyncio
async def test_wizard_submit_raises_an_unauthorised_sender_through_the_alert_channels(
        home: Home, https_webhook: HttpsWebhook) -> None:
    home.alerts_to(https_webhook.url)
    services = Services.open()
    queued = await asyncio.to_thread(wizard.submit, _intruder_mail(), services=services)
    assert queued.profile == home.main.name and queued.alerts
    await _alerts_sent(services)
    [body] = https_webhook.received()
    assert (body["profile"], body["issues"]) == (home.main.name, ["unauthorized_sender"])
    assert INTRUDER in str(body["reasons"])
    alert_mail = [m for m in services.outbox.messages() if m.profile == home.via.name]
    assert [(m.recipients, m.priority) for m in alert_mail] == [((ADMIN,), 1)]
    # the second one within the hour is counted, not alerted: the webhook and the outbox got nothing more
    await asyncio.to_thread(wizard.submit, _intruder_mail("again"), services=services)
    await _alerts_sent(services)
    assert len(https_webhook.received()) == 1
    assert len([m for m in services.outbox.messages() if m.profile == home.via.name]) == 1


async def _alerts_sent(services: Services) -> None:
    for thread in services.alert_threads:
        await asyncio.to_thread(thread.join, 30)


@pytest.mark.asyncio
async def test_a_webhook_that_does_not_answer_does_not_hold_the_submission(
        home: Home, https_webhook: HttpsWebhook) -> None:
    """The message is queued before the alert goes out; the alert takes its own time (the webhook's 10 s timeout
    held every such submission while the webhook did not answer)."""
    home.alerts_to(https_webhook.url)
    https_webhook.gate = threading.Event()
    services = Services.open()
    queued = await asyncio.to_thread(wizard.submit, _intruder_mail(), services=services)
    assert queued.alerts and services.outbox.get(queued.id).state.value == "queued"
    https_webhook.gate.set()  # the webhook answers only now that the submission has returned
    await _alerts_sent(services)
    assert [(d.channel, d.ok) for d in services.alerts.deliveries] == [("email", True), ("webhook", True)]


def _relay(port: int, *subjects: str) -> list[int]:
    """Each message's reply code to DATA."""
    codes = []
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        for subject in subjects:
            client.mail(INTRUDER)
            client.rcpt("bob@example.net")
            code, _ = client.data(_intruder_mail(subject).as_bytes(policy=SMTP))
            codes.append(code)
    return codes


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_relay_raises_an_unauthorised_sender_once_through_the_dispatcher(
        home: Home, https_webhook: HttpsWebhook) -> None:
    home.alerts_to(https_webhook.url)
    services = Services.open()
    port = free_port()
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, services.outbox.path))
    await relay.start()
    try:
        assert await asyncio.to_thread(_relay, port, "first", "second") == [250, 250]
    finally:
        await relay.stop()  # the child lets the alerts under way finish before it exits
    [body] = https_webhook.received()
    assert (body["profile"], body["issues"], body["label"]) == (
        home.main.name, ["unauthorized_sender"], "Mail from an unauthorised sender was queued")
    assert await services.sender().drain() == 3  # the two messages as the policy allowed, and one alert mail
    alerts = [(rcpt_tos, mail) for rcpt_tos, mail in home.arrived() if rcpt_tos == [ADMIN]]
    assert len(alerts) == 1
    [(_, mail)] = alerts
    # (the email package folds a subject this long onto the next line: the space is the fold's)
    assert mail["Subject"].strip() == f"[Mailwright] {home.main.name}: Mail from an unauthorised sender was queued"
    assert mail["From"] == f"Example Ops <{POSTMASTER}>"
    assert isinstance(mail, EmailMessage) and INTRUDER in mail.get_content()


def test_an_event_alerts_once_per_quiet_time_then_counts_what_it_kept_quiet(tmp_path: Path) -> None:
    state = tmp_path / "alert-events.json"
    limiter = AlertEventLimiter(state, quiet_s=3600)
    assert limiter.claim("main", Issue.UNAUTHORIZED_SENDER, now=1000.0) == 0
    assert limiter.claim("main", Issue.UNAUTHORIZED_SENDER, now=1500.0) is None
    assert limiter.claim("other", Issue.UNAUTHORIZED_SENDER, now=1500.0) == 0  # per profile
    # another process (a new limiter on the same file) sees the same times
    assert AlertEventLimiter(state, quiet_s=3600).claim("main", Issue.UNAUTHORIZED_SENDER, now=2000.0) is None
    assert limiter.claim("main", Issue.UNAUTHORIZED_SENDER, now=4601.0) == 2


@pytest.mark.asyncio
async def test_the_alert_after_a_quiet_time_says_how_many_were_kept_quiet(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com"))
    services = Services.open()
    dispatcher = AlertDispatcher(services.outbox, lambda: replace(store.load(), alerts=AlertSettings()),
                                 events=AlertEventLimiter(quiet_s=3600))
    queued = QueuedMessage(1, "<1@example.com>", "main", 3, INTRUDER, ("bob@example.net",),
                           (f"{INTRUDER} is not an authorised sender for profile 'main'.",))
    first = await dispatcher.raise_event(sender_policy_alert(queued, now=1000.0))
    assert first is not None and INTRUDER in first.reasons[0]
    assert await dispatcher.raise_event(sender_policy_alert(queued, now=1001.0)) is None
    later = await dispatcher.raise_event(sender_policy_alert(queued, now=5000.0))
    assert later is not None
    assert later.reasons[-1] == "1 more like it since the last alert were not alerted on their own."


@pytest.mark.gui
@pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
@pytest.mark.asyncio
async def test_the_main_windows_test_mail_raises_the_alert_of_its_account_too(
        home: Home, https_webhook: HttpsWebhook, qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from tests.gui.conftest import SignalWaiter
    from wizard.dialogs.outbox_test_mail import OutboxTestMailDialog

    home.alerts_to(https_webhook.url)
    # the account's own address is not among its authorised senders: its test mail goes out with an alert
    home.store.save_profile(replace(home.main, authorized_senders=("someone@example.com",)))
    services = Services.open()
    deliveries: list[asyncio.Task[int]] = []
    dialog = OutboxTestMailDialog(services.config().profile(home.main.name), services.outbox, poll_s=0.05,
                                  wake=lambda: deliveries.append(asyncio.ensure_future(services.sender().drain())),
                                  alerts=services.alerts)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.to.setText("bob@example.net")
    finished = SignalWaiter(dialog.send_finished)
    qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    (accepted,) = await finished.wait()
    await dialog.tasks.wait()
    assert [await delivery for delivery in deliveries] == [2]  # the test mail and the alert mail
    assert accepted, dialog.status.text()
    [body] = https_webhook.received()
    assert (body["profile"], body["issues"]) == (home.main.name, ["unauthorized_sender"])
    assert GOOD_USER in str(body["reasons"])
    assert sorted(rcpt_tos for rcpt_tos, _ in home.arrived()) == [["bob@example.net"], [ADMIN]]
