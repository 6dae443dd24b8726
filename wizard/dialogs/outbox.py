"""The Outbox window: what is queued, sending, sent, failed or held, with retry/delete/release/export.

Refreshed by a QTimer poll: each refresh is one small indexed SELECT on a local WAL database (readers
never wait for the sender's writes), so it stays well under a frame and does not block the loop.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from wizard.services.outbox import MessageState, Outbox, OutboxError

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
