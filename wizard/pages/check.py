"""Check the connection step by step, without freezing the window; Cancel really cancels.

Every profile runs the check the CLI runs (`check_profile`: token, then SMTP or Microsoft Graph), with the
wizard's unsaved secrets passed in memory (the state's DraftSecrets: what was typed, else the saved profile's).
When Microsoft 365 SMTP fails because SMTP AUTH is disabled, the page offers Microsoft Graph instead.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
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
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.check import GRAPH_STEP_TITLES, STEP_TITLES, CheckReport, Step, StepStatus, check_profile
from wizard.services.model import AuthMode, ProviderKind
from wizard.widgets.colours import tinted
from wizard.widgets.diagnosis_box import DiagnosisBox

_GLYPHS = {StepStatus.RUNNING, StepStatus.SKIPPED}
_ICONS = {
    StepStatus.RUNNING: QStyle.StandardPixmap.SP_BrowserReload,
    StepStatus.PASSED: QStyle.StandardPixmap.SP_DialogApplyButton,
    StepStatus.FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,
    StepStatus.SKIPPED: QStyle.StandardPixmap.SP_MediaSkipForward,
}
_WORDS = {StepStatus.RUNNING: "running…", StepStatus.PASSED: "passed", StepStatus.FAILED: "failed",
          StepStatus.SKIPPED: "skipped"}
_ALL_STEPS = {"token": GRAPH_STEP_TITLES["token"], **STEP_TITLES, **GRAPH_STEP_TITLES}


def step_names(state: WizardState) -> list[str]:
    """The rows the check shows for this provider and sign-in."""
    if state.draft.provider is ProviderKind.GRAPH:
        return list(GRAPH_STEP_TITLES)
    return (["token"] if state.draft.auth is not AuthMode.PASSWORD else []) + list(STEP_TITLES)


class CheckPage(QWizardPage):
    check_finished = Signal(bool)  # True: every step passed; False: failed or cancelled
    use_graph_requested = Signal()  # the wizard goes back to the Microsoft sign-in page, now for Graph

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
        self._statuses: dict[str, StepStatus] = {}
        self._row_widgets: dict[str, tuple[QLabel, ...]] = {}
        for row, (name, title) in enumerate(_ALL_STEPS.items()):
            icon = QLabel()
            icon.setFixedSize(16, 16)
            result = QLabel()
            result.setObjectName(f"step-{name}")
            result.setAccessibleName(f"{title}: result")
            result.setWordWrap(True)
            result.setTextFormat(Qt.TextFormat.PlainText)
            result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            title_label = QLabel(title)
            grid.addWidget(icon, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(title_label, row, 1, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(result, row, 2, Qt.AlignmentFlag.AlignTop)
            self._row_widgets[name] = (icon, title_label, result)
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
        self.run_button.setAccessibleName("Check the connection now")
        self.cancel_button = QPushButton("Cancel check")
        self.cancel_button.setObjectName("cancelCheck")
        self.cancel_button.setAccessibleName("Cancel the check")
        self.cancel_button.setEnabled(False)
        self.send_test_button = QPushButton("Send test mail…")
        self.send_test_button.setObjectName("sendTestMail")
        self.send_test_button.setAccessibleName("Send test mail through this account")
        self.send_test_button.setEnabled(False)
        self.use_graph_button = QPushButton("Use Microsoft Graph instead")
        self.use_graph_button.setObjectName("useGraphInstead")
        self.use_graph_button.setAccessibleName("Use Microsoft Graph instead of SMTP")
        self.use_graph_button.setToolTip("Keeps the tenant, client ID and app registration; the next pages add "
                                         "Graph's Mail.Send permission.")
        self.use_graph_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_graph_button)
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
        self.use_graph_button.clicked.connect(self.use_graph_instead)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self.send_test_dialog: SendTestDialog | None = None
        # The running step counts its seconds, so a slow server (or a port waiting for the wrong security) is
        # seen to be waiting, not frozen.
        self.clock = time.monotonic
        self._running: tuple[str, float] | None = None  # step name, started at (clock)
        self.elapsed_timer = QTimer(self)
        self.elapsed_timer.setInterval(1000)
        self.elapsed_timer.timeout.connect(self.show_elapsed)

    @override
    def initializePage(self) -> None:
        shown = set(step_names(self.state))
        for name, widgets in self._row_widgets.items():
            for widget in widgets:
                widget.setVisible(name in shown)
        self.use_graph_button.hide()
        if self.state.check_passed() and self.state.report is not None:
            self._show_report(self.state.report)
        else:
            self._reset_rows()
            self.diagnosis.show_diagnosis(None)
            self.status.setText(f"Ready to check {self._target()}." if self._target() else "Not checked yet.")
            if self.autostart:
                self._on_run_clicked()

    def _target(self) -> str:
        if self.state.draft.provider is ProviderKind.GRAPH:
            return f"Microsoft Graph for {self.state.draft.from_address.strip()}"
        host = self.state.draft.host.strip()
        return f"{host} port {self.state.draft.port}" if host else ""

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()

    @override
    def isComplete(self) -> bool:
        return not self.tasks.busy and self.state.check_passed()

    @async_slot()
    async def _on_run_clicked(self) -> None:
        await self.tasks.run(self._check())

    async def _check(self) -> None:
        self._reset_rows()
        self.diagnosis.show_diagnosis(None)
        self.capabilities.hide()
        self.use_graph_button.hide()
        self.status.setText(f"Checking {self._target()}…")
        try:
            report = await check_profile(self.state.profile(), on_step=self._show_step, secrets=self.state.secrets)
        except asyncio.CancelledError:
            self._show_cancelled()
            self.check_finished.emit(False)
            raise
        self.state.record_check(report)
        self._show_report(report)
        self.check_finished.emit(report.ok)

    def offers_graph(self, report: CheckReport) -> bool:
        return (self.state.draft.provider is ProviderKind.M365_SMTP and report.diagnosis is not None
                and report.diagnosis.code == "basic_auth_disabled")

    def use_graph_instead(self) -> None:
        """Same tenant, client ID and sign-in mode; Graph sends over HTTPS, so the SMTP server settings go."""
        s = self.state
        s.draft = replace(s.draft, provider=ProviderKind.GRAPH, host="", port=443)
        s.report = None
        self.use_graph_requested.emit()

    def _reset_rows(self) -> None:
        self._stop_elapsed()
        self._statuses.clear()
        for name in _ALL_STEPS:
            self._icons[name].clear()
            self._results[name].setText("")

    def _set_row(self, name: str, status: StepStatus, text: str) -> None:
        self._statuses[name] = status
        self._draw_icon(name, status)
        self._results[name].setText(text)

    def _draw_icon(self, name: str, status: StepStatus) -> None:
        pixmap = self.style().standardIcon(_ICONS[status]).pixmap(16, 16)
        if status in _GLYPHS:  # drawn in black by some styles: in the text colour, so dark mode shows them too
            pixmap = tinted(pixmap, self.palette().color(QPalette.ColorRole.WindowText))
        self._icons[name].setPixmap(pixmap)

    @override
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for name, status in self._statuses.items():
                self._draw_icon(name, status)

    def step_result(self, name: str) -> str:
        return self._results[name].text()

    def _show_step(self, step: Step) -> None:
        if step.name not in self._results:
            return
        text = _WORDS[step.status] if not step.detail else f"{_WORDS[step.status]}: {step.detail}"
        if step.status is StepStatus.PASSED and step.name == "ehlo":
            text = "passed (capabilities below)"
        self._set_row(step.name, step.status, text)
        if step.status is StepStatus.RUNNING:
            self._running = (step.name, self.clock())
            self.elapsed_timer.start()
        elif self._running is not None and self._running[0] == step.name:
            self._stop_elapsed()

    def show_elapsed(self) -> None:
        """The running step's row: "running… 7 s" (whole seconds since it started)."""
        if self._running is None:
            return
        name, since = self._running
        if self._statuses.get(name) is StepStatus.RUNNING:
            self._results[name].setText(f"{_WORDS[StepStatus.RUNNING]} {int(self.clock() - since)} s")

    def _stop_elapsed(self) -> None:
        self._running = None
        self.elapsed_timer.stop()

    def _show_report(self, report: CheckReport) -> None:
        self._stop_elapsed()
        for step in report.steps:
            self._show_step(step)
        if report.capabilities:
            self.capabilities.setText("Server capabilities (EHLO): " + ", ".join(report.capabilities))
            self.capabilities.show()
        self.diagnosis.show_diagnosis(report.diagnosis)
        self.use_graph_button.setVisible(self.offers_graph(report))
        if report.ok:
            self.status.setText("Every step passed: the server accepts this account. Click Next for the sender "
                                "settings, the DNS check and a test mail.")
        else:
            failed = next((s.title for s in report.steps if s.status is StepStatus.FAILED), "a step")
            self.status.setText(f"The check stopped at “{failed}”. Fix the problem described below, go Back to "
                                "change the settings, and click “Check now”.")

    def _show_cancelled(self) -> None:
        self._stop_elapsed()
        for name in step_names(self.state):
            if self._statuses.get(name, StepStatus.RUNNING) is StepStatus.RUNNING:
                self._set_row(name, StepStatus.SKIPPED, "cancelled")
        self.status.setText("Check cancelled. Click “Check now” to start over.")

    def _on_busy_changed(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.run_button.setEnabled(not busy)
        self.send_test_button.setEnabled(not busy and self.state.check_passed())
        self.completeChanged.emit()

    def open_send_test(self) -> None:
        """Non-modal to the event loop: open(), never exec()."""
        dialog = SendTestDialog(self.state.profile(), self.state.secrets, self)
        self.send_test_dialog = dialog
        dialog.open()
