"""The main window with two accounts on local SMTP servers: health, test mail through the outbox, pause, resume."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget

from tests.dns.server import dns_server
from tests.dns.zones import ZONE
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SmtpServerFactory, free_port
from tests.fixtures.waiting import eventually
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from wizard.main_window import MainWindow
from wizard.pages.ids import PageId
from wizard.services import accounts, secrets
from wizard.services.alerts import AlertDispatcher, AlertTracker
from wizard.services.app_services import Services
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.health import DnsVerdictStore
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


async def _dispose(window: MainWindow, delivery: BackgroundDelivery | None = None) -> None:
    """End the window's work, stop the delivery it was given (if started here), and let Qt delete it."""
    await window.shutdown()
    if delivery is not None:
        await delivery.stop()
    window.close()
    window.deleteLater()


@dataclass
class App:
    window: MainWindow
    delivery: BackgroundDelivery
    outbox: Outbox
    store: ConfigStore
    main: str
    backup: str
    main_server: RunningSmtpServer
    backup_server: RunningSmtpServer

    async def refresh(self) -> None:
        await self.window.refresh()


def _profile(name: str, server: RunningSmtpServer) -> Profile:
    return Profile(name=name, from_address=GOOD_USER, host=server.host, port=server.port,
                   security=Security.STARTTLS, username=GOOD_USER, ca_file=server.ca_file)


@dataclass
class Accounts:
    store: ConfigStore
    main: str
    backup: str
    main_server: RunningSmtpServer
    backup_server: RunningSmtpServer


