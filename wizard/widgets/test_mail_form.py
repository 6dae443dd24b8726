"""The test-mail form (From, To, Cc, subject, text, HTML alternative, attachment), validated as you type.

Shared by the send-test dialog and the wizard's test-mail page; sending is theirs, not the form's.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wizard.services import accounts
from wizard.services.message import TestMail, default_test_body, envelope_recipients, queue_id, sender_header
from wizard.services.model import Profile
from wizard.services.secret_source import SecretSource
from wizard.services.submission import apply_rules
from wizard.services.transports.base import SendResult
from wizard.services.validation import InvalidInputError, reject_header_injection, validate_addresses
from wizard.widgets.colours import problem_style

DEFAULT_SUBJECT = "Mailwright test message"


def named(widget: QWidget, name: str, accessible: str) -> None:
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)


def accepted_text(result: SendResult, message_id: str) -> str:
    """What the server's acceptance means for the user: its reply, the queue id to quote, refused recipients."""
    lines = [f"The server accepted the message: {result.reply}"]
    queued = queue_id(result.reply)
    if queued:
        lines.append(f"Queue id: {queued} (quote it if you ask the provider where the message went)")
    lines.append(f"Message-ID: {message_id}")
    lines.extend(f"Refused recipient {address}: {why}" for address, why in result.refused.items())
    return "\n".join(lines)


async def deliver_test_mail(profile: Profile, secrets: SecretSource, message: EmailMessage) -> SendResult:
    """Send straight through the profile's transport (no outbox), signed in with the secrets `secrets` answers
    (the wizard's unsaved draft, or the keyring), after the same rules as every queued message
    (submission.apply_rules: policy, postmaster, display name, Date, Message-ID); a refusal raises
    `SubmissionError` and nothing is sent, a missing secret `TransportError`."""
    prepared = apply_rules(message, profile, envelope_from=profile.from_address,
                           recipients=envelope_recipients(message))
    transport = await accounts.transport_for(profile, secrets)
    async with transport:
        return await transport.send(prepared.envelope_from, list(prepared.recipients), prepared.raw)


class TestMailForm(QWidget):
    __test__ = False  # not a pytest test class, whatever its name says
    changed = Signal()  # any field changed; `problems()` says whether the mail can be sent

    def __init__(self, profile: Profile, parent: QWidget | None = None, *, body_lines: int = 0) -> None:
        super().__init__(parent)
        self.profile = profile
        self.from_line = QLabel()
        self.from_line.setObjectName("testFrom")
        self.from_line.setTextFormat(Qt.TextFormat.PlainText)
        self.to = QLineEdit()
        named(self.to, "testTo", "To")
        self.cc = QLineEdit()
        named(self.cc, "testCc", "Cc")
        self.cc.setPlaceholderText("optional; separate several addresses with commas")
        self.subject = QLineEdit(DEFAULT_SUBJECT)
        named(self.subject, "testSubject", "Subject")
        self.body = QPlainTextEdit()
        named(self.body, "testBody", "Message text")
        if body_lines:  # at least this many lines; the box takes whatever height the page has left
            self.body.setMinimumHeight(self.body.fontMetrics().lineSpacing() * body_lines + 12)
            self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.html = QCheckBox("Also include an HTML version (like most mail programs send)")
        named(self.html, "testHtml", "Include an HTML version")
        self.html.setChecked(True)
        self.attachment = QLineEdit()
        named(self.attachment, "testAttachment", "Attachment")
        self.attachment.setPlaceholderText("optional")
        self.attachment.setClearButtonEnabled(True)
        self.browse = QPushButton("Browse…")
        named(self.browse, "browseAttachment", "Choose an attachment")
        attachment_row = QHBoxLayout()
        attachment_row.addWidget(self.attachment, 1)
        attachment_row.addWidget(self.browse)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("From:", self.from_line)
        form.addRow("To*:", self.to)
        form.addRow("Cc:", self.cc)
        form.addRow("Subject:", self.subject)
        form.addRow("Message:", self.body)
        form.addRow("", self.html)
        form.addRow("Attachment:", attachment_row)
        self.messages = QLabel()
        named(self.messages, "testValidation", "Problems with the message")
        self.messages.setWordWrap(True)
        self.messages.setStyleSheet(problem_style())
        self.messages.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form, 1)
        layout.addWidget(self.messages)

        self._file_dialog: QFileDialog | None = None
        self.browse.clicked.connect(self._choose_attachment)
        for edit in (self.to, self.cc, self.subject, self.attachment):
            edit.textChanged.connect(self._on_changed)
        self.set_profile(profile)

    def set_profile(self, profile: Profile) -> None:
        """Show the sender; To and the text follow the sender address unless the user changed them."""
        previous = self.profile
        untouched_to = self.to.text().strip() in ("", previous.from_address)
        untouched_body = self.body.toPlainText() in ("", default_test_body(previous.name, previous.from_address))
        self.profile = profile
        try:
            sender = sender_header(profile.from_address, profile.display_name)
        except InvalidInputError:
            sender = profile.from_address
        self.from_line.setText(sender)
        if untouched_to:
            self.to.setText(profile.from_address)
        if untouched_body:
            self.body.setPlainText(default_test_body(profile.name, profile.from_address))
        self._on_changed()

    def problems(self) -> list[str]:
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

    def _on_changed(self) -> None:
        problems = self.problems()
        self.messages.setText("\n".join(problems))
        self.messages.setVisible(bool(problems))
        self.changed.emit()

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
