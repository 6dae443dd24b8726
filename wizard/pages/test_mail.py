"""Send a real test mail through the account being set up (not saved yet), and show what the server said.

It signs in with the wizard's unsaved secrets, passed in memory: the typed password (or the saved one when an
existing account is edited and the field was left empty), the typed client secret, or the tokens the sign-in
page obtained. Nothing is written to the keyring before Save.
The step is optional: Next skips it.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.diagnostics import Diagnosis
from wizard.services.message import build_test_message, envelope_recipients
from wizard.services.model import ProviderKind
from wizard.services.submission import SubmissionError
from wizard.services.transports.base import SendResult, TransportError
from wizard.services.validation import InvalidInputError
from wizard.widgets.diagnosis_box import DiagnosisBox
from wizard.widgets.form_widgets import scrolling, selectable_text
from wizard.widgets.test_mail_form import TestMailForm, accepted_text, deliver_test_mail, named


class TestMailPage(QWizardPage):
    __test__ = False  # not a pytest test class, whatever its name says
    send_finished = Signal(bool)  # True: the server accepted the message

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = TaskTracker(self)
        self.result: SendResult | None = None
        self.setTitle("Send test mail")
        self.setSubTitle("Send a real message through the account and see it arrive. This step is optional: "
                         "click Next to skip it.")

        self.form = TestMailForm(state.profile(), body_lines=6)
        self.status_icon = QLabel()
        self.status_icon.setFixedSize(24, 24)
        self.status = selectable_text("testMailStatus", "Result")
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_icon, 0, Qt.AlignmentFlag.AlignTop)
        status_row.addWidget(self.status, 1)
        self.diagnosis = DiagnosisBox()

        self.progress = QProgressBar()
        named(self.progress, "testMailProgress", "Sending")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self.send_button = QPushButton("Send test mail")
        named(self.send_button, "sendTestMailNow", "Send the test mail")
        self.cancel_button = QPushButton("Cancel sending")
        named(self.cancel_button, "cancelTestMail", "Cancel sending")
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.cancel_button)

        # the result and a diagnosis can be long: they scroll instead of growing the window past 800x600
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.form, 1)  # the message box grows into the page instead of leaving it empty
        column.addLayout(status_row)
        column.addWidget(self.diagnosis)
        self.scroll_area = scroll = scrolling(content, "testMailScroll")
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

        self.send_button.clicked.connect(self._on_send_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.form.changed.connect(self._update_buttons)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self._update_buttons()

    @override
    def initializePage(self) -> None:
        profile = self.state.profile()
        if profile != self.form.profile:
            self.form.set_profile(profile)
            self.result = None
            self._show_outcome(None, "")
            self.diagnosis.show_diagnosis(None)

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()

    @override
    def isComplete(self) -> bool:
        return not self.tasks.busy  # skipping is fine; leaving mid-send is not (Cancel first)

    @async_slot()
    async def _on_send_clicked(self) -> None:
        await self.tasks.run(self._send())

    async def _send(self) -> None:
        self.result = None
        self.diagnosis.show_diagnosis(None)
        self._show_outcome(None, "")
        profile = self.state.profile()
        try:
            message = await asyncio.to_thread(build_test_message, self.form.mail())  # reads the attachment
        except InvalidInputError as exc:
            self._fail(QStyle.StandardPixmap.SP_MessageBoxWarning, str(exc))
            return
        via = "Microsoft Graph" if profile.provider is ProviderKind.GRAPH else profile.host
        self.status.setText(f"Sending to {', '.join(envelope_recipients(message))} through {via}…")
        try:
            result = await deliver_test_mail(profile, self.state.secrets, message)
        except SubmissionError as exc:
            self._fail(QStyle.StandardPixmap.SP_MessageBoxWarning, f"The message was not sent: {exc}")
            return
        except TransportError as exc:
            self._fail(QStyle.StandardPixmap.SP_MessageBoxCritical, "The message was not sent.", exc.diagnosis)
            return
        except asyncio.CancelledError:
            self.status.setText("Sending cancelled. If the server had already accepted the message, it may still "
                                "arrive.")
            self.send_finished.emit(False)
            raise
        self.result = result
        self._show_outcome(QStyle.StandardPixmap.SP_DialogApplyButton, accepted_text(result, message["Message-ID"]))
        self.send_finished.emit(True)

    def _fail(self, icon: QStyle.StandardPixmap, text: str, diagnosis: Diagnosis | None = None) -> None:
        self._show_outcome(icon, text)
        self.diagnosis.show_diagnosis(diagnosis)
        if diagnosis is not None:
            self.scroll_area.ensureWidgetVisible(self.diagnosis)
        self.send_finished.emit(False)

    def _show_outcome(self, icon: QStyle.StandardPixmap | None, text: str) -> None:
        if icon is None:
            self.status_icon.clear()
        else:
            self.status_icon.setPixmap(self.style().standardIcon(icon).pixmap(24, 24))
        self.status.setText(text)

    def _update_buttons(self) -> None:
        self.send_button.setEnabled(not self.tasks.busy and not self.form.problems())

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._update_buttons()
        self.completeChanged.emit()