@pytest.fixture
def two_accounts(smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> Iterator[Accounts]:
    main_server, backup_server = smtp_server("starttls"), smtp_server("starttls")
    store = ConfigStore()
    main, backup = f"{profile_name}-main", f"{profile_name}-backup"
    accounts.save_profile(_profile(main, main_server), GOOD_PASSWORD, store)
    accounts.save_profile(_profile(backup, backup_server), GOOD_PASSWORD, store)
    yield Accounts(store, main, backup, main_server, backup_server)
    for name in (main, backup):
        secrets.delete_profile_secrets(name)


@contextlib.asynccontextmanager
async def running_app(setup: Accounts) -> AsyncIterator[App]:
    """The main window with the background sender running; both stopped before the test returns.

    Inside the test, not in a fixture: between a test and its fixtures' teardown pytest-qt processes Qt
    events outside the asyncio loop, and the sender's pending timers would fire there.
    """
    outbox = Outbox()
    delivery = BackgroundDelivery(outbox, setup.store.load, poll_s=0.1)
    dispatcher = AlertDispatcher(outbox, setup.store.load, tracker=AlertTracker())
    window = MainWindow(Services(setup.store.home, setup.store, outbox), delivery, dispatcher, refresh_ms=100)
    await delivery.start()
    window.show()
    await window.refresh()
    try:
        yield App(window, delivery, outbox, setup.store, setup.main, setup.backup, setup.main_server,
                  setup.backup_server)
    finally:
        await _dispose(window, delivery)


def _click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.asyncio
async def test_both_accounts_show_their_state_provider_and_the_default(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        cards = app.window.cards
        assert list(cards) == [app.main, app.backup]
        assert cards[app.main].title() == f"{app.main} (default)"
        assert cards[app.main].state_badge.text() == "● OK"
        assert "SMTP server · app@example.com" in cards[app.backup].identity.text()
        assert "Last success: never" in cards[app.backup].details.text()
        assert "DNS: not checked yet" in cards[app.backup].extra.text()
        assert app.window.summary.text() == "Background sender running. 0 messages waiting."
        assert not app.window.banner.isVisible()
        assert not cards[app.main].resume_button.isVisible()


@pytest.mark.asyncio
async def test_test_mail_goes_through_the_outbox_and_shows_the_server_reply(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        dialog = app.window.open_test_mail(app.backup)
        dialog.to.setText("someone@example.net")
        outcome = SignalWaiter(dialog.outcome)
        _click(dialog.send_button)
        (state,) = await outcome.wait()
        await dialog.tasks.wait()
        assert state == "sent"
        [received] = app.backup_server.messages
        assert received.rcpt_tos == ["someone@example.net"]
        assert app.main_server.messages == []
        assert dialog.status.text().startswith("The server accepted the message: 250 2.0.0 Ok: queued as Q00001")
        [row] = app.outbox.messages()
        assert (row.profile, row.priority, row.state) == (app.backup, 1, MessageState.SENT)
        await app.refresh()
        card = app.window.cards[app.backup]
        assert "Last success: just now" in card.details.text()
        assert "1 sent" in card.details.text()
        dialog.close()


@pytest.mark.asyncio
async def test_wrong_password_pauses_the_account_and_resume_sends_held_mail_once_fixed(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        secrets.store_secret(app.main, SecretKind.PASSWORD, "the old password")
        dialog = app.window.open_test_mail(app.main)
        outcome = SignalWaiter(dialog.outcome)
        _click(dialog.send_button)
        (state,) = await outcome.wait()
        await dialog.tasks.wait()
        assert state == "held"  # never "sent": the server did not accept it
        assert "held" in dialog.status.text()
        assert dialog.diagnosis.title_label.text()  # what went wrong, in plain words
        dialog.close()
        await app.refresh()
        card = app.window.cards[app.main]
        assert card.state_badge.text() == "● Paused: sign-in failed (1 held)"
        assert card.resume_button.isVisible()
        assert app.window.banner.isVisible()
        assert app.window.banner.text().startswith(f"{app.main}: Paused: sign-in failed (1 held).")
        assert app.window.tray_model.worst.value == "paused"
        assert app.main_server.messages == []

        secrets.store_secret(app.main, SecretKind.PASSWORD, GOOD_PASSWORD)  # the admin fixed the account
        _click(card.resume_button)
        await eventually(lambda: len(app.main_server.messages) == 1)
        await eventually(lambda: app.outbox.messages()[0].state is MessageState.SENT)
        await app.refresh()
        assert card.state_badge.text() == "● OK"
        assert not card.resume_button.isVisible()
        assert not app.window.banner.isVisible()


@pytest.mark.asyncio
async def test_check_runs_in_the_card_and_a_failed_check_marks_the_account_failing(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        card = app.window.cards[app.backup]
        finished = SignalWaiter(card.check_finished)
        _click(card.check_button)
        _name, report = await finished.wait()
        await card.tasks.wait()
        assert report.ok
        assert card.activity.text().startswith("Connection check passed")

        secrets.store_secret(app.backup, SecretKind.PASSWORD, "wrong")
        finished = SignalWaiter(card.check_finished)
        _click(card.check_button)
        _name, report = await finished.wait()
        await card.tasks.wait()
        assert not report.ok
        title = report.diagnosis.title
        assert card.activity.text().startswith(f"Check failed: {title}. ")
        await app.refresh()
        assert card.state_badge.text() == "● Failing"
        # said once (the activity line has the title, the fix and the server's words), not again as a reason
        shown = f"{card.activity.text()}\n{card.reasons.text() if card.reasons.isVisible() else ''}"
        assert shown.count(title) == 1
        assert "Connection check failed" not in shown
        card.show_activity("Resumed: 1 held message released for sending.")  # another action replaces the line
        await app.refresh()
        assert f"Connection check failed: {title}." in card.reasons.text()


@pytest.mark.asyncio
async def test_fix_on_a_failing_card_opens_the_wizard_at_the_page_that_fixes_it(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        card = app.window.cards[app.backup]
        assert not card.fix_button.isVisible()  # nothing to fix yet
        secrets.store_secret(app.backup, SecretKind.PASSWORD, "wrong")
        finished = SignalWaiter(card.check_finished)
        _click(card.check_button)
        await finished.wait()
        await card.tasks.wait()
        await app.refresh()
        assert card.fix_button.isVisible() and card.fix_button.text() == "Fix…"
        _click(card.fix_button)
        dialog = app.window.profiles_dialog
        assert dialog is not None and not dialog.isVisible()  # straight to the wizard, not via Accounts…
        wizard = dialog.wizard
        assert wizard is not None and wizard.isVisible()
        assert wizard.currentId() == PageId.SMTP  # server, port, security and password are entered there
        assert wizard.smtp_page.findChild(QLineEdit, "host").text() == app.backup_server.host
        assert wizard.state.editing == app.backup
        wizard.reject()


@pytest.mark.asyncio
async def test_pausing_sending_keeps_mail_queued_until_resumed(two_accounts: Accounts) -> None:
    async with running_app(two_accounts) as app:
        _click(app.window.pause_button)
        await eventually(lambda: not app.delivery.sending)
        await app.refresh()
        assert app.window.pause_button.text() == "Start sending"
        assert app.window.summary.text().startswith("Sending paused")
        dialog = app.window.open_test_mail(app.main)
        outcome = SignalWaiter(dialog.outcome)
        _click(dialog.send_button)
        await eventually(lambda: "sending is paused" in dialog.status.text())
        await app.refresh()
        assert "1 message waiting" in app.window.summary.text()
        assert app.main_server.messages == []
        _click(app.window.pause_button)
        (state,) = await outcome.wait()
        await dialog.tasks.wait()
        assert state == "sent"
        assert len(app.main_server.messages) == 1
        await app.refresh()
        assert app.window.pause_button.text() == "Pause sending"
        dialog.close()


@pytest.mark.asyncio
async def test_the_dns_button_checks_the_sender_domain_and_the_verdict_stays(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="bare", from_address="app@bare.test", host="smtp.bare.test"))
    store.save_profile(Profile(name="contoso", provider=ProviderKind.M365_SMTP, from_address="app@contoso.test",
                               host="smtp.office365.com", username="app@contoso.test"))
    outbox = Outbox()
    delivery = BackgroundDelivery(outbox, store.load)  # not started: nothing to send here
    dispatcher = AlertDispatcher(outbox, store.load, enabled=False)
    with dns_server(ZONE) as (nameserver, _resolver):
        window = MainWindow(Services(store.home, store, outbox), delivery, dispatcher, dns_nameserver=nameserver)
        try:
            window.show()
            await window.refresh()
            for name in ("bare", "contoso"):
                card = window.cards[name]
                done = SignalWaiter(card.dns_finished)
                _click(card.dns_button)
                await done.wait()
                assert card.dns_dialog is not None
                await card.dns_dialog.tasks.wait()
            await window.refresh()
            bare, contoso = window.cards["bare"], window.cards["contoso"]
            # the details are in a dialog with the wizard's DNS widgets: each check, the records, the letter
            dialog = bare.dns_dialog
            assert dialog is not None and dialog.isVisible()
            assert dialog.results.statuses()["spf"] == "fail"
            assert "bare.test" in dialog.target.text() and "problem" in dialog.status.text()
            assert dialog.records.values and any(v.text().startswith("v=spf1") for v in dialog.records.values)
            assert "bare.test" in dialog.letter.toPlainText() and dialog.copy_letter_button.isEnabled()
            assert contoso.dns_dialog is not None and contoso.dns_dialog.status.text().startswith("All green")
            assert bare.activity.text().startswith("DNS (bare.test, just now): ")
            for card in (bare, contoso):
                card.dns_dialog.close()
            assert bare.extra.text().startswith("DNS (bare.test, just now): ")
            assert "spf fail" in bare.extra.text()
            assert contoso.extra.text().startswith("DNS (contoso.test, just now): all green")
            verdicts = DnsVerdictStore(data_home / "dns-verdicts.json").load()
            assert (verdicts["bare.test"].ok, verdicts["contoso.test"].ok) == (False, True)
        finally:
            await _dispose(window)


@pytest.mark.asyncio
async def test_the_sending_button_says_start_before_the_sender_ever_ran(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="bare", from_address="app@bare.test", host="smtp.bare.test"))
    outbox = Outbox()
    delivery = BackgroundDelivery(outbox, store.load, poll_s=0.1)
    dispatcher = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(Services(store.home, store, outbox), delivery, dispatcher)
    try:
        window.show()
        assert window.pause_button.text() == "Start sending"  # not "Resume": nothing was ever paused
        await window.refresh()
        assert window.pause_button.text() == "Start sending"
        assert window.summary.text().startswith("Background sender not running.")
        assert window.tray_model.tooltip.startswith("Mailwright: background sender not running")
        _click(window.pause_button)
        await eventually(lambda: delivery.started and delivery.sending)
        await window.refresh()
        assert window.pause_button.text() == "Pause sending"
        assert window.summary.text().startswith("Background sender running.")
    finally:
        await _dispose(window, delivery)


def _start_serve(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                            env={**os.environ, "MAILWRIGHT_HOME": str(home)}, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_while_mailwright_serve_delivers_the_window_shows_its_progress_and_takes_over_when_it_dies(
        two_accounts: Accounts, data_home: Path) -> None:
    serve = _start_serve(data_home)
    try:
        assert serve.stdout is not None
        assert await asyncio.to_thread(serve.stdout.readline) == "sender running\n"
        async with running_app(two_accounts) as app:
            assert app.window.summary.text() == (f"Another Mailwright (pid {serve.pid}) is delivering this outbox; "
                                                 "this window shows its progress. 0 messages waiting.")
            raw = f"From: {GOOD_USER}\r\nTo: a@example.net\r\n\r\nby serve\r\n".encode()
            by_serve = app.outbox.enqueue(raw, profile=app.main, envelope_from=GOOD_USER, recipients=["a@example.net"])
            await eventually(lambda: app.outbox.get(by_serve.id).state is MessageState.SENT, timeout_s=60)
            assert not app.delivery.sender.lock.held  # serve sent it; this window only watched

            serve.send_signal(signal.SIGKILL)
            await asyncio.to_thread(serve.wait)
            await eventually(lambda: app.delivery.sender.lock.held, timeout_s=60)
            raw = f"From: {GOOD_USER}\r\nTo: b@example.net\r\n\r\nby the app\r\n".encode()
            by_app = app.outbox.enqueue(raw, profile=app.main, envelope_from=GOOD_USER, recipients=["b@example.net"])
            app.delivery.wake()
            await eventually(lambda: app.outbox.get(by_app.id).state is MessageState.SENT, timeout_s=60)
            await app.refresh()
            assert app.window.summary.text() == "Background sender running. 0 messages waiting."
        assert [m.rcpt_tos for m in app.main_server.messages] == [["a@example.net"], ["b@example.net"]]
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGKILL)
        serve.communicate(timeout=30)


@pytest.mark.asyncio
async def test_mail_of_a_deleted_profile_shows_in_the_status_line_with_the_fix(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="bare", from_address="app@bare.test", host="smtp.bare.test"))
    outbox = Outbox()
    outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile="removed", envelope_from="app@bare.test",
                   recipients=["bob@example.net"])
    delivery = BackgroundDelivery(outbox, store.load, poll_s=0.1)  # not started: the report needs no sender
    quiet = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(Services(store.home, store, outbox), delivery, quiet)
    try:
        window.show()
        await window.refresh()
        assert window.summary.text() == ("Background sender not running. 0 messages waiting. "
                                         "1 message of deleted profiles will not be sent.")
        assert window.banner.isVisible()
        assert "1 message of the deleted profile 'removed' will not be sent: re-create the profile" in (
            window.banner.text())
        outbox.delete_waiting("removed")
        await window.refresh()
        assert window.summary.text() == "Background sender not running. 0 messages waiting."
        assert not window.banner.isVisible()
    finally:
        await _dispose(window, delivery)


@pytest.mark.asyncio
@pytest.mark.qt_log_ignore(OFFSCREEN_NOISE, "does not support raise")
async def test_a_relay_switched_on_in_the_wizard_starts_without_restarting_the_app(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", host="smtp.example.com"))
    outbox = Outbox()
    delivery = BackgroundDelivery(outbox, store.load, poll_s=5)
    quiet = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(Services(store.home, store, outbox), delivery, quiet)
    try:
        await delivery.start()
        assert delivery.relay is None
        port = free_port()
        # What the summary page writes when its relay switch is on; the accounts dialog then says `changed`.
        store.set_table_value("relay", "enabled", True)
        store.set_table_value("relay", "listen", f"127.0.0.1:{port}")
        window.open_profiles().changed.emit()
        await eventually(lambda: delivery.relay is not None,
                         lambda: f"the relay to start: {delivery.relay_error or 'no relay, no error'}")
        assert delivery.relay is not None and delivery.relay.running
        relay = delivery.relay
        await window.refresh()
        assert f"Relay on 127.0.0.1:{port}." in window.summary.text()
        store.set_table_value("relay", "enabled", False)
        window.open_profiles().changed.emit()
        await eventually(lambda: delivery.relay is None and not relay.running and not window.tasks.busy,
                         lambda: f"the relay to stop: relay {delivery.relay}")
    finally:
        if window.profiles_dialog is not None:
            window.profiles_dialog.close()
        await _dispose(window, delivery)


@pytest.mark.asyncio
async def test_a_relay_that_cannot_listen_is_a_red_banner_even_when_every_account_is_fine(data_home: Path) -> None:
    import socket

    from wizard.services.health import HealthState
    from wizard.tray import STATE_COLOURS
    from wizard.widgets.colours import banner_style

    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", host="smtp.example.com"))
    outbox = Outbox()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        delivery = BackgroundDelivery(outbox, store.load, relay_address=taken.getsockname(), poll_s=5)
        quiet = AlertDispatcher(outbox, store.load, enabled=False)
        window = MainWindow(Services(store.home, store, outbox), delivery, quiet)
        try:
            await delivery.start()
            await window.refresh()
            assert "could not listen" in window.banner.text() and "already in use" in window.banner.text()
            assert window.banner.styleSheet() == banner_style(STATE_COLOURS[HealthState.FAILING])
            assert "Relay on" not in window.summary.text()
        finally:
            await _dispose(window, delivery)
