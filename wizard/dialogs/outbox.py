"""The Outbox window: the newest messages with what happened to them; retry, delete, release held mail, export.

Every read and write runs on the outbox's database thread (`Outbox.run_async`), never on the GUI thread, whose
loop also runs the background sender: a tick reads the summaries (no bodies) of the newest `shown` messages and
the counts per state, and the table model applies only what changed (outbox_model.py). However many messages
wait, a tick reads the same few hundred rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.dialogs.outbox_model import COLUMNS, OutboxTableModel, local_time
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import diagnostics
from wizard.services.outbox import Outbox, OutboxError
from wizard.services.outbox_schema import MessageState, MessageSummary

PAGE_ROWS = 200  # rows read per tick; "Show more" adds another page
_FILTERS = (("All messages", None), ("Queued", MessageState.QUEUED), ("Sending", MessageState.SENDING),
            ("Sent", MessageState.SENT), ("Failed", MessageState.FAILED), ("Held", MessageState.HELD))


def recipient_status(message: MessageSummary, address: str) -> str:
    """What became of one recipient: the server's answer to it, else what the message's state says."""
    answer = message.recipient_results.get(address)
    if answer:
        return answer
    if message.state is MessageState.FAILED:
        return "not delivered (see the reply below)"
    if address not in message.pending_recipients:
        return ""
    return {MessageState.SENDING: "sending now", MessageState.HELD: "held with the message"}.get(message.state,
                                                                                                "waiting")


def details_text(message: MessageSummary) -> str:
    """Everything known about one message without its body: the full last reply, each recipient's answer,
    and the diagnosis in plain words."""
    lines = [f"Subject: {message.subject}" if message.subject else "(no subject)",
             *([f"From: {message.header_from}"] if message.header_from else []),
             f"Message {message.id}  {message.message_id}",
             f"Account: {message.profile}" + (f" (delivered by {message.delivered_by})"
                                               if message.delivered_by and message.delivered_by != message.profile
                                               else ""),
             f"Envelope sender: {message.envelope_from}",
             f"Queued at {local_time(message.created_at)}; {message.attempts} attempt(s)"]
    for address in message.recipients:
        answer = recipient_status(message, address)
        lines.append(f"To {address}: {answer}" if answer else f"To {address}")
    if message.diagnosis_code:  # what it means first: the pane is short, the reply can be long
        diagnosis = diagnostics.make(message.diagnosis_code, detail=message.last_reply)
        lines += ["", diagnosis.title, diagnosis.explanation, f"Fix: {diagnosis.fix}"]
    if message.last_reply:
        lines += ["", "Last reply from the server:", message.last_reply]
    return "\n".join(lines)


class OutboxDialog(QDialog):
    def __init__(self, outbox: Outbox, parent: QWidget | None = None, poll_ms: int = 1000) -> None:
        super().__init__(parent)
        self.setWindowTitle("Outbox")
        self.setObjectName("outboxDialog")
        self.outbox = outbox
        self.shown = PAGE_ROWS
        self.poll_s = poll_ms / 1000
        self.tasks = TaskTracker(self)  # the actions (retry, delete, release, export)
        self._poller: asyncio.Task[None] | None = None  # reads while the window is shown
        self._wake: asyncio.Event | None = None
        self.model = OutboxTableModel(self)

        self.counts = QLabel()
        self.counts.setObjectName("outboxCounts")
        self.counts.setAccessibleName("Messages per state")
        self.filter = QComboBox()
        self.filter.setObjectName("outboxFilter")
        self.filter.setAccessibleName("Show messages")
        for text, state in _FILTERS:
            self.filter.addItem(text, state)
        top = QHBoxLayout()
        top.addWidget(self.counts, 1)
        top.addWidget(self.filter)

        self.table = QTableView(self)
        self.table.setObjectName("outboxTable")
        self.table.setAccessibleName("Outbox messages")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never measures every row's text
        header.setStretchLastSection(True)
        for column, width in zip(range(len(COLUMNS)), (105, 150, 155, 140, 55, 70, 105, 175), strict=False):
            header.resizeSection(column, width)
        self.details = QPlainTextEdit()
        self.details.setObjectName("outboxDetails")
        self.details.setAccessibleName("Message details")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a message to see the server's full reply and what it means.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setSizes([330, 190])

        buttons = QHBoxLayout()
        self.retry_button = self._button("retryButton", "Retry", buttons)
        self.delete_button = self._button("deleteButton", "Delete", buttons)
        self.release_button = self._button("releaseButton", "Release held", buttons)
        self.export_button = self._button("exportButton", "Export .eml…", buttons)
        buttons.addStretch(1)
        self.more_button = self._button("moreButton", "Show more", buttons)
        self.status = QLabel()
        self.status.setObjectName("outboxStatus")
        self.status.setAccessibleName("Outbox action result")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.resize(1100, 600)

        self.retry_button.clicked.connect(self._on_retry)
        self.delete_button.clicked.connect(self._on_delete)
        self.release_button.clicked.connect(self._on_release)
        self.export_button.clicked.connect(self._choose_export)
        self.more_button.clicked.connect(self._on_more)
        self.filter.currentIndexChanged.connect(self._on_filter)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.tasks.busy_changed.connect(lambda _busy: self._update_buttons())
        self._update_buttons()

    def _button(self, name: str, text: str, layout: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAccessibleName(text)
        layout.addWidget(button)
        return button

    # -- reading ----------------------------------------------------------------------------------
    @property
    def reading(self) -> bool:
        return self._poller is not None and not self._poller.done()

    def start_reading(self) -> None:
        """Read now and then every `poll_s` while shown, in one task on the running loop (none: nothing to do)."""
        if self.reading:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # shown before the app's loop runs: showEvent comes again when it is
        self._wake = asyncio.Event()
        self._poller = loop.create_task(self._poll(), name="outbox viewer")
        self._poller.add_done_callback(self._poll_ended)

    def stop_reading(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def stopped(self) -> None:
        """Until the reading task has ended (after `stop_reading` or a hide): nothing of it outlives the loop."""
        self.stop_reading()
        if self._poller is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    def _poll_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:  # a bug: to the app's error report
            task.get_loop().call_exception_handler({"message": "The outbox window stopped reading",
                                                    "exception": task.exception(), "task": task})

    def _read_now(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _poll(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def refresh(self) -> None:
        """Read the newest summaries and the counts on the database thread, then apply the changes."""
        view = self._view()
        try:
            newest, counts = await self.outbox.run_async(self.outbox.viewer_snapshot, view[1], view[0])
        except OutboxError as exc:
            self.status.setText(str(exc))
            return
        if view != self._view():
            return  # the filter or the page changed while reading: the read that follows shows it
        self.model.merge(newest)
        total = sum(counts.values())
        words = ", ".join(f"{counts[s]:,} {s.value}" for s in MessageState if counts.get(s))
        shown = self.model.rowCount()
        self.counts.setText(f"{total:,} messages: {words}" + (f" (showing the newest {shown:,})"
                                                              if shown < total else "") if total else
                            "The outbox is empty.")
        self.more_button.setVisible(shown >= self.shown)
        self._show_details()

    def _view(self) -> tuple[MessageState | None, int]:
        """The state shown (None: all) and how many rows. The state comes from _FILTERS by index: Qt hands a
        StrEnum stored as item data back as a plain str."""
        return _FILTERS[max(self.filter.currentIndex(), 0)][1], self.shown

    def _on_filter(self) -> None:
        self.shown = PAGE_ROWS
        self.model.merge([])
        self._read_now()

    def _on_more(self) -> None:
        self.shown += PAGE_ROWS
        self._read_now()

    # -- selection --------------------------------------------------------------------------------
    def selected(self) -> MessageSummary | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.message(rows[0].row()) if rows else None

    def selected_id(self) -> int | None:
        message = self.selected()
        return message.id if message is not None else None

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_details()
        self._update_buttons()

    def _show_details(self) -> None:
        message = self.selected()
        text = details_text(message) if message is not None else ""
        if text != self.details.toPlainText():
            self.details.setPlainText(text)

    def _update_buttons(self) -> None:
        message = self.selected()
        busy = self.tasks.busy
        self.retry_button.setEnabled(not busy and message is not None
                                     and message.state in {MessageState.FAILED, MessageState.HELD,
                                                           MessageState.QUEUED})
        self.delete_button.setEnabled(not busy and message is not None and message.state is not MessageState.SENDING)
        self.export_button.setEnabled(not busy and message is not None)

    def state_of_row(self, row: int) -> MessageState:
        return self.model.message(row).state

    # -- actions (on the database thread) ---------------------------------------------------------
    @async_slot()
    async def _on_retry(self) -> None:
        message_id = self.selected_id()
        if message_id is not None:
            await self.tasks.run(self._act(f"Message {message_id} is queued again.", self.outbox.retry, message_id))

    @async_slot()
    async def _on_delete(self) -> None:
        message_id = self.selected_id()
        if message_id is not None:
            await self.tasks.run(self._act(f"Message {message_id} was deleted.", self.outbox.delete, message_id))

    @async_slot()
    async def _on_release(self) -> None:
        await self.tasks.run(self.release_held())

    async def release_held(self) -> None:
        released = await self.outbox.run_async(self.outbox.release)
        self.status.setText(f"{released} held message(s) queued again." if released else "No message was held.")
        await self.refresh()

    async def _act(self, done: str, action: object, *args: object) -> None:
        try:
            await self.outbox.run_async(action, *args)  # type: ignore[arg-type]
        except OutboxError as exc:
            self.status.setText(str(exc))  # e.g. already sent or sending
        else:
            self.status.setText(done)
        await self.refresh()

    async def export_selected(self, path: Path) -> bool:
        """Write the selected message's bytes, exactly as queued, to `path` (read and written off the loop)."""
        message_id = self.selected_id()
        if message_id is None:
            return False
        try:
            message = await self.outbox.run_async(self.outbox.get, message_id)
            await asyncio.to_thread(path.write_bytes, message.raw)
        except (OutboxError, OSError) as exc:
            self.status.setText(f"Not exported: {exc}")
            return False
        self.status.setText(f"Message {message_id} exported to {path}.")
        return True

    def _choose_export(self) -> None:
        if self.selected_id() is None:
            return
        dialog = QFileDialog(self, "Export message", "message.eml", "E-mail (*.eml)")
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self._on_export_file)
        dialog.open()  # never exec(): it would nest an event loop under qasync

    @async_slot(str)
    async def _on_export_file(self, name: str) -> None:
        await self.tasks.run(self.export_selected(Path(name)))

    @override
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.start_reading()  # read while shown only: a hidden window costs the loop nothing

    @override
    def hideEvent(self, event: QHideEvent) -> None:
        self.stop_reading()
        self.tasks.cancel()
        super().hideEvent(event)
