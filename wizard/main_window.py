"""The main window once accounts exist: each profile's health, and check / test mail / outbox / DNS / resume.

A thin skin over `services.health` (the state of each profile), `services.alerts` (say it once) and the
app's `BackgroundDelivery` (the sender running on this loop). Refreshed by a timer; every network action
runs as a cancellable task on the qasync loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.dialogs.outbox import OutboxDialog, OutboxTestMailDialog
from wizard.dialogs.profiles import ProfilesDialog
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.alerts import AlertDispatcher, AlertTracker
from wizard.services.check import CheckReport, Step, StepStatus, check_profile
from wizard.services.config import Config, ConfigStore, Profile, ProviderKind, data_home
from wizard.services.diagnostics import Diagnosis
from wizard.services.health import (
    PROVIDER_LABELS,
    DnsVerdict,
    DnsVerdictStore,
    HealthState,
    ProfileHealth,
    SignInView,
    format_time,
    load_health,
    sender_domain,
    sign_in_view,
    worst_state,
)
from wizard.services.outbox import MessageState, Outbox
from wizard.tray import STATE_COLOURS, TrayModel

if TYPE_CHECKING:
    from wizard.app import BackgroundDelivery

log = logging.getLogger(__name__)

DNS_PROVIDER_IDS = {ProviderKind.GMAIL: "google", ProviderKind.M365_SMTP: "m365", ProviderKind.GRAPH: "m365"}
REFRESH_MS = 2000
W = TypeVar("W", bound=QWidget)


def _named(widget: W, name: str, accessible: str) -> W:
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)
    return widget


def counts_text(health: ProfileHealth) -> str:
    return "Outbox: " + " · ".join(f"{health.counts.get(s, 0)} {s.value}" for s in MessageState)


def dns_text(verdict: DnsVerdict | None, now: float) -> str:
    if verdict is None:
        return "DNS: not checked yet"
    when = format_time(verdict.checked_at, now)
    return f"DNS ({verdict.domain}, {when}): {'all green' if verdict.ok else verdict.summary}"


async def run_dns_check(profile: Profile, store: DnsVerdictStore, nameserver: str | None = None) -> DnsVerdict:
    """The DNS health of the profile's sender domain, remembered for the overview."""
    from wizard.services.dns_health import Status, check_domain

    report = await check_domain(sender_domain(profile), provider=DNS_PROVIDER_IDS.get(profile.provider),
                                sending_ips=profile.sending_ips, nameserver=nameserver)
    problems = [f"{c.id} {c.status.value}" for c in report.checks if c.status in (Status.FAIL, Status.ERROR)]
    warnings = [f"{c.id} {c.status.value}" for c in report.checks if c.status is Status.WARN]
    summary = ", ".join(problems + warnings) or "all green"
    verdict = DnsVerdict(report.domain, report.ok, summary, time.time())
    await asyncio.to_thread(store.record, verdict)
    return verdict


