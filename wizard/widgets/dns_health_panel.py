"""The DNS health of one sender domain: status, progress with Check now / Cancel check, and tabs with a row
per check (details and fix), the records to publish (each with Copy) and the letter for the DNS admin (Copy,
Save as…). The wizard's DNS page and the main window's DNS dialog are thin owners of this panel.

The owner plans each check (`DnsCheckPlan`); the panel runs it as a cancellable asyncio task and shows the
progress and the report. This module never imports `wizard.services.dns_health`: the owner's `run` imports it
in a worker thread, so dnspython stays out of the window's start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wizard.qt_async import TaskTracker, async_slot
from wizard.services.validation import InvalidInputError
from wizard.widgets.check_results import CheckResultList

if TYPE_CHECKING:
    from wizard.services.dns_health import CheckResult, HealthReport, Recommendation

CHECK_TITLES = {
    "spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "sender_rules": "Receiver rules", "mx": "MX",
    "submission_tls": "Submission TLS", "ptr": "Reverse DNS", "mta_sts": "MTA-STS", "tls_rpt": "TLS-RPT",
    "bimi": "BIMI", "dnssec": "DNSSEC",
}
ALWAYS_RUN = ("spf", "dkim", "dmarc", "sender_rules", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec")

ProgressCallback = Callable[["CheckResult"], None]


@dataclass(frozen=True)
class DnsCheckPlan:
    """One check to run: the domain (status line, the letter's file name), the checks that will report (their
    rows show "Checking…" meanwhile), and the check itself, calling `on_progress` as each check finishes."""

    domain: str
    expected: Sequence[str]
    run: Callable[[ProgressCallback], Awaitable[HealthReport]]


def _button(text: str, name: str, accessible: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    return button


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def describe_verdict(report: HealthReport, *, can_continue: bool = True) -> str:
    """One sentence for the status line: all green, or the counts of problems and what to do. `can_continue`
    adds that the problems do not stop the wizard."""
    counts = {status: sum(1 for c in report.checks if c.status == status) for status in ("fail", "warn", "error")}
    wait = ""
    if report.max_ttl:
        minutes = max(1, round(report.max_ttl / 60))
        unit = "minute" if minutes == 1 else "minutes"
        wait = f" After a DNS change, allow up to {minutes} {unit} (the records' TTL) before checking again."
    if not any(counts.values()):
        return f"All green: {report.domain} is ready for sending." + wait
    parts = []
    if counts["fail"]:
        parts.append(f"{counts['fail']} problem{'s' if counts['fail'] != 1 else ''}")
    if counts["warn"]:
        parts.append(f"{counts['warn']} warning{'s' if counts['warn'] != 1 else ''}")
    if counts["error"]:
        parts.append(f"{counts['error']} check{'s' if counts['error'] != 1 else ''} could not be done "
                     "(DNS did not answer)")
    advice = "You can continue; send" if can_continue else "Send"
    return f"{', '.join(parts).capitalize()}. {advice} the records or the letter to your DNS admin." + wait


class RecordList(QScrollArea):
    """The records to publish: type, name and value, each value with a copy button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dnsRecords")
        self.setAccessibleName("Records to publish")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.values: list[QLineEdit] = []
        self.show_records((), "Not checked yet.")

    def show_records(self, records: tuple[Recommendation, ...],
                     empty_text: str = "Nothing to publish: no record needs to be added or changed.") -> None:
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setColumnStretch(1, 1)
        self.values = []
        if not records:
            grid.addWidget(QLabel(empty_text), 0, 0, 1, 3)
        for number, record in enumerate(records):
            spf = record.record_type == "TXT" and record.value.startswith("v=spf1")
            where = QLabel(f"<b>{record.record_type}</b> at <b>{record.name}</b>")
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            why = QLabel(record.why)
            why.setWordWrap(True)
            why.setContentsMargins(0, 0, 0, 8)
            value = QLineEdit(record.value)
            value.setReadOnly(True)
            value.setCursorPosition(0)
            value.setObjectName("spfRecord" if spf else f"record-{number}")
            value.setAccessibleName(f"{record.record_type} record value for {record.name}")
            copy = _button("Copy", "copySpf" if spf else f"copyRecord-{number}",
                           f"Copy the {record.record_type} record for {record.name}")
            copy.clicked.connect(lambda _checked=False, text=record.value: copy_text(text))
            row = number * 3
            grid.addWidget(where, row, 0, 1, 3)
            grid.addWidget(value, row + 1, 0, 1, 2)
            grid.addWidget(copy, row + 1, 2)
            grid.addWidget(why, row + 2, 0, 1, 3)
            self.values.append(value)
        grid.setRowStretch(len(records) * 3 + 1, 1)
        self.setWidget(inner)


