"""One account's card in the main window: state, last success, outbox counts, DNS verdict, token/secret expiry,
and the buttons to check, send a test mail, open the outbox, see the DNS health, resume held mail, and Fix… (the
wizard at the page that fixes a failing or paused account; for a Microsoft 365 certificate whose renewal failed or
is due, the renewal itself: `renew_certificate`, which the main window runs, with its outcome on the card)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from wizard.pages.fix_page import fix_page
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.check import CheckReport, Step, StepCallback, StepStatus, check_profile
from wizard.services.diagnostics import Diagnosis
from wizard.services.health import (
    PROVIDER_LABELS,
    DnsVerdict,
    DnsVerdictStore,
    HealthState,
    Issue,
    ProfileHealth,
    format_time,
    sender_domain,
)
from wizard.services.model import Profile, ProviderKind
from wizard.services.outbox import MessageState
from wizard.tray import STATE_COLOURS
from wizard.widgets.colours import problem_style, state_text_style

if TYPE_CHECKING:
    from wizard.dialogs.dns_health import DnsHealthDialog
    from wizard.services.dns_health import CheckResult, HealthReport
    from wizard.services.m365 import WaitPolicy
    from wizard.services.m365.rotation import RotationOutcome

Say = Callable[[str, bool], None]  # (what happened, whether it is a problem)

# Problems a wizard page fixes even while the account still sends (a warning, not yet a failure).
FIXABLE_WARNINGS = frozenset({Issue.NOT_SIGNED_IN, Issue.SECRET_EXPIRING, Issue.SECRET_EXPIRED})
# Problems Fix… solves by renewing the app's certificate now (services.m365.rotation.renew), not in the wizard.
RENEWABLE = frozenset({Issue.CERTIFICATE_RENEWAL_FAILED, Issue.CERTIFICATE_EXPIRING})
DNS_PROVIDER_IDS = {ProviderKind.GMAIL: "google", ProviderKind.M365_SMTP: "m365", ProviderKind.GRAPH: "m365"}
W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, accessible: str) -> W:
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


async def run_dns_check(profile: Profile, store: DnsVerdictStore, nameserver: str | None = None,
                        on_progress: Callable[[CheckResult], None] | None = None
                        ) -> tuple[HealthReport, DnsVerdict]:
    """The DNS health of the profile's sender domain (dnspython loaded in a worker thread the first time), and
    its verdict, remembered for the overview."""
    import importlib

    dns_health = await asyncio.to_thread(importlib.import_module, "wizard.services.dns_health")
    report: HealthReport = await dns_health.check_domain(
        sender_domain(profile), provider=DNS_PROVIDER_IDS.get(profile.provider), sending_ips=profile.sending_ips,
        nameserver=nameserver, on_progress=on_progress)
    failing = (dns_health.Status.FAIL, dns_health.Status.ERROR)
    problems = [f"{c.id} {c.status.value}" for c in report.checks if c.status in failing]
    warnings = [f"{c.id} {c.status.value}" for c in report.checks if c.status is dns_health.Status.WARN]
    summary = ", ".join(problems + warnings) or "all green"
    verdict = DnsVerdict(report.domain, report.ok, summary, time.time())
    await asyncio.to_thread(store.record, verdict)
    return report, verdict


async def renew_certificate(name: str, say: Say, wait: WaitPolicy | None = None) -> RotationOutcome | None:
    """Renews a profile's certificate now (Fix…); the outcome is recorded with the profile, as an automatic
    renewal's, and said through `say`. The blocking parts (key generation, msal, the key files) run in worker
    threads. The caller owns the task: the renewal switches the profile's certificate, which replaces its card."""
    from wizard.services.m365 import M365Error
    from wizard.services.m365.rotation import renew

    say("Renewing the certificate…", False)
    try:
        outcome = await renew(name, wait=wait, on_step=lambda text: say(f"Renewing the certificate: {text}", False))
    except asyncio.CancelledError:
        say("Renewal cancelled.", False)
        raise
    except M365Error as exc:  # nothing to renew, or another process is renewing right now
        say(f"Renewal not started: {exc.diagnosis.title}. {exc.diagnosis.explanation}", True)
        return None
    if outcome.registration is not None:
        say(f"Certificate renewed: {outcome.registration.thumbprint}, valid until "
            f"{outcome.registration.not_after[:10]}.", False)
    elif outcome.diagnosis is not None:
        # The card's reasons then say it in full, from the record (when, the diagnosis, what to do).
        say(f"Renewal failed again: {outcome.diagnosis.explanation}", True)
    return outcome


