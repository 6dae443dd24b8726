"""The main window once accounts exist: each profile's health, and check / test mail / outbox / DNS / resume.

A thin skin over `services.health` (the state of each profile), `services.alerts` (say it once) and the
app's `BackgroundDelivery` (the sender running on this loop). Refreshed by a timer; every network action
runs as a cancellable task on the qasync loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.dialogs.outbox import OutboxDialog
from wizard.dialogs.outbox_test_mail import OutboxTestMailDialog
from wizard.dialogs.profiles import ProfilesDialog
from wizard.dialogs.relay_users import RelayUsersDialog
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.alerts import AlertDispatcher
from wizard.services.check import CheckReport
from wizard.services.config import Config
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import describe, storage_error
from wizard.services.health import (
    DnsVerdictStore,
    HealthState,
    OrphanedMail,
    ProfileHealth,
    SignInView,
    load_health,
    load_orphaned_mail,
    sign_in_view,
    worst_state,
)
from wizard.services.outbox import MessageState
from wizard.services.sender_boundary import OUTBOX
from wizard.services.wording import plural
from wizard.tray import STATE_COLOURS, TrayModel
from wizard.widgets.colours import banner_style
from wizard.widgets.profile_card import ProfileCard, named, renew_certificate
from wizard.widgets.service_panel import ServicePanel, StatusReader

if TYPE_CHECKING:
    from wizard.pages.ids import PageId
    from wizard.pages.wizard import MailwrightWizard
    from wizard.services.app_services import Services
    from wizard.services.background_delivery import BackgroundDelivery
    from wizard.services.m365 import WaitPolicy

log = logging.getLogger(__name__)

REFRESH_MS = 2000


class MainWindow(QMainWindow):
    """Health at a glance. `wait_for_quit()` returns when the admin quits (window closed or tray Quit)."""

    refreshed = Signal()

    def __init__(self, services: Services, delivery: BackgroundDelivery,
                 dispatcher: AlertDispatcher | None = None, parent: QWidget | None = None,
                 refresh_ms: int = REFRESH_MS, dns_nameserver: str | None = None,
                 service_status: StatusReader | None = None) -> None:
        """`services`: the running app's composition root (its config store, outbox and alerts; the Accounts
        dialog and the wizard it opens get it too); `delivery` its background sender. `dispatcher` replaces the
        services' alerts dispatcher (a preview that must not alert, a test's)."""
        super().__init__(parent)
        self.dns_nameserver = dns_nameserver  # None: the system's resolver
        self.services = services
        self.store = services.store
        self.outbox = services.outbox
        self.delivery = delivery
        self.dns_store = DnsVerdictStore(self.store.home / "dns-verdicts.json")
        self.dispatcher = dispatcher or services.alerts
        self.tray_model = TrayModel(self)
        self.tray_model.update((), delivery.started and not delivery.sending, sender_started=delivery.started)
        self.tray: QSystemTrayIcon | None = None
        self.failed_checks: dict[str, Diagnosis] = {}
        self._renewing: set[str] = set()  # profiles whose certificate Fix… is renewing
        self.sign_ins: dict[str, SignInView] = {}
        self.healths: list[ProfileHealth] = []
        self.orphans: list[OrphanedMail] = []  # mail of deleted profiles: nothing will send it
        self.cards: dict[str, ProfileCard] = {}
        self.config: Config | None = None
        self.tasks = TaskTracker(self)
        self.outbox_dialog: OutboxDialog | None = None
        self.profiles_dialog: ProfilesDialog | None = None
        self.relay_dialog: RelayUsersDialog | None = None
        self.test_dialogs: list[OutboxTestMailDialog] = []
        self._quit: asyncio.Future[None] | None = None
        self._quit_requested = False
        self._refreshing = False
        self._refresh_lock = asyncio.Lock()
        self._closed = False  # after shutdown() nothing schedules work: the loop may already be gone
        self.setObjectName("mainWindow")
        self.setWindowTitle("Mailwright")

        self.banner = named(QLabel(), "alertBanner", "Alerts")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.hide()
        self.summary = named(QLabel(), "summaryLabel", "Sending status")
        self.summary.setWordWrap(True)  # "Another Mailwright (pid N) is delivering…" must fit at 800 px
        self.accounts_button = named(QPushButton("Accounts…"), "accountsButton", "Add, edit or remove accounts")
        self.outbox_button = named(QPushButton("Outbox…"), "mainOutboxButton", "Show the outbox")
        self.relay_button = named(QPushButton("Relay users…"), "relayUsersButton",
                                  "The relay's users: who may submit mail, their priority and what they sent")
        self.pause_button = named(QPushButton(self.tray_model.pause_text), "pauseButton",
                                  "Start or pause sending")
        self.accounts_button.clicked.connect(self.open_profiles)
        self.outbox_button.clicked.connect(lambda: self.open_outbox())
        self.relay_button.clicked.connect(lambda: self.open_relay_users())
        self.pause_button.clicked.connect(self.toggle_sending)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        for button in (self.accounts_button, self.outbox_button, self.relay_button, self.pause_button):
            header.addWidget(button)

        self.cards_box = QWidget()
        self.cards_layout = QVBoxLayout(self.cards_box)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.addStretch(1)
        scroll = named(QScrollArea(), "profilesArea", "Accounts")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.cards_box)
        self.service_panel = ServicePanel(service_status)  # read once at start and after Install…/Remove…
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.service_panel)
        self.setCentralWidget(central)
        self.resize(800, 600)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start(refresh_ms)
        QTimer.singleShot(0, self._on_timer)
        QTimer.singleShot(0, self._on_service_timer)

    # -- refreshing -----------------------------------------------------------------------------

    @async_slot()
    async def _on_timer(self) -> None:
        if not self._refreshing and not self._closed:
            await self.tasks.run(self.refresh())

    @async_slot()
    async def _on_service_timer(self) -> None:
        if not self._closed:
            await self.tasks.run(self.service_panel.refresh())

    async def refresh(self) -> None:
        """Reload the configuration and the outbox, reassess every profile, update cards, tray and alerts."""
        async with self._refresh_lock:  # the timer and an explicit refresh never interleave
            self._refreshing = True
            try:
                await self._refresh()
            except ValueError as exc:  # a hand-edited config.toml with a mistake
                self.banner.setText(f"The settings file {self.store.path} could not be read: {exc}")
                self.banner.show()
            except Exception as exc:  # the outbox is locked by another program or its disk is full: say so, retry
                storage = storage_error(exc)
                if storage is None:
                    raise
                diagnosis = describe(storage)
                self.banner.setText(f"{diagnosis.title}. {diagnosis.fix}")
                self.banner.setStyleSheet(banner_style(STATE_COLOURS[HealthState.FAILING]))
                self.banner.show()
            finally:
                self._refreshing = False
        self.refreshed.emit()

    async def _refresh(self) -> None:
        config = await asyncio.to_thread(self.store.load)
        if config != self.config:
            self._rebuild_cards(config)
        now = time.time()
        views: dict[str, SignInView] = {}
        for name, profile in config.profiles.items():  # read lazily: once per profile, again after a check
            views[name] = self.sign_ins.get(name) or await sign_in_view(profile, now)
            self.sign_ins.setdefault(name, views[name])
        needs_sign_in = {name for name, view in views.items() if view.needs_sign_in}
        self.healths = await load_health(config, self.outbox, failed_checks=dict(self.failed_checks),
                                         dns_store=self.dns_store, needs_sign_in=needs_sign_in)
        self.orphans = await load_orphaned_mail(config, self.outbox)
        problems = self.delivery.problems
        for health in self.healths:
            card = self.cards.get(health.name)
            if card is not None:
                card.show_health(health, views[health.name].text, now)
                card.show_sender_problem(problems.get(health.name))
        self._show_summary()
        for alert in await self.dispatcher.process(self.healths):
            self.tray_model.announce(f"Mailwright: {alert.profile}", "; ".join(alert.reasons))

    def _rebuild_cards(self, config: Config) -> None:
        replaced: dict[str, ProfileCard] = {}
        for name in [n for n in self.cards if n not in config.profiles or config.profiles[n] != self.cards[n].profile]:
            card = self.cards.pop(name)
            if name in config.profiles:
                replaced[name] = card
            card.tasks.cancel()
            card.hide()
            card.deleteLater()  # its task (if any) is cancelled; the card stays alive until it has ended
            self.sign_ins.pop(name, None)
            self.failed_checks.pop(name, None)
        for index, (name, profile) in enumerate(config.profiles.items()):
            if name not in self.cards:
                card = ProfileCard(profile, self.dns_store, self.cards_box, self.dns_nameserver, self.services.check)
                card.check_finished.connect(self._on_check_finished)
                card.dns_finished.connect(lambda _name: self._on_timer())
                card.renew_requested.connect(self.renew_certificate)
                card.test_button.clicked.connect(lambda _=False, n=name: self.open_test_mail(n))
                card.outbox_button.clicked.connect(lambda _=False: self.open_outbox())
                card.resume_button.clicked.connect(lambda _=False, n=name: self._on_resume(n))
                card.fix_requested.connect(self.fix_profile)
                if name in replaced:
                    card.carry_over(replaced[name])
                self.cards[name] = card
            self.cards_layout.insertWidget(index, self.cards[name])
        self.config = config

    def _show_summary(self) -> None:
        started = self.delivery.started
        paused = started and not self.delivery.sending
        self.tray_model.update(self.healths, paused, sender_started=started)
        self.pause_button.setText(self.tray_model.pause_text)
        queued = sum(h.counts.get(MessageState.QUEUED, 0) + h.counts.get(MessageState.SENDING, 0)
                     for h in self.healths)
        other = self.delivery.other_sender
        if not self.delivery.started:
            sending = "Background sender not running."
        elif other is not None:
            sending = f"{other.describe()} is delivering this outbox; this window shows its progress."
        else:
            sending = "Sending paused: mail is queued, not sent." if paused else "Background sender running."
        relay = ""
        relay_process = self.delivery.relay
        if relay_process is not None and relay_process.running and self.delivery.relay_address is not None:
            relay = f" Relay on {self.delivery.relay_address[0]}:{self.delivery.relay_address[1]}."
        orphaned = sum(o.count for o in self.orphans)
        stuck = f" {plural(orphaned, 'message')} of deleted profiles will not be sent." if orphaned else ""
        self.summary.setText(f"{sending}{relay} {plural(queued, 'message')} waiting.{stuck}")
        worst = worst_state(self.healths)
        if self.orphans and worst in (HealthState.OK, HealthState.DISABLED):
            worst = HealthState.WARNING
        problems = [f"{h.name}: {h.label}. {h.reasons[0]}" for h in self.healths
                    if h.state in (HealthState.PAUSED, HealthState.FAILING) and h.reasons]
        problems += [o.advice() for o in self.orphans]
        outbox_problem = self.delivery.problems.get(OUTBOX)
        if outbox_problem is not None:  # the disk is full or another program locks the outbox: nothing is sent
            worst = HealthState.FAILING
            problems.insert(0, f"{outbox_problem.title}. {outbox_problem.fix}")
        if self.delivery.relay_problem:  # applications' mail is refused at the door: as bad as a failing account
            worst = HealthState.FAILING
            problems.append(self.delivery.relay_problem)
        self.banner.setText("\n".join(problems))
        self.banner.setStyleSheet(banner_style(STATE_COLOURS[worst]))
        self.banner.setVisible(bool(problems))

    def _on_check_finished(self, name: str, report: CheckReport) -> None:
        if report.ok:
            self.failed_checks.pop(name, None)
        elif report.diagnosis is not None:
            self.failed_checks[name] = report.diagnosis
        self.sign_ins.pop(name, None)  # a check may have signed in or refreshed the token
        self._on_timer()

    # -- actions --------------------------------------------------------------------------------

    def open_test_mail(self, name: str) -> OutboxTestMailDialog:
        card = self.cards[name]
        dialog = OutboxTestMailDialog(card.profile, self.outbox, self.delivery.wake, self,
                                      is_sending=lambda: self.delivery.sending, alerts=self.dispatcher)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        dialog.finished.connect(lambda _r: self._on_timer())
        dialog.outcome.connect(lambda _state: self._on_timer())
        self.test_dialogs = [d for d in self.test_dialogs if d.isVisible() or d.tasks.busy] + [dialog]
        dialog.open()
        return dialog

    def open_outbox(self) -> OutboxDialog:
        if self.outbox_dialog is None:
            self.outbox_dialog = OutboxDialog(self.outbox, self)
        self.outbox_dialog.show()
        self.outbox_dialog.raise_()
        return self.outbox_dialog

    def open_relay_users(self) -> RelayUsersDialog:
        if self.relay_dialog is None:
            self.relay_dialog = RelayUsersDialog(self.store, self.outbox.path, self)
        self.relay_dialog.show()  # it reads its users when shown
        self.relay_dialog.raise_()
        return self.relay_dialog

    def _profiles(self) -> ProfilesDialog:
        if self.profiles_dialog is None:
            self.profiles_dialog = ProfilesDialog(self.services, self)
            self.profiles_dialog.changed.connect(self._on_timer)
            self.profiles_dialog.changed.connect(self._follow_relay_setting)
        self.profiles_dialog.reload()
        return self.profiles_dialog

    def open_profiles(self) -> ProfilesDialog:
        dialog = self._profiles()
        dialog.show()
        dialog.raise_()
        return dialog

    def fix_profile(self, name: str, page: PageId) -> MailwrightWizard:
        """The wizard on this account, opened at the page that fixes its problem (not the Accounts list)."""
        return self._profiles().edit_profile(name, start=page)

    renewal_wait: WaitPolicy | None = None  # tests shorten the wait for the new key

    @async_slot(str)
    async def renew_certificate(self, name: str) -> None:
        """Fix… on a failed or due certificate renewal: the window's task, not the card's, because the renewal
        switches the profile's certificate and the next refresh replaces the card it was started from."""
        if name in self._renewing:
            return
        self._renewing.add(name)

        def say(text: str, error: bool) -> None:
            card = self.cards.get(name)
            if card is not None:
                card.show_activity(text, error)
        try:
            await self.tasks.run(renew_certificate(name, say, self.renewal_wait))
        finally:
            self._renewing.discard(name)
        self._on_timer()

    @async_slot(str)
    async def _on_resume(self, name: str) -> None:
        await self.tasks.run(self.resume_profile(name))

    async def resume_profile(self, name: str) -> int:
        released = await self.delivery.resume_profile(name)
        self.failed_checks.pop(name, None)
        if name in self.cards:
            self.cards[name].show_activity(f"Resumed: {plural(released, 'held message')} released for sending.")
        self._on_timer()
        return released

    def toggle_sending(self) -> None:
        if not self.delivery.started:  # first start: recovers abandoned mail and opens the relay, as the app does
            self._start_sending()
            return
        if self.delivery.sending:
            self.delivery.pause_sending()
        else:
            self.delivery.resume_sending()
        QTimer.singleShot(0, self._on_timer)  # the paused sender's task ends on the next loop turn

    @async_slot()
    async def _follow_relay_setting(self) -> None:
        """The wizard may have switched the relay on or off or moved it: apply that now, without a restart."""
        from wizard.services.background_delivery import relay_address, relay_settings_from_config

        relay = relay_settings_from_config(self.store.path)
        await self.tasks.run(self.delivery.apply_relay(relay_address(relay), relay.allow_remote))
        self._on_timer()

    @async_slot()
    async def _start_sending(self) -> None:
        await self.tasks.run(self.delivery.start())
        self._on_timer()

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- quitting -------------------------------------------------------------------------------

    async def wait_for_quit(self) -> None:
        if self._quit_requested:
            return
        self._quit = asyncio.get_running_loop().create_future()
        await self._quit

    def request_quit(self) -> None:
        self._quit_requested = True
        if self._quit is not None and not self._quit.done():
            self._quit.set_result(None)

    def task_trackers(self) -> list[TaskTracker]:
        return self.findChildren(TaskTracker)

    async def wait_idle(self) -> None:
        for tracker in self.task_trackers():
            await tracker.wait()

    async def shutdown(self) -> None:
        """Stop refreshing, cancel checks and waits, close dialogs; the caller stops the delivery."""
        self._closed = True
        self.timer.stop()
        for tracker in self.task_trackers():
            tracker.cancel()
        await self.wait_idle()
        for dialog in (self.outbox_dialog, self.profiles_dialog, *self.test_dialogs):
            if dialog is not None:
                dialog.close()
        if self.outbox_dialog is not None:
            await self.outbox_dialog.stopped()  # its reading task ends on this loop, not after it

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tray is not None and self.tray.isVisible():
            event.ignore()  # keeps sending in the background; Quit is in the tray menu
            self.hide()
            self.tray_model.announce("Mailwright", "Still sending in the background. Quit from this icon's menu.")
            return
        self.request_quit()
        super().closeEvent(event)
