"""The Outbox window (queued, sending, sent, failed, held; retry/delete/release/export), and the test mail
that goes through the outbox like the application's mail does.

The window is refreshed by a QTimer poll: each refresh is one small indexed SELECT on a local WAL database
(readers never wait for the sender's writes), so it stays well under a frame and does not block the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.dialogs.send_test import SendTestDialog
from wizard.services import diagnostics
from wizard.services.message import build_test_message, envelope_recipients, queue_id
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox, OutboxError, OutboxMessage
from wizard.services.secret_source import KEYRING
from wizard.services.submission import QueuedMessage, SubmissionError, asubmit
from wizard.services.validation import InvalidInputError

TEST_MAIL_PRIORITY = 1  # very high: the admin is waiting for it
FINAL_STATES = (MessageState.SENT, MessageState.FAILED, MessageState.HELD)

COLUMNS = ("Id", "State", "Priority", "Attempts", "Profile", "Recipients", "Last reply", "Diagnosis")


class OutboxDialog(QDialog):
    def __init__(self, outbox: Outbox, parent: QWidget | None = None, poll_ms: int = 1000) -> None:
        super().__init__(parent)
        self.setWindowTitle("Outbox")
        self.setObjectName("outboxDialog")
        self.outbox = outbox
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.table = QTableView(self)
        self.table.setObjectName("outboxTable")
        self.table.setAccessibleName("Outbox messages")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        buttons = QHBoxLayout()
        self.retry_button = self._button("retryButton", "Retry", self.retry_selected, buttons)
        self.delete_button = self._button("deleteButton", "Delete", self.delete_selected, buttons)
        self.release_button = self._button("releaseButton", "Release held", self.release_held, buttons)
        self.export_button = self._button("exportButton", "Export .eml…", self._choose_export, buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.resize(900, 400)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(poll_ms)
        self.refresh()

    def _button(self, name: str, text: str, slot: object, layout: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAccessibleName(text)
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    def refresh(self) -> None:
        selected = self.selected_id()
        messages = self.outbox.messages()
        self.model.setRowCount(0)
        for message in messages:
            values = (message.id, message.state.value, message.priority, message.attempts, message.profile,
                      ", ".join(message.recipients), message.last_reply, message.diagnosis_code)
            self.model.appendRow([QStandardItem(str(value)) for value in values])
        if selected is not None:
            for row, message in enumerate(messages):
                if message.id == selected:
                    self.table.selectRow(row)

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return int(self.model.item(rows[0].row(), 0).text())

    def retry_selected(self) -> None:
        message_id = self.selected_id()
        if message_id is not None:
            try:
                self.outbox.retry(message_id)
            except OutboxError:
                pass  # already sent or sending: the next refresh shows why
        self.refresh()

    def delete_selected(self) -> None:
        message_id = self.selected_id()
        if message_id is not None:
            try:
                self.outbox.delete(message_id)
            except OutboxError:
                pass
        self.refresh()

    def release_held(self) -> None:
        self.outbox.release()
        self.refresh()

    def export_selected(self, path: Path) -> bool:
        message_id = self.selected_id()
        if message_id is None:
            return False
        path.write_bytes(self.outbox.get(message_id).raw)
        return True

    def _choose_export(self) -> None:
        if self.selected_id() is None:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Export message", "message.eml", "E-mail (*.eml)")
        if name:
            self.export_selected(Path(name))

    def state_of_row(self, row: int) -> MessageState:
        return MessageState(self.model.item(row, 1).text())


class OutboxTestMailDialog(SendTestDialog):
    """The send-test dialog, but the message goes through the outbox at priority 1 and the running
    background sender delivers it; the dialog reports the row's final state, never "sent" before the
    server accepted the message."""

    outcome = Signal(str)  # the final MessageState value, or "cancelled"

    def __init__(self, profile: Profile, outbox: Outbox, wake: Callable[[], None] = lambda: None,
                 parent: QWidget | None = None, poll_s: float = 0.2,
                 is_sending: Callable[[], bool] = lambda: True) -> None:
        super().__init__(profile, KEYRING, parent)  # never used: the background sender signs in
        self.outbox = outbox
        self.wake = wake
        self.is_sending = is_sending
        self.poll_s = poll_s
        self.queued: QueuedMessage | None = None
        self.setWindowTitle(f"Send test mail through '{profile.name}'")
        self.status.setText("The message goes through the outbox (priority 1), like your application's mail: "
                            "the background sender delivers it and this window shows the server's answer.")

    @override
    async def _send(self) -> None:
        self.diagnosis.show_diagnosis(None)
        self._show_outcome(None, "")
        try:
            message = await asyncio.to_thread(build_test_message, self.mail())
        except InvalidInputError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, str(exc))
            self.send_finished.emit(False)
            return
        recipients = envelope_recipients(message)
        try:
            self.queued = await asubmit(message, config=None, outbox=self.outbox, profile=self.profile,
                                        envelope_from=self.profile.from_address, recipients=recipients,
                                        priority=TEST_MAIL_PRIORITY)
        except SubmissionError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, f"The message was not queued: {exc}")
            self.send_finished.emit(False)
            return
        self.wake()
        self.status.setText(f"Queued as message {self.queued.id} (priority 1); waiting for the background sender to "
                            f"deliver it to {', '.join(recipients)}…")
        try:
            final = await self._wait_final(self.queued.id)
        except asyncio.CancelledError:
            self.status.setText(f"Stopped waiting. Message {self.queued.id} stays in the outbox and is still "
                                "delivered; the Outbox window shows what happens to it.")
            self.outcome.emit("cancelled")
            self.send_finished.emit(False)
            raise
        self._show_final(final)

    async def _wait_final(self, row_id: int) -> OutboxMessage:
        announced = ""
        while True:
            current = await asyncio.to_thread(self.outbox.get, row_id)
            if current.state in FINAL_STATES:
                return current
            waiting = await self._why_waiting(current)
            if waiting and waiting != announced:
                announced = waiting
                self.status.setText(waiting)
            await asyncio.sleep(self.poll_s)

    async def _why_waiting(self, current: OutboxMessage) -> str:
        """Why a queued message is not sent yet, in plain words ("" while it is simply next in line)."""
        if current.state is not MessageState.QUEUED:
            return ""
        if not self.is_sending():
            return (f"Message {current.id} is queued, but sending is paused: it is sent when you click "
                    "Start sending (main window or tray menu).")
        paused = await self.outbox.run_async(self.outbox.paused_profiles)
        if self.profile.name in paused:
            return (f"Message {current.id} is queued, but the account is paused after a sign-in failure "
                    f"({paused[self.profile.name].reply}): fix it and press Resume.")
        if current.attempts and current.last_reply:
            return f"Attempt {current.attempts} got a temporary error; the sender retries later: {current.last_reply}"
        return ""

    def _show_final(self, message: OutboxMessage) -> None:
        if message.state is MessageState.SENT:
            lines = [f"The server accepted the message: {message.last_reply}"]
            queued = queue_id(message.last_reply)
            if queued:
                lines.append(f"Queue id: {queued} (quote it if you ask the provider where the message went)")
            lines.append(f"Message-ID: {message.message_id}")
            refused = {a: r for a, r in message.recipient_results.items() if not r.startswith("2")}
            lines.extend(f"Refused recipient {address}: {why}" for address, why in refused.items())
            self._show_outcome(QStyle.StandardPixmap.SP_DialogApplyButton, "\n".join(lines))
        else:
            text = ("The message was not sent." if message.state is MessageState.FAILED else
                    "The message is held: the account's sign-in failed. It is kept and sent once the account is "
                    "fixed and resumed.")
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxCritical, text)
            code = message.diagnosis_code or "unknown"
            self.diagnosis.show_diagnosis(diagnostics.make(code, detail=message.last_reply))
        self.outcome.emit(message.state.value)
        self.send_finished.emit(message.state is MessageState.SENT)