# How a card checks its account: app_services.Services.check (the app's secret source and OAuth sessions).
Checker = Callable[[Profile, StepCallback], Awaitable[CheckReport]]


def _keyring_check(profile: Profile, on_step: StepCallback) -> Awaitable[CheckReport]:
    return check_profile(profile, on_step=on_step)


class ProfileCard(QGroupBox):
    """One account: state, last success, outbox counts, DNS, expiry; and what the admin can do about it."""

    check_finished = Signal(str, object)  # profile name, CheckReport
    fix_requested = Signal(str, object)  # profile name, the PageId of the wizard page that fixes the problem
    dns_finished = Signal(str)  # profile name: its DNS verdict was recorded
    renew_requested = Signal(str)  # profile name: Fix… on a failed or due certificate renewal

    def __init__(self, profile: Profile, dns_store: DnsVerdictStore, parent: QWidget | None = None,
                 dns_nameserver: str | None = None, check: Checker = _keyring_check) -> None:
        """`check`: how Check now checks the account (the main window passes its services' check)."""
        super().__init__(parent)
        self.profile = profile
        self.run_check = check
        self.dns_store = dns_store
        self.dns_nameserver = dns_nameserver
        self.tasks = TaskTracker(self)
        self.health: ProfileHealth | None = None
        self.dns_dialog: DnsHealthDialog | None = None
        named(self, f"profileCard-{profile.name}", f"Account {profile.name}")
        self.setTitle(profile.name)
        self.state_badge = named(QLabel(), "stateLabel", "State")
        self.state_badge.setTextFormat(Qt.TextFormat.PlainText)
        self.identity = named(QLabel(), "identityLabel", "Provider and sender")
        self.details = named(QLabel(), "detailsLabel", "Last success and outbox")
        self.extra = named(QLabel(), "extraLabel", "DNS and sign-in")
        self.reasons = named(QLabel(), "reasonsLabel", "What needs attention")
        self.sender_problem = named(QLabel(), "senderProblemLabel", "What stops sending now")
        self.activity = named(QLabel(), "activityLabel", "Result of the last action")
        for label in (self.identity, self.details, self.extra, self.reasons, self.sender_problem, self.activity):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasons.setStyleSheet(problem_style())
        self.sender_problem.setStyleSheet(problem_style())
        self.progress = named(QProgressBar(), "checkProgress", "Working")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(120)
        self.progress.hide()

        self.check_button = self._button("checkButton", "Check now", "Check the connection now")
        self.cancel_button = self._button("cancelButton", "Cancel", "Cancel the running check")
        self.cancel_button.hide()
        self.test_button = self._button("testMailButton", "Send test mail…", "Send a test mail through the outbox")
        self.outbox_button = self._button("outboxButton", "Outbox…", "Show the outbox")
        self.dns_button = self._button("dnsButton", "DNS health…", "Check the sender domain's DNS")
        self.resume_button = self._button("resumeButton", "Resume", "Resume sending and release held mail")
        self.resume_button.hide()
        self.fix_button = self._button("fixButton", "Fix…", "Open the wizard at the page that fixes this account")
        self.fix_button.hide()
        self._check_failure_shown = False  # the activity line already says why the last check failed
        self._activity_error = False
        self.fix_button.clicked.connect(self._on_fix_clicked)
        self.check_button.clicked.connect(self._on_check_clicked)
        self.dns_button.clicked.connect(self.open_dns)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.tasks.busy_changed.connect(self._on_busy_changed)

        top = QHBoxLayout()
        top.addWidget(self.state_badge)
        top.addWidget(self.identity, 1)
        buttons = QHBoxLayout()
        for widget in (self.fix_button, self.check_button, self.cancel_button, self.test_button, self.outbox_button,
                       self.dns_button, self.resume_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.details)
        layout.addWidget(self.extra)
        layout.addWidget(self.reasons)
        layout.addWidget(self.sender_problem)
        layout.addWidget(self.activity)
        layout.addLayout(buttons)
        self.activity.hide()
        self.reasons.hide()
        self.sender_problem.hide()

    def _button(self, name: str, text: str, accessible: str) -> QPushButton:
        return named(QPushButton(text, self), name, accessible)

    def show_health(self, health: ProfileHealth, token_text: str, now: float) -> None:
        self.health = health
        default = " (default)" if health.is_default else ""
        self.setTitle(f"{health.name}{default}")
        colour = STATE_COLOURS[health.state]
        self.state_badge.setText(f"● {health.label}")
        self.state_badge.setStyleSheet(state_text_style(colour))
        provider = PROVIDER_LABELS[health.provider] + (f" ({self.profile.preset})" if self.profile.preset else "")
        self.identity.setText(f"{provider} · {health.from_address}")
        self.details.setText(f"Last success: {format_time(health.last_success_at, now)} · {counts_text(health)}")
        extra = [dns_text(health.dns, now)]
        if health.secret_expires is not None:
            extra.append(f"Client secret expires {health.secret_expires.isoformat()}")
        if health.certificate_expires is not None:
            renewed = f", renewed {health.certificate_renewed.isoformat()}" if health.certificate_renewed else ""
            extra.append(f"Certificate expires {health.certificate_expires.isoformat()}{renewed}")
        if token_text:
            extra.append(token_text)
        self.extra.setText(" · ".join(extra))
        # A failed check is explained once: by the activity line (with the fix and the server's words) while it
        # shows, not again as a reason.
        reasons = [reason for issue, reason in zip(health.issues, health.reasons, strict=True)
                   if not (issue is Issue.CHECK_FAILED and self._check_failure_shown)]
        self.reasons.setText("\n".join(reasons))
        self.reasons.setVisible(bool(reasons) and health.state is not HealthState.OK)
        self.resume_button.setVisible(health.state is HealthState.PAUSED or health.held > 0)
        renewal = self.renews_certificate
        self.fix_button.setVisible(health.state in (HealthState.FAILING, HealthState.PAUSED) or renewal
                                   or bool(FIXABLE_WARNINGS.intersection(health.issues)))
        self.fix_button.setToolTip("Renew the app's certificate now" if renewal else "")
        self.fix_button.setAccessibleName("Renew the certificate now" if renewal
                                          else "Open the wizard at the page that fixes this account")

    @property
    def renews_certificate(self) -> bool:
        """Fix… renews the certificate (its renewal failed or is due) instead of opening the wizard."""
        return self.health is not None and bool(RENEWABLE.intersection(self.health.issues))

    def show_sender_problem(self, diagnosis: Diagnosis | None) -> None:
        """What the running sender currently meets for this account (an unexpected error, a CA file it cannot
        read...), in the Diagnosis' plain words; hidden once the sender gets through again."""
        self.sender_problem.setText(f"Sending: {diagnosis.title}. {diagnosis.fix}" if diagnosis else "")
        self.sender_problem.setVisible(diagnosis is not None)

    def _on_fix_clicked(self) -> None:
        if self.renews_certificate:
            self.renew_requested.emit(self.profile.name)
            return
        code = self.health.diagnosis_code if self.health is not None else ""
        self.fix_requested.emit(self.profile.name, fix_page(self.profile, code))

    def show_activity(self, text: str, error: bool = False, *, check_failure: bool = False) -> None:
        self._check_failure_shown = check_failure
        self._activity_error = error
        self.activity.setText(text)
        self.activity.setStyleSheet(problem_style() if error else "")
        self.activity.setVisible(bool(text))

    def carry_over(self, previous: ProfileCard) -> None:
        """This card replaces `previous` (the profile's settings changed, e.g. a renewal switched its certificate):
        keep saying what the last action did."""
        self.show_activity(previous.activity.text(), previous._activity_error,
                           check_failure=previous._check_failure_shown)

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.check_button.setEnabled(not busy)

    @async_slot()
    async def _on_check_clicked(self) -> None:
        await self.tasks.run(self.check())

    async def check(self) -> CheckReport | None:
        self.show_activity("Checking the connection…")

        def on_step(step: Step) -> None:
            if step.status is StepStatus.RUNNING:
                self.show_activity(f"Checking: {step.title}…")

        try:
            report = await self.run_check(self.profile, on_step)
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
            self.show_activity(text, error=True, check_failure=True)
        self.check_finished.emit(self.profile.name, report)
        return report

    def open_dns(self) -> DnsHealthDialog:
        """The DNS health in a dialog: each check with details and fix, the records to publish, the letter."""
        from wizard.dialogs.dns_health import DnsHealthDialog

        if self.dns_dialog is None:
            self.dns_dialog = DnsHealthDialog(self.profile, self.dns_store, self.dns_nameserver, self)
            self.dns_dialog.verdict_recorded.connect(self._on_dns_verdict)
            self.dns_dialog.start_check()
        if self.dns_dialog.isVisible():
            self.dns_dialog.raise_()  # opened again: bring it forward rather than a second copy
        self.dns_dialog.show()
        return self.dns_dialog

    def _on_dns_verdict(self, verdict: DnsVerdict) -> None:
        self.show_activity(dns_text(verdict, time.time()), error=not verdict.ok)
        self.dns_finished.emit(self.profile.name)