class DnsHealthPanel(QWidget):
    """Runs the check `plan()` describes (or shows the reason it returns instead) and shows the outcome."""

    finished = Signal(object)  # the HealthReport; None when cancelled or when the domain could not be checked

    def __init__(self, plan: Callable[[], DnsCheckPlan | str], parent: QWidget | None = None, *,
                 can_continue: bool = True) -> None:
        super().__init__(parent)
        self._plan = plan
        self._can_continue = can_continue
        self._domain = ""
        self.tasks = TaskTracker(self)
        self.report: HealthReport | None = None
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
        policy.setRetainSizeWhenHidden(True)  # the buttons keep their place while no check runs
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self.recheck_button = _button("Check now", "recheckDns", "Check the DNS now")
        self.cancel_button = _button("Cancel check", "cancelDns", "Cancel the DNS check")
        self.cancel_button.setEnabled(False)
        controls = QHBoxLayout()
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.recheck_button)
        controls.addWidget(self.cancel_button)

        self.results = CheckResultList(CHECK_TITLES)
        self.records = RecordList()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("dnsTabs")
        self.tabs.setAccessibleName("DNS results")
        self.tabs.addTab(self.results, "Checks")
        self.tabs.addTab(self.records, "Records to publish")
        self.tabs.addTab(self._letter_tab(), "Letter to your DNS admin")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.target)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)

        self._letter_dialog: QFileDialog | None = None
        self.recheck_button.clicked.connect(self.start_check)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.tasks.busy_changed.connect(self._on_busy_changed)

    def _letter_tab(self) -> QWidget:
        self.letter = QPlainTextEdit()
        self.letter.setObjectName("dnsLetter")
        self.letter.setAccessibleName("Letter to your DNS administrator")
        self.letter.setReadOnly(True)
        self.copy_letter_button = _button("Copy letter", "copyLetter", "Copy the letter")
        self.save_letter_button = _button("Save as…", "saveLetter", "Save the letter as a text file")
        self.copy_letter_button.clicked.connect(lambda: copy_text(self.letter.toPlainText()))
        self.save_letter_button.clicked.connect(self._choose_letter_file)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Send this to whoever manages your domain's DNS."), 1)
        buttons.addWidget(self.copy_letter_button)
        buttons.addWidget(self.save_letter_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.letter, 1)
        layout.addLayout(buttons)
        self._show_letter("")
        return tab

    @async_slot()
    async def start_check(self) -> None:
        """Check now; a check still running (or still winding down after Cancel) is cancelled first."""
        if self.tasks.cancel() or self.tasks.busy:
            await self.tasks.wait()
        await self.tasks.run(self._check())

    async def _check(self) -> None:
        self.report = None
        plan = self._plan()
        if isinstance(plan, str):
            self._show_not_checked(plan)
            return
        self._domain = plan.domain
        self.results.start(list(plan.expected))
        self.records.show_records((), "The check is running…")
        self.tabs.setTabText(1, "Records to publish")
        self._show_letter("")
        self.progress.setRange(0, len(plan.expected))
        self.progress.setValue(0)
        self.status.setText(f"Checking the DNS of {plan.domain}…")
        try:
            report = await plan.run(self._on_progress)
        except InvalidInputError as exc:
            self._show_not_checked(f"Cannot check the DNS: {exc}")
            return
        except asyncio.CancelledError:
            self.results.finish(cancelled=True)
            self.status.setText("DNS check cancelled. Click “Check now” to start over.")
            self.finished.emit(None)
            raise
        self.report = report
        for result in report.checks:
            self.results.show_result(result)
        self.results.finish()
        self.records.show_records(report.recommendations)
        self.tabs.setTabText(1, f"Records to publish ({len(report.recommendations)})")
        self._show_letter(report.letter)
        self.status.setText(describe_verdict(report, can_continue=self._can_continue))
        self.finished.emit(report)

    def _show_not_checked(self, reason: str) -> None:
        self.results.clear()
        self.records.show_records((), "Not checked.")
        self._show_letter("")
        self.status.setText(reason)
        self.finished.emit(None)

    def _on_progress(self, result: CheckResult) -> None:
        self.results.show_result(result)
        if self.progress.value() < self.progress.maximum():
            self.progress.setValue(self.progress.value() + 1)

    def _show_letter(self, letter: str) -> None:
        self.letter.setPlainText(letter)
        self.copy_letter_button.setEnabled(bool(letter))
        self.save_letter_button.setEnabled(bool(letter))

    def _choose_letter_file(self) -> None:
        dialog = QFileDialog(self, "Save the letter", f"dns-{self._domain or 'domain'}.txt",
                             "Text files (*.txt);;All files (*)")
        dialog.setObjectName("letterFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("txt")
        dialog.fileSelected.connect(self.save_letter)
        self._letter_dialog = dialog
        dialog.open()

    def save_letter(self, path: str) -> None:
        try:
            Path(path).write_text(self.letter.toPlainText(), encoding="utf-8")
        except OSError as exc:
            self.status.setText(f"The letter could not be saved to {path}: {exc.strerror or exc}")
            return
        self.status.setText(f"Letter saved to {path}.")

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.recheck_button.setEnabled(not busy)
