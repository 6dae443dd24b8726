"""Send a test mail through the account being set up, and show what the server answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.qt_async import TaskTracker, async_slot
from wizard.services.config import Profile
from wizard.services.message import (
    TestMail,
    build_test_message,
    default_test_body,
    envelope_recipients,
    queue_id,
    sender_header,
)
from wizard.services.transports.base import Credential, TransportError
from wizard.services.transports.smtp import SmtpTransport
from wizard.services.validation import InvalidInputError, reject_header_injection, validate_addresses
from wizard.widgets.diagnosis_box import DiagnosisBox

DEFAULT_SUBJECT = "Mailwright test message"


def _named(widget: QWidget, name: str, accessible: str) -> None:
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)


class SendTestDialog(QDialog):
    send_finished = Signal(bool)  # True: the server accepted the message

    def __init__(self, profile: Profile, credential: Credential, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.credential = credential
        self.tasks = TaskTracker(self)
        self.setObjectName("sendTestDialog")
        self.setWindowTitle("Send a test mail")
        self.resize(600, 520)

        try:
            sender = sender_header(profile.from_address, profile.display_name)
        except InvalidInputError:
            sender = profile.from_address
        self.from_line = QLabel(sender)
        self.from_line.setTextFormat(Qt.TextFormat.PlainText)
        self.to = QLineEdit(profile.from_address)
        _named(self.to, "testTo", "To")
        self.cc = QLineEdit()
        _named(self.cc, "testCc", "Cc")
        self.cc.setPlaceholderText("optional; separate several addresses with commas")
        self.subject = QLineEdit(DEFAULT_SUBJECT)
        _named(self.subject, "testSubject", "Subject")
        self.body = QPlainTextEdit(default_test_body(profile.name, profile.from_address))
        _named(self.body, "testBody", "Message text")
        self.html = QCheckBox("Also include an HTML version (like most mail programs send)")
        _named(self.html, "testHtml", "Include an HTML version")
        self.html.setChecked(True)
        self.attachment = QLineEdit()
        _named(self.attachment, "testAttachment", "Attachment")
        self.attachment.setPlaceholderText("optional")
        self.attachment.setClearButtonEnabled(True)
        self.browse = QPushButton("Browse…")
        _named(self.browse, "browseAttachment", "Choose an attachment")
        attachment_row = QHBoxLayout()
        attachment_row.addWidget(self.attachment, 1)
        attachment_row.addWidget(self.browse)

        form = QFormLayout()
        form.addRow("From:", self.from_line)
        form.addRow("To*:", self.to)
        form.addRow("Cc:", self.cc)
        form.addRow("Subject:", self.subject)
        form.addRow("Message:", self.body)
        form.addRow("", self.html)
        form.addRow("Attachment:", attachment_row)

        self.messages = QLabel()
        _named(self.messages, "testValidation", "Problems with the message")
        self.messages.setWordWrap(True)
        self.messages.setStyleSheet("color: #b00020")
        self.messages.hide()
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

        self.send_button = QPushButton("Send")
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
        layout.addLayout(form, 1)
        layout.addWidget(self.messages)
        layout.addLayout(status_row)
        layout.addWidget(self.diagnosis)
        layout.addLayout(buttons)

        self._file_dialog: QFileDialog | None = None
        self.browse.clicked.connect(self._choose_attachment)
        self.send_button.clicked.connect(self._on_send_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.close_button.clicked.connect(self.reject)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        for edit in (self.to, self.cc, self.subject, self.attachment):
            edit.textChanged.connect(self._validate)
        self._validate()

    def _problems(self) -> list[str]:
        problems: list[str] = []
        try:
            if not validate_addresses(self.to.text(), "To"):
                problems.append("Enter at least one recipient.")
            validate_addresses(self.cc.text(), "Cc")
            reject_header_injection("Subject", self.subject.text())
        except InvalidInputError as exc:
            problems.append(str(exc))
        path = self.attachment.text().strip()
        if path and not Path(path).is_file():
            problems.append(f"The attachment {path} does not exist.")
        return problems

    def _validate(self) -> None:
        problems = self._problems()
        self.messages.setText("\n".join(problems))
        self.messages.setVisible(bool(problems))
        self.send_button.setEnabled(not problems and not self.tasks.busy)

    def _choose_attachment(self) -> None:
        dialog = QFileDialog(self, "Attach a file")
        dialog.setObjectName("attachmentDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.attachment.setText)
        self._file_dialog = dialog
        dialog.open()

    def mail(self) -> TestMail:
        path = self.attachment.text().strip()
        return TestMail(from_address=self.profile.from_address, display_name=self.profile.display_name,
                        to=validate_addresses(self.to.text(), "To"), cc=validate_addresses(self.cc.text(), "Cc"),
                        subject=self.subject.text(), body=self.body.toPlainText(),
                        attachments=(Path(path),) if path else (), html=self.html.isChecked())

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
        transport = SmtpTransport.for_profile(self.profile, self.credential)
        try:
            async with transport:
                result = await transport.send(self.profile.from_address, recipients, message.as_bytes())
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
        lines = [f"The server accepted the message: {result.reply}"]
        queued = queue_id(result.reply)
        if queued:
            lines.append(f"Queue id: {queued} (quote it if you ask the provider where the message went)")
        lines.append(f"Message-ID: {message['Message-ID']}")
        lines.extend(f"Refused recipient {address}: {why}" for address, why in result.refused.items())
        self._show_outcome(QStyle.StandardPixmap.SP_DialogApplyButton, "\n".join(lines))
        self.send_finished.emit(True)

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._validate()

    @override
    def reject(self) -> None:
        self.tasks.cancel()
        super().reject()
