"""A saved account's DNS health, opened from its card in the main window: the wizard's DNS widgets (a row per
check with details and fix, the records to publish with copy buttons, the letter for the DNS admin), and the
verdict recorded for the overview. The check is a cancellable asyncio task; closing the dialog cancels it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.pages.dns_page import ALWAYS_RUN, CHECK_TITLES, RecordList, copy_text, describe_verdict
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.config import Profile
from wizard.services.health import DnsVerdict, DnsVerdictStore, sender_domain
from wizard.services.validation import InvalidInputError
from wizard.widgets.check_results import CheckResultList
from wizard.widgets.profile_card import run_dns_check

if TYPE_CHECKING:
    from wizard.services.dns_health import CheckResult, HealthReport


def _button(text: str, name: str, accessible: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    return button


class DnsHealthDialog(QDialog):
    verdict_recorded = Signal(object)  # DnsVerdict, after a check that ran to the end

    def __init__(self, profile: Profile, store: DnsVerdictStore, nameserver: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.store = store
        self.nameserver = nameserver
        self.tasks = TaskTracker(self)
        self.report: HealthReport | None = None
        self.setObjectName("dnsHealthDialog")
        self.setWindowTitle(f"DNS health: {profile.name}")
        self.target = QLabel()
        self.target.setObjectName("dnsTarget")
        self.target.setAccessibleName("Domain checked")
        self.target.setWordWrap(True)
        self.status = QLabel("Not checked yet.")
        self.status.setObjectName("dnsStatus")
        self.status.setAccessibleName("DNS check status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("dnsProgress")
        self.progress.setAccessibleName("DNS checks done")
        self.progress.setFormat("%v of %m checks")
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the buttons keep their size while no check runs
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self.recheck_button = _button("Check again", "recheckDns", "Check the DNS again")
        self.cancel_button = _button("Cancel check", "cancelDns", "Cancel the DNS check")
        self.cancel_button.setEnabled(False)
        controls = QHBoxLayout()
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.recheck_button)
        controls.addWidget(self.cancel_button)

        self.results = CheckResultList(CHECK_TITLES)
        self.records = RecordList()
        self.letter = QPlainTextEdit()
        self.letter.setObjectName("dnsLetter")
        self.letter.setAccessibleName("Letter to your DNS administrator")
        self.letter.setReadOnly(True)
        self.copy_letter_button = _button("Copy letter", "copyLetter", "Copy the letter")
        self.copy_letter_button.setEnabled(False)
        letter_tab = QWidget()
        letter_layout = QVBoxLayout(letter_tab)
        letter_layout.addWidget(self.letter, 1)
        letter_layout.addWidget(self.copy_letter_button, 0, Qt.AlignmentFlag.AlignRight)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("dnsTabs")
        self.tabs.setAccessibleName("DNS results")
        self.tabs.addTab(self.results, "Checks")
        self.tabs.addTab(self.records, "Records to publish")
        self.tabs.addTab(letter_tab, "Letter to your DNS admin")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setObjectName("dnsDialogButtons")
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.target)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

        self.recheck_button.clicked.connect(self.start_check)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.copy_letter_button.clicked.connect(lambda: copy_text(self.letter.toPlainText()))
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self.resize(760, 560)

    @async_slot()
    async def start_check(self) -> None:
        if not self.tasks.busy:
            await self.tasks.run(self.check())

    async def check(self) -> DnsVerdict | None:
        domain = sender_domain(self.profile)
        self.target.setText(f"Domain <b>{domain}</b> of account <b>{self.profile.name}</b> "
                            f"({self.profile.from_address}).")
        self.report = None
        self.results.start(list(ALWAYS_RUN))
        self.records.show_records((), "The check is running…")
        self.tabs.setTabText(1, "Records to publish")
        self.letter.clear()
        self.copy_letter_button.setEnabled(False)
        self.progress.setRange(0, len(ALWAYS_RUN))
        self.progress.setValue(0)
        self.status.setText(f"Checking the DNS of {domain}…")
        try:
            report, verdict = await run_dns_check(self.profile, self.store, self.nameserver, self._on_progress)
        except asyncio.CancelledError:
            self.results.finish(cancelled=True)
            self.status.setText("DNS check cancelled. Click “Check again” to start over.")
            raise
        except InvalidInputError as exc:
            self.results.clear()
            self.status.setText(f"Cannot check the DNS: {exc}")
            return None
        self.report = report
        for result in report.checks:
            self.results.show_result(result)
        self.results.finish()
        self.records.show_records(report.recommendations)
        self.tabs.setTabText(1, f"Records to publish ({len(report.recommendations)})")
        self.letter.setPlainText(report.letter)
        self.copy_letter_button.setEnabled(bool(report.letter))
        self.status.setText(describe_verdict(report).replace("You can continue; send", "Send"))
        self.verdict_recorded.emit(verdict)
        return verdict

    def _on_progress(self, result: CheckResult) -> None:
        self.results.show_result(result)
        self.progress.setValue(min(self.progress.maximum(), self.progress.value() + 1))

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.recheck_button.setEnabled(not busy)

    @override
    def done(self, result: int) -> None:
        self.tasks.cancel()
        super().done(result)

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        self.tasks.cancel()
        super().closeEvent(event)
