"""Send a test mail through the account being set up, and show what the server answered."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.qt_async import TaskTracker, async_slot
from wizard.services.message import TestMail, build_test_message, envelope_recipients
from wizard.services.model import Profile
from wizard.services.secret_source import SecretSource
from wizard.services.submission import SubmissionError
from wizard.services.transports.base import TransportError
from wizard.services.validation import InvalidInputError
from wizard.widgets.diagnosis_box import DiagnosisBox
from wizard.widgets.test_mail_form import DEFAULT_SUBJECT, TestMailForm, accepted_text, deliver_test_mail
from wizard.widgets.test_mail_form import named as _named

__all__ = ["DEFAULT_SUBJECT", "SendTestDialog"]


class SendTestDialog(QDialog):
    send_finished = Signal(bool)  # True: the server accepted the message

    def __init__(self, profile: Profile, secrets: SecretSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.secrets = secrets
        self.tasks = TaskTracker(self)
        self.setObjectName("sendTestDialog")
        self.setWindowTitle("Send test mail")
        self.resize(600, 520)

        self.form = TestMailForm(profile)
        # the fields by their old names: subclasses (the outbox's test-mail dialog) and tests use them
        self.from_line, self.to, self.cc, self.subject = (self.form.from_line, self.form.to, self.form.cc,
                                                          self.form.subject)
        self.body, self.html, self.attachment, self.messages = (self.form.body, self.form.html, self.form.attachment,
                                                                self.form.messages)
        self.progress = QProgressBar()
        _named(self.progress, "sendProgress", "Sending")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the buttons keep their size and place while it comes and goes
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self.status = QLabel()
        _named(self.status, "sendStatus", "Result")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_icon = QLabel()
        self.status_icon.setFixedSize(24, 24)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_icon, 0, Qt.AlignmentFlag.AlignTop)
        status_row.addWidget(self.status, 1)
        self.diagnosis = DiagnosisBox()

        self.send_button = QPushButton("Send test mail")
        _named(self.send_button, "sendButton", "Send the test mail")
        self.send_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel sending")
        _named(self.cancel_button, "cancelSend", "Cancel sending")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        _named(self.close_button, "closeSendTest", "Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.form, 1)
        layout.addLayout(status_row)
        layout.addWidget(self.diagnosis)
        layout.addLayout(buttons)

        self.send_button.clicked.connect(self._on_send_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.close_button.clicked.connect(self.reject)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self.form.changed.connect(self._validate)
        self._validate()

    def _validate(self) -> None:
        self.send_button.setEnabled(not self.form.problems() and not self.tasks.busy)

    def mail(self) -> TestMail:
        return self.form.mail()

    @async_slot()
    async def _on_send_clicked(self) -> None:
        await self.tasks.run(self._send())

    def _show_outcome(self, status: QStyle.StandardPixmap | None, text: str) -> None:
        if status is None:
            self.status_icon.clear()
        else:
            self.status_icon.setPixmap(self.style().standardIcon(status).pixmap(24, 24))
        self.status.setText(text)

    async def _send(self) -> None:
        self.diagnosis.show_diagnosis(None)
        self._show_outcome(None, "")
        try:
            message = await asyncio.to_thread(build_test_message, self.mail())  # reads the attachment
        except InvalidInputError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, str(exc))
            self.send_finished.emit(False)
            return
        recipients = envelope_recipients(message)
        self.status.setText(f"Sending to {', '.join(recipients)} through {self.profile.host}…")
        try:
            result = await deliver_test_mail(self.profile, self.secrets, message)
        except SubmissionError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, f"The message was not sent: {exc}")
            self.send_finished.emit(False)
            return
        except TransportError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxCritical, "The message was not sent.")
            self.diagnosis.show_diagnosis(exc.diagnosis)
            self.send_finished.emit(False)
            return
        except asyncio.CancelledError:
            self.status.setText("Sending cancelled. If the server had already accepted the message, it may "
                                "still arrive.")
            self.send_finished.emit(False)
            raise
        self._show_outcome(QStyle.StandardPixmap.SP_DialogApplyButton, accepted_text(result, message["Message-ID"]))
        self.send_finished.emit(True)

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._validate()

    @override
    def reject(self) -> None:
        self.tasks.cancel()
        super().reject()
