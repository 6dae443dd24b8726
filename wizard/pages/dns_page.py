"""DNS health of the sender's domain for the chosen provider: a traffic light per check, records, the letter.

The check never blocks the window (an asyncio task; Cancel really cancels) and never blocks the wizard:
a domain that is not green yet is a warning, the account still works for most receivers meanwhile.
`wizard.services.dns_health` (dnspython) is imported only when a check starts, in a worker thread.
"""

from __future__ import annotations

import asyncio
import importlib
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
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import providers
from wizard.services.config import ProviderKind
from wizard.services.providers import Provider
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


def sending_domain(state: WizardState) -> str:
    """The domain receivers see in From: the postmaster's when the postmaster is forced as sender."""
    address = state.postmaster if state.force_postmaster_sender and state.postmaster.strip() else state.from_address
    return address.strip().rpartition("@")[2].lower()


def chosen_provider(state: WizardState) -> Provider | None:
    try:
        return providers.for_profile_provider(state.provider.value, state.preset)
    except KeyError:
        return None


def _button(text: str, name: str, accessible: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    return button


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


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def describe_verdict(report: HealthReport) -> str:
    """One sentence for the status line: all green, or the counts of problems and what to do."""
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
    return (f"{', '.join(parts).capitalize()}. You can continue; send the records or the letter to your DNS "
            "admin." + wait)


class DnsHealthPage(QWizardPage):
    check_finished = Signal(bool)  # True: nothing failed; False: problems, lookup errors, or cancelled

    def __init__(self, state: WizardState, parent: QWidget | None = None, *, nameserver: str | None = None,
                 autostart: bool = True, timeout_s: float | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.nameserver = nameserver  # "IP[:PORT]"; None = the system's resolver
        self.autostart = autostart
        self.timeout_s = timeout_s
        self.tasks = TaskTracker(self)
        self.report: HealthReport | None = None
        self._checked_for: tuple[str, str, str] | None = None
        self.setTitle("DNS health of your domain")
        self.setSubTitle("Receivers such as Gmail and Outlook.com check SPF, DKIM and DMARC. Problems here do not "
                         "stop the account from working; fix them to keep your mail out of spam.")

        self.target = QLabel()
        self.target.setObjectName("dnsTarget")
        self.target.setAccessibleName("Domain and provider checked")
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
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self.recheck_button = _button("Check again", "recheckDns", "Check the DNS again")
        self.cancel_button = _button("Cancel", "cancelDns", "Cancel the DNS check")
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
        self.save_letter_button = _button("Save as…", "saveLetter", "Save the letter as a text file")
        letter_buttons = QHBoxLayout()
        letter_buttons.addWidget(QLabel("Send this to whoever manages your domain's DNS."), 1)
        letter_buttons.addWidget(self.copy_letter_button)
        letter_buttons.addWidget(self.save_letter_button)
        letter_tab = QWidget()
        letter_layout = QVBoxLayout(letter_tab)
        letter_layout.addWidget(self.letter, 1)
        letter_layout.addLayout(letter_buttons)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("dnsTabs")
        self.tabs.setAccessibleName("DNS results")
        self.tabs.addTab(self.results, "Checks")
        self.tabs.addTab(self.records, "Records to publish")
        self.tabs.addTab(letter_tab, "Letter to your DNS admin")

        layout = QVBoxLayout(self)
        layout.addWidget(self.target)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)

        self._letter_dialog: QFileDialog | None = None
        self.recheck_button.clicked.connect(self._on_recheck_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.copy_letter_button.clicked.connect(lambda: copy_text(self.letter.toPlainText()))
        self.save_letter_button.clicked.connect(self._choose_letter_file)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self._show_letter_buttons()

    def _target_key(self) -> tuple[str, str, str]:
        provider = chosen_provider(self.state)
        return (sending_domain(self.state), provider.id if provider else "", self.state.host.strip())

    @override
    def initializePage(self) -> None:
        domain, provider = sending_domain(self.state), chosen_provider(self.state)
        via = provider.name if provider else "your SMTP server"
        self.target.setText(f"Domain <b>{domain or '(no sender address)'}</b>, sending through <b>{via}</b>.")
        if self.report is not None and self._checked_for == self._target_key():
            return
        self.status.setText("Not checked yet.")
        if self.autostart:
            self._on_recheck_clicked()

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()

    @override
    def validatePage(self) -> bool:
        self.tasks.cancel()  # moving on with a check still running: stop it, do not hold the user up
        return True

    @override
    def isComplete(self) -> bool:
        return True  # DNS problems are warnings: the account works, receivers may junk its mail until fixed

    @async_slot()
    async def _on_recheck_clicked(self) -> None:
        await self.tasks.run(self._check())

    def _expected_checks(self) -> list[str]:
        expected = list(ALWAYS_RUN)
        if self._smtp_host():
            expected.insert(5, "submission_tls")
        return expected

    def _smtp_host(self) -> str:
        return "" if self.state.provider is ProviderKind.GRAPH else self.state.host.strip()

    async def _check(self) -> None:
        domain = sending_domain(self.state)
        if not domain:
            self.results.clear()
            self.status.setText("There is no sender address to check yet: go Back and enter one.")
            self.check_finished.emit(False)
            return
        provider = chosen_provider(self.state)
        expected = self._expected_checks()
        self.report = None
        self.records.show_records((), "The check is running…")
        self.tabs.setTabText(1, "Records to publish")
        self.letter.clear()
        self._show_letter_buttons()
        self.results.start(expected)
        self.progress.setRange(0, len(expected))
        self.progress.setValue(0)
        self.status.setText(f"Checking the DNS of {domain}…")
        try:
            dns_health = await asyncio.to_thread(importlib.import_module, "wizard.services.dns_health")
            options = {} if self.timeout_s is None else {"timeout_s": self.timeout_s}
            report: HealthReport = await dns_health.check_domain(
                domain, provider=provider, nameserver=self.nameserver, smtp_host=self._smtp_host() or None,
                smtp_port=self.state.port, smtp_security=self.state.security.value,
                ca_file=self.state.ca_file.strip() or None, on_progress=self._on_progress, **options)
        except InvalidInputError as exc:
            self.results.clear()
            self.status.setText(f"Cannot check the DNS: {exc}")
            self.check_finished.emit(False)
            return
        except asyncio.CancelledError:
            self.results.finish(cancelled=True)
            self.status.setText("DNS check cancelled. Click “Check again” to start over.")
            self.check_finished.emit(False)
            raise
        self.report = report
        self._checked_for = self._target_key()
        for result in report.checks:
            self.results.show_result(result)
        self.results.finish()
        self.records.show_records(report.recommendations)
        self.tabs.setTabText(1, f"Records to publish ({len(report.recommendations)})")
        self.letter.setPlainText(report.letter)
        self._show_letter_buttons()
        self.status.setText(describe_verdict(report))
        self.check_finished.emit(report.ok)

    def _on_progress(self, result: CheckResult) -> None:
        self.results.show_result(result)
        if self.progress.value() < self.progress.maximum():
            self.progress.setValue(self.progress.value() + 1)

    def _show_letter_buttons(self) -> None:
        has_letter = bool(self.letter.toPlainText())
        self.copy_letter_button.setEnabled(has_letter)
        self.save_letter_button.setEnabled(has_letter)

    def _choose_letter_file(self) -> None:
        dialog = QFileDialog(self, "Save the letter", f"dns-{sending_domain(self.state) or 'domain'}.txt",
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
