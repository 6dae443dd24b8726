"""The outbox viewer's table: message summaries (no bodies), updated in place as the outbox changes.

`merge` takes the newest summaries as read this tick and tells the view only what changed: rows inserted at the
top, rows removed, and `dataChanged` for the rows whose state, attempts or reply moved on; a tick in which nothing
changed costs the view nothing. Times are shown in local time; the diagnosis by its title, never its code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from typing_extensions import override

from wizard.services import diagnostics
from wizard.services.outbox_schema import MessageState, MessageSummary

COLUMNS = ("Queued at", "Subject", "From", "To", "State", "Attempts", "Next attempt", "Last reply", "Diagnosis")
STATE_COLUMN = COLUMNS.index("State")
REPLY_CHARS = 80  # the table shows the start of a reply; the details below show all of it
_STATE_WORDS = {MessageState.QUEUED: "queued", MessageState.SENDING: "sending", MessageState.SENT: "sent",
                MessageState.FAILED: "failed", MessageState.HELD: "held"}

Index = QModelIndex | QPersistentModelIndex


@lru_cache(maxsize=64)
def diagnosis_title(code: str) -> str:
    """The plain-words title of a diagnosis code ("" when the message has none)."""
    return diagnostics.make(code).title if code else ""


def local_time(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else ""


def table_time(timestamp: float | None) -> str:
    """Month, day and time (the year is in the tooltip and the details): the table stays narrow enough to show
    the diagnosis column."""
    return time.strftime("%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else ""


def one_line(text: str, limit: int = REPLY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def cells(message: MessageSummary) -> tuple[str, ...]:
    """What each column shows for one message."""
    waiting = message.state in {MessageState.QUEUED, MessageState.HELD}
    return (table_time(message.created_at), message.subject, message.header_from or message.envelope_from,
            ", ".join(message.recipients), _STATE_WORDS[message.state], str(message.attempts),
            table_time(message.next_attempt_at) if waiting and message.state is MessageState.QUEUED else "",
            one_line(message.last_reply), diagnosis_title(message.diagnosis_code))


class OutboxTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.messages: list[MessageSummary] = []  # newest first
        self._cells: list[tuple[str, ...]] = []

    @override
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own default)
        return 0 if parent.isValid() else len(self.messages)

    @override
    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    @override
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index.row(), index.column())
        return None

    def _tooltip(self, row: int, column: int) -> str | None:
        message, text = self.messages[row], self._cells[row][column]
        name = COLUMNS[column]
        if name == "Queued at":
            return local_time(message.created_at)
        if name == "Next attempt":
            return local_time(message.next_attempt_at) if text else None
        if name == "Last reply":
            return message.last_reply or None
        return text or None  # the whole text of a cell the column cuts short

    @override
    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation is Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def message(self, row: int) -> MessageSummary:
        return self.messages[row]

    def row_of(self, message_id: int) -> int | None:
        return next((row for row, message in enumerate(self.messages) if message.id == message_id), None)

    def merge(self, newest: Sequence[MessageSummary]) -> None:
        """Make the rows `newest` (sorted newest first) with the fewest changes to the view."""
        wanted = {message.id for message in newest}
        for row in range(len(self.messages) - 1, -1, -1):  # bottom up: the rows above keep their numbers
            if self.messages[row].id not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self.messages[row], self._cells[row]
                self.endRemoveRows()
        if not self.messages:  # the first read: one reset, not a thousand inserts
            self.beginResetModel()
            self.messages, self._cells = list(newest), [cells(message) for message in newest]
            self.endResetModel()
            return
        row, position = 0, 0
        while position < len(newest):
            message = newest[position]
            if row < len(self.messages) and self.messages[row].id == message.id:
                if self.messages[row] != message:
                    self.messages[row], self._cells[row] = message, cells(message)
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                row, position = row + 1, position + 1
                continue
            # newer than the row shown here (or older than every row shown): one block of inserted rows
            end = position
            while end < len(newest) and not (row < len(self.messages) and self.messages[row].id == newest[end].id):
                end += 1
            block = newest[position:end]
            self.beginInsertRows(QModelIndex(), row, row + len(block) - 1)
            self.messages[row:row] = block
            self._cells[row:row] = [cells(message) for message in block]
            self.endInsertRows()
            row, position = row + len(block), end