class ProfileCard(QGroupBox):
    """One account: state, last success, outbox counts, DNS, expiry; and what the admin can do about it."""

    check_finished = Signal(str, object)  # profile name, CheckReport
    dns_finished = Signal(str)  # profile name

    def __init__(self, profile: Profile, dns_store: DnsVerdictStore, parent: QWidget | None = None,
                 dns_nameserver: str | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.dns_store = dns_store
        self.dns_nameserver = dns_nameserver
        self.tasks = TaskTracker(self)
        self.health: ProfileHealth | None = None
        _named(self, f"profileCard-{profile.name}", f"Account {profile.name}")
        self.setTitle(profile.name)
        self.state_badge = _named(QLabel(), "stateLabel", "State")
        self.state_badge.setTextFormat(Qt.TextFormat.PlainText)
        self.identity = _named(QLabel(), "identityLabel", "Provider and sender")
        self.details = _named(QLabel(), "detailsLabel", "Last success and outbox")
        self.extra = _named(QLabel(), "extraLabel", "DNS and sign-in")
        self.reasons = _named(QLabel(), "reasonsLabel", "What needs attention")
        self.activity = _named(QLabel(), "activityLabel", "Result of the last action")
        for label in (self.identity, self.details, self.extra, self.reasons, self.activity):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasons.setStyleSheet("color: #b00020")
        self.progress = _named(QProgressBar(), "checkProgress", "Working")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(120)
        self.progress.hide()

        self.check_button = self._button("checkButton", "Check", "Check the connection")
        self.cancel_button = self._button("cancelButton", "Cancel", "Cancel the running check")
        self.cancel_button.hide()
        self.test_button = self._button("testMailButton", "Send test mail…", "Send a test mail through the outbox")
        self.outbox_button = self._button("outboxButton", "Outbox…", "Show the outbox")
        self.dns_button = self._button("dnsButton", "DNS", "Check the sender domain's DNS")
        self.resume_button = self._button("resumeButton", "Resume", "Resume sending and release held mail")
        self.resume_button.hide()
        self.check_button.clicked.connect(self._on_check_clicked)
        self.dns_button.clicked.connect(self._on_dns_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.tasks.busy_changed.connect(self._on_busy_changed)

        top = QHBoxLayout()
        top.addWidget(self.state_badge)
        top.addWidget(self.identity, 1)
        buttons = QHBoxLayout()
        for widget in (self.check_button, self.cancel_button, self.test_button, self.outbox_button, self.dns_button,
                       self.resume_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.details)
        layout.addWidget(self.extra)
        layout.addWidget(self.reasons)
        layout.addWidget(self.activity)
        layout.addLayout(buttons)
        self.activity.hide()
        self.reasons.hide()

    def _button(self, name: str, text: str, accessible: str) -> QPushButton:
        return _named(QPushButton(text, self), name, accessible)

    def show_health(self, health: ProfileHealth, token_text: str, now: float) -> None:
        self.health = health
        default = " (default)" if health.is_default else ""
        self.setTitle(f"{health.name}{default}")
        colour = STATE_COLOURS[health.state]
        self.state_badge.setText(f"● {health.label}")
        self.state_badge.setStyleSheet(f"color: {colour}; font-weight: bold")
        provider = PROVIDER_LABELS[health.provider] + (f" ({self.profile.preset})" if self.profile.preset else "")
        self.identity.setText(f"{provider} · {health.from_address}")
        self.details.setText(f"Last success: {format_time(health.last_success_at, now)} · {counts_text(health)}")
        extra = [dns_text(health.dns, now)]
        if health.secret_expires is not None:
            extra.append(f"Client secret expires {health.secret_expires.isoformat()}")
        if token_text:
            extra.append(token_text)
        self.extra.setText(" · ".join(extra))
        self.reasons.setText("\n".join(health.reasons))
        self.reasons.setVisible(bool(health.reasons) and health.state is not HealthState.OK)
        self.resume_button.setVisible(health.state is HealthState.PAUSED or health.held > 0)

    def show_activity(self, text: str, error: bool = False) -> None:
        self.activity.setText(text)
        self.activity.setStyleSheet("color: #b00020" if error else "")
        self.activity.setVisible(bool(text))

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.check_button.setEnabled(not busy)
        self.dns_button.setEnabled(not busy)

    @async_slot()
    async def _on_check_clicked(self) -> None:
        await self.tasks.run(self.check())

    async def check(self) -> CheckReport | None:
        self.show_activity("Checking the connection…")

        def on_step(step: Step) -> None:
            if step.status is StepStatus.RUNNING:
                self.show_activity(f"Checking: {step.title}…")

        try:
            report = await check_profile(self.profile, on_step=on_step)
        except asyncio.CancelledError:
            self.show_activity("Check cancelled.")
            raise
        if report.ok:
            self.show_activity("Connection check passed: " + ", ".join(s.title for s in report.steps if s.ok) + ".")
        else:
            diagnosis = report.diagnosis
            text = f"Check failed: {diagnosis.title}. {diagnosis.fix}" if diagnosis else "Check failed."
            if diagnosis and diagnosis.detail:
                text += f"\nServer said: {diagnosis.detail}"
            self.show_activity(text, error=True)
        self.check_finished.emit(self.profile.name, report)
        return report

    @async_slot()
    async def _on_dns_clicked(self) -> None:
        await self.tasks.run(self.check_dns())

    async def check_dns(self) -> DnsVerdict | None:
        self.show_activity(f"Checking the DNS of {sender_domain(self.profile)}…")
        try:
            verdict = await run_dns_check(self.profile, self.dns_store, self.dns_nameserver)
        except asyncio.CancelledError:
            self.show_activity("DNS check cancelled.")
            raise
        except ValueError as exc:  # InvalidInputError: no usable domain
            self.show_activity(f"DNS check not possible: {exc}", error=True)
            return None
        self.show_activity(dns_text(verdict, time.time()), error=not verdict.ok)
        self.dns_finished.emit(self.profile.name)
        return verdict


class MainWindow(QMainWindow):
    """Health at a glance. `wait_for_quit()` returns when the admin quits (window closed or tray Quit)."""

    refreshed = Signal()

    def __init__(self, store: ConfigStore, outbox: Outbox, delivery: BackgroundDelivery,
                 dispatcher: AlertDispatcher | None = None, parent: QWidget | None = None,
                 refresh_ms: int = REFRESH_MS, dns_nameserver: str | None = None) -> None:
        super().__init__(parent)
        self.dns_nameserver = dns_nameserver  # None: the system's resolver
        self.store = store
        self.outbox = outbox
        self.delivery = delivery
        self.dns_store = DnsVerdictStore(store.home / "dns-verdicts.json")
        self.dispatcher = dispatcher or AlertDispatcher(
            outbox, store.load, tracker=AlertTracker(data_home() / "alerts-state.json"))
        self.tray_model = TrayModel(self)
        self.tray: QSystemTrayIcon | None = None
        self.failed_checks: dict[str, Diagnosis] = {}
        self.sign_ins: dict[str, SignInView] = {}
        self.healths: list[ProfileHealth] = []
        self.cards: dict[str, ProfileCard] = {}
        self.config: Config | None = None
        self.tasks = TaskTracker(self)
        self.outbox_dialog: OutboxDialog | None = None
        self.profiles_dialog: ProfilesDialog | None = None
        self.test_dialogs: list[OutboxTestMailDialog] = []
        self._quit: asyncio.Future[None] | None = None
        self._quit_requested = False
        self._refreshing = False
        self._refresh_lock = asyncio.Lock()
        self._closed = False  # after shutdown() nothing schedules work: the loop may already be gone
        self.setObjectName("mainWindow")
        self.setWindowTitle("Mailwright")

        self.banner = _named(QLabel(), "alertBanner", "Alerts")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.hide()
        self.summary = _named(QLabel(), "summaryLabel", "Sending status")
        self.accounts_button = _named(QPushButton("Accounts…"), "accountsButton", "Add, edit or remove accounts")
        self.outbox_button = _named(QPushButton("Outbox…"), "mainOutboxButton", "Show the outbox")
        self.pause_button = _named(QPushButton("Pause sending"), "pauseButton", "Pause or resume sending")
        self.accounts_button.clicked.connect(self.open_profiles)
        self.outbox_button.clicked.connect(lambda: self.open_outbox())
        self.pause_button.clicked.connect(self.toggle_sending)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        for button in (self.accounts_button, self.outbox_button, self.pause_button):
            header.addWidget(button)

        self.cards_box = QWidget()
        self.cards_layout = QVBoxLayout(self.cards_box)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.addStretch(1)
        scroll = _named(QScrollArea(), "profilesArea", "Accounts")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.cards_box)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        self.setCentralWidget(central)
        self.resize(800, 600)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start(refresh_ms)
        QTimer.singleShot(0, self._on_timer)

    # -- refreshing -----------------------------------------------------------------------------

    @async_slot()
    async def _on_timer(self) -> None:
        if not self._refreshing and not self._closed:
            await self.tasks.run(self.refresh())

    async def refresh(self) -> None:
        """Reload the configuration and the outbox, reassess every profile, update cards, tray and alerts."""
        async with self._refresh_lock:  # the timer and an explicit refresh never interleave
            self._refreshing = True
            try:
                await self._refresh()
            except ValueError as exc:  # a hand-edited config.toml with a mistake
                self.banner.setText(f"The settings file {self.store.path} could not be read: {exc}")
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
        for health in self.healths:
            card = self.cards.get(health.name)
            if card is not None:
                card.show_health(health, views[health.name].text, now)
        self._show_summary()
        for alert in await self.dispatcher.process(self.healths):
            self.tray_model.announce(f"Mailwright: {alert.profile}", "; ".join(alert.reasons))

    def _rebuild_cards(self, config: Config) -> None:
        for name in [n for n in self.cards if n not in config.profiles or config.profiles[n] != self.cards[n].profile]:
            card = self.cards.pop(name)
            card.tasks.cancel()
            card.hide()
            card.deleteLater()  # its task (if any) is cancelled; the card stays alive until it has ended
            self.sign_ins.pop(name, None)
            self.failed_checks.pop(name, None)
        for index, (name, profile) in enumerate(config.profiles.items()):
            if name not in self.cards:
                card = ProfileCard(profile, self.dns_store, self.cards_box, self.dns_nameserver)
                card.check_finished.connect(self._on_check_finished)
                card.dns_finished.connect(lambda _name: self._on_timer())
                card.test_button.clicked.connect(lambda _=False, n=name: self.open_test_mail(n))
                card.outbox_button.clicked.connect(lambda _=False: self.open_outbox())
                card.resume_button.clicked.connect(lambda _=False, n=name: self.resume_profile(n))
                self.cards[name] = card
            self.cards_layout.insertWidget(index, self.cards[name])
        self.config = config

    def _show_summary(self) -> None:
        paused = not self.delivery.sending
        self.tray_model.update(self.healths, paused)
        self.pause_button.setText(self.tray_model.pause_text)
        queued = sum(h.counts.get(MessageState.QUEUED, 0) + h.counts.get(MessageState.SENDING, 0)
                     for h in self.healths)
        if not self.delivery.started:
            sending = "Background sender not running."
        else:
            sending = "Sending paused: mail is queued, not sent." if paused else "Background sender running."
        relay = ""
        if self.delivery.relay is not None and self.delivery.relay_address is not None:
            relay = f" Relay on {self.delivery.relay_address[0]}:{self.delivery.relay_address[1]}."
        self.summary.setText(f"{sending}{relay} {queued} message(s) waiting.")
        worst = worst_state(self.healths)
        problems = [f"{h.name}: {h.label}. {h.reasons[0]}" for h in self.healths
                    if h.state in (HealthState.PAUSED, HealthState.FAILING) and h.reasons]
        if self.delivery.relay_error:
            problems.append(self.delivery.relay_error)
        self.banner.setText("\n".join(problems))
        self.banner.setStyleSheet(f"background: {STATE_COLOURS[worst]}; color: white; padding: 6px;"
                                  " border-radius: 4px")
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
                                      is_sending=lambda: self.delivery.sending)
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

    def open_profiles(self) -> ProfilesDialog:
        if self.profiles_dialog is None:
            self.profiles_dialog = ProfilesDialog(self.store, self)
            self.profiles_dialog.changed.connect(self._on_timer)
        self.profiles_dialog.reload()
        self.profiles_dialog.show()
        self.profiles_dialog.raise_()
        return self.profiles_dialog

    def resume_profile(self, name: str) -> int:
        released = self.delivery.resume_profile(name)
        self.failed_checks.pop(name, None)
        if name in self.cards:
            self.cards[name].show_activity(f"Resumed: {released} held message(s) released for sending.")
        self._on_timer()
        return released

    def toggle_sending(self) -> None:
        if self.delivery.sending:
            self.delivery.pause_sending()
        else:
            self.delivery.resume_sending()
        QTimer.singleShot(0, self._on_timer)  # the paused sender's task ends on the next loop turn

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

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tray is not None and self.tray.isVisible():
            event.ignore()  # keeps sending in the background; Quit is in the tray menu
            self.hide()
            self.tray_model.announce("Mailwright", "Still sending in the background. Quit from this icon's menu.")
            return
        self.request_quit()
        super().closeEvent(event)
