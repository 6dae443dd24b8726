"""Check the connection step by step, without freezing the window; Cancel really cancels."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.dialogs.send_test import SendTestDialog
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import diagnostics, secrets
from wizard.services.check import STEP_TITLES, CheckReport, Step, StepStatus, check_smtp
from wizard.services.diagnostics import Diagnosis
from wizard.services.secrets import SecretKind
from wizard.services.transports.base import Credential, PasswordCredential
from wizard.widgets.diagnosis_box import DiagnosisBox

_ICONS = {
    StepStatus.RUNNING: QStyle.StandardPixmap.SP_BrowserReload,
    StepStatus.PASSED: QStyle.StandardPixmap.SP_DialogApplyButton,
    StepStatus.FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,
    StepStatus.SKIPPED: QStyle.StandardPixmap.SP_MediaSkipForward,
}
_WORDS = {StepStatus.RUNNING: "running…", StepStatus.PASSED: "passed", StepStatus.FAILED: "failed",
          StepStatus.SKIPPED: "skipped"}


class CheckPage(QWizardPage):
    check_finished = Signal(bool)  # True: every step passed; False: failed or cancelled

    def __init__(self, state: WizardState, autostart: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.autostart = autostart
        self.tasks = TaskTracker(self)
        self.setTitle("Check the connection")
        self.setSubTitle("Mailwright signs in and asks the server to accept the sender address. Nothing is sent.")

        self.steps = QFrame()
        self.steps.setObjectName("checkSteps")
        self.steps.setAccessibleName("Check steps")
        self.steps.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self.steps)
        grid.setColumnStretch(2, 1)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        self._icons: dict[str, QLabel] = {}
        self._results: dict[str, QLabel] = {}
        for row, (name, title) in enumerate(STEP_TITLES.items()):
            icon = QLabel()
            icon.setFixedSize(16, 16)
            result = QLabel()
            result.setObjectName(f"step-{name}")
            result.setAccessibleName(f"{title}: result")
            result.setWordWrap(True)
            result.setTextFormat(Qt.TextFormat.PlainText)
            result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(icon, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(QLabel(title), row, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(result, row, 2, Qt.AlignmentFlag.AlignTop)
            self._icons[name] = icon
            self._results[name] = result

        self.status = QLabel("Not checked yet.")
        self.status.setObjectName("checkStatus")
        self.status.setAccessibleName("Check status")
        self.status.setWordWrap(True)
        self.capabilities = QLabel()
        self.capabilities.setObjectName("capabilities")
        self.capabilities.setAccessibleName("Server capabilities")
        self.capabilities.setWordWrap(True)
        self.capabilities.hide()
        self.diagnosis = DiagnosisBox()

        self.run_button = QPushButton("Check now")
        self.run_button.setObjectName("runCheck")
        self.run_button.setAccessibleName("Run the check again")
        self.cancel_button = QPushButton("Cancel check")
        self.cancel_button.setObjectName("cancelCheck")
        self.cancel_button.setAccessibleName("Cancel the check")
        self.cancel_button.setEnabled(False)
        self.send_test_button = QPushButton("Send a test mail…")
        self.send_test_button.setObjectName("sendTestMail")
        self.send_test_button.setAccessibleName("Send a test mail")
        self.send_test_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_test_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.steps)
        layout.addWidget(self.status)
        layout.addWidget(self.capabilities)
        layout.addLayout(buttons)
        layout.addWidget(self.diagnosis)
        layout.addStretch(1)

        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.send_test_button.clicked.connect(self.open_send_test)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self.send_test_dialog: SendTestDialog | None = None

    @override
    def initializePage(self) -> None:
        if self.state.check_passed() and self.state.report is not None:
            self._show_report(self.state.report)
        else:
            self._reset_rows()
            self.diagnosis.show_diagnosis(None)
            host = self.state.host.strip()
            self.status.setText(f"Ready to check {host} port {self.state.port}." if host else "Not checked yet.")
            if self.autostart:
                self._on_run_clicked()

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()

    @override
    def isComplete(self) -> bool:
        return not self.tasks.busy and self.state.check_passed()

    @override
    def nextId(self) -> int:
        return int(PageId.SUMMARY)

    @async_slot()
    async def _on_run_clicked(self) -> None:
        await self.tasks.run(self._check())

    async def _check(self) -> None:
        self.run_button.setText("Check again")
        self._reset_rows()
        self.diagnosis.show_diagnosis(None)
        self.capabilities.hide()
        self.status.setText(f"Checking {self.state.host.strip()} port {self.state.port}…")
        profile = self.state.profile()
        try:
            credential = await self._credential()
            if isinstance(credential, Diagnosis):
                report = CheckReport([Step("auth", StepStatus.FAILED, credential.title)], credential)
            else:
                report = await check_smtp(profile, credential, on_step=self._show_step)
        except asyncio.CancelledError:
            self._show_cancelled()
            self.check_finished.emit(False)
            raise
        self.state.record_check(report)
        self._show_report(report)
        self.check_finished.emit(report.ok)

    async def _credential(self) -> Credential | Diagnosis:
        """The typed password, or the saved one from the keyring when editing and the field was left empty."""
        if not self.state.needs_saved_password():
            return self.state.credential()
        try:
            password = await secrets.load_secret_async(self.state.editing, SecretKind.PASSWORD)
        except secrets.KeyringUnavailableError as exc:
            return diagnostics.make("keyring_unavailable", reason=str(exc))
        if password is None:
            return diagnostics.make("secret_missing")
        self.state.password = password
        return PasswordCredential(self.state.username.strip(), password)

    def _reset_rows(self) -> None:
        for name in STEP_TITLES:
            self._icons[name].clear()
            self._results[name].setText("")

    def _set_row(self, name: str, status: StepStatus, text: str) -> None:
        icon = self.style().standardIcon(_ICONS[status])
        self._icons[name].setPixmap(icon.pixmap(16, 16))
        self._results[name].setText(text)

    def step_result(self, name: str) -> str:
        return self._results[name].text()

    def _show_step(self, step: Step) -> None:
        if step.name not in self._results:
            return
        text = _WORDS[step.status] if not step.detail else f"{_WORDS[step.status]}: {step.detail}"
        if step.status is StepStatus.PASSED and step.name == "ehlo":
            text = "passed (capabilities below)"
        self._set_row(step.name, step.status, text)

    def _show_report(self, report: CheckReport) -> None:
        for step in report.steps:
            self._show_step(step)
        if report.capabilities:
            self.capabilities.setText("Server capabilities (EHLO): " + ", ".join(report.capabilities))
            self.capabilities.show()
        self.diagnosis.show_diagnosis(report.diagnosis)
        if report.ok:
            self.status.setText("Every step passed: the server accepts this account. Send a test mail, or click "
                                "Next to save the account.")
        else:
            failed = next((s.title for s in report.steps if s.status is StepStatus.FAILED), "a step")
            self.status.setText(f"The check stopped at “{failed}”. Fix the problem described below, go Back to "
                                "change the settings, and check again.")

    def _show_cancelled(self) -> None:
        for name in STEP_TITLES:
            if self.step_result(name) in {"", _WORDS[StepStatus.RUNNING]}:
                self._set_row(name, StepStatus.SKIPPED, "cancelled")
        self.status.setText("Check cancelled. Click “Check again” to start over.")

    def _on_busy_changed(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.run_button.setEnabled(not busy)
        self.send_test_button.setEnabled(not busy and self.state.check_passed())
        self.completeChanged.emit()

    def open_send_test(self) -> None:
        """Non-modal to the event loop: open(), never exec()."""
        dialog = SendTestDialog(self.state.profile(), self.state.credential(), self)
        self.send_test_dialog = dialog
        dialog.open()
