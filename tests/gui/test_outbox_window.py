"""The Outbox window lists the newest messages with subject, sender, times and the diagnosis in words, updates the
rows in place as the outbox changes, and retries, deletes, releases and exports off the GUI thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from tests.fixtures.waiting import eventually
from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.dialogs.outbox import PAGE_ROWS, OutboxDialog
from wizard.dialogs.outbox_model import COLUMNS, local_time, table_time
from wizard.services import diagnostics
from wizard.services.outbox import Outbox, OutboxMessage
from wizard.services.outbox_schema import MessageState, header_summary

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

AUTH_REPLY = "535 5.7.8 Authentication credentials invalid"


class ThreadNotingOutbox(Outbox):
    """The real outbox that also notes which thread ran each of the window's actions."""

    def __init__(self) -> None:
        super().__init__()
        self.action_threads: dict[str, str] = {}

    def retry(self, message_id: int) -> None:
        self.action_threads["retry"] = threading.current_thread().name
        super().retry(message_id)

    def delete(self, message_id: int) -> None:
        self.action_threads["delete"] = threading.current_thread().name
        super().delete(message_id)

    def release(self, profile: str | None = None, message_id: int | None = None) -> int:
        self.action_threads["release"] = threading.current_thread().name
        return super().release(profile, message_id)

    def get(self, message_id: int) -> OutboxMessage:
        self.action_threads["export"] = threading.current_thread().name
        return super().get(message_id)


def _enqueue(outbox: Outbox, to: str, subject: str = "Receipt", *more: str) -> int:
    raw = (f"From: Example Shop <app@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody\r\n").encode()
    return outbox.enqueue(raw, profile="main", envelope_from="app@example.com", recipients=[to, *more]).id


def cell(dialog: OutboxDialog, row: int, column: str) -> str:
    return str(dialog.model.data(dialog.model.index(row, COLUMNS.index(column))))


def row_of(dialog: OutboxDialog, message_id: int) -> int:
    row = dialog.model.row_of(message_id)
    assert row is not None, f"message {message_id} is not shown"
    return row


@contextlib.asynccontextmanager
async def outbox_window(qtbot: QtBot, outbox: Outbox | None = None) -> AsyncIterator[OutboxDialog]:
    """The window, reading every 20 ms while shown; its reading task ends on the test's own loop."""
    dialog = OutboxDialog(outbox or Outbox(), poll_ms=20)
    qtbot.addWidget(dialog)
    try:
        yield dialog
    finally:
        dialog.hide()
        await dialog.stopped()
        await dialog.tasks.wait()


@pytest.mark.asyncio
async def test_rows_show_time_subject_sender_recipient_state_attempts_and_the_diagnosis_title(qtbot: QtBot) -> None:
    async with outbox_window(qtbot) as opened:
        outbox = opened.outbox
        first = _enqueue(outbox, "a@example.net", "=?utf-8?q?Re=C3=A7u?=")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 1, "the first read")
        queued = outbox.get(first)
        assert [opened.model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(COLUMNS))] == [
            "Queued at", "Subject", "From", "To", "State", "Attempts", "Next attempt", "Last reply", "Diagnosis"]
        assert cell(opened, 0, "Queued at") == table_time(queued.created_at)
        queued_at = opened.model.index(0, COLUMNS.index("Queued at"))
        assert opened.model.data(queued_at, Qt.ItemDataRole.ToolTipRole) == local_time(queued.created_at)
        assert cell(opened, 0, "Subject") == "Reçu"
        assert cell(opened, 0, "From") == "Example Shop <app@example.com>"
        assert (cell(opened, 0, "To"), cell(opened, 0, "State"), cell(opened, 0, "Attempts")) == (
            "a@example.net", "queued", "0")
        assert cell(opened, 0, "Next attempt") == table_time(queued.next_attempt_at)

        outbox.hold_profile("main", AUTH_REPLY, "auth_failed")
        await eventually(lambda: opened.state_of_row(0) is MessageState.HELD, "the held state")
        title = diagnostics.make("auth_failed").title
        assert cell(opened, 0, "Diagnosis") == title and title != "auth_failed"
        assert cell(opened, 0, "Last reply") == AUTH_REPLY
        assert cell(opened, 0, "Next attempt") == ""  # held: nothing is due until it is released
        opened.table.selectRow(0)
        details = opened.details.toPlainText()
        assert AUTH_REPLY in details and title in details and "auth_failed" not in details


@pytest.mark.asyncio
async def test_the_details_name_a_failed_recipient_as_not_delivered_not_waiting(qtbot: QtBot) -> None:
    async with outbox_window(qtbot) as opened:
        outbox = opened.outbox
        message_id = _enqueue(outbox, "gone@example.net")
        claimed = outbox.claim("main")
        assert claimed is not None and claimed.id == message_id
        reply = "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"
        outbox.mark_failed(message_id, reply, "recipient_rejected")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 1, "the first read")
        assert cell(opened, 0, "State") == "failed" and cell(opened, 0, "Attempts") == "1"
        opened.table.selectRow(0)
        details = opened.details.toPlainText()
        assert "To gone@example.net: not delivered" in details
        assert "waiting" not in details
        assert reply in details


@pytest.mark.asyncio
async def test_a_message_that_changes_changes_only_its_row(qtbot: QtBot) -> None:
    async with outbox_window(qtbot) as opened:
        outbox = opened.outbox
        ids = [_enqueue(outbox, f"{name}@example.net") for name in ("a", "b", "c")]
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 3, "the first read")
        changed: list[tuple[int, int]] = []
        structure: list[str] = []
        model = opened.model
        model.dataChanged.connect(lambda top, bottom, _roles=(): changed.append((QModelIndex(top).row(),
                                                                                  QModelIndex(bottom).row())))
        model.rowsInserted.connect(lambda *_: structure.append("inserted"))
        model.rowsRemoved.connect(lambda *_: structure.append("removed"))
        model.modelReset.connect(lambda: structure.append("reset"))
        model.layoutChanged.connect(lambda *_: structure.append("layout"))

        claimed = outbox.claim("main")  # the oldest: the bottom row
        assert claimed is not None and claimed.id == ids[0]
        outbox.mark_failed(ids[0], "554 5.7.1 Message rejected as spam", "message_rejected")
        await eventually(lambda: cell(opened, row_of(opened, ids[0]), "State") == "failed", "the failed row")
        bottom = row_of(opened, ids[0])
        assert bottom == 2 and changed and set(changed) == {(bottom, bottom)}
        assert structure == []
        assert [cell(opened, row, "State") for row in range(3)] == ["queued", "queued", "failed"]
        assert cell(opened, bottom, "Diagnosis") == diagnostics.make("message_rejected").title


@pytest.mark.asyncio
async def test_new_messages_are_inserted_on_top_and_deleted_ones_removed_without_a_reset(qtbot: QtBot) -> None:
    async with outbox_window(qtbot) as opened:
        outbox = opened.outbox
        first = _enqueue(outbox, "a@example.net")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 1, "the first read")
        inserted: list[tuple[int, int]] = []
        removed: list[tuple[int, int]] = []
        changed: list[int] = []
        reset: list[bool] = []
        model = opened.model
        model.rowsInserted.connect(lambda _parent, start, end: inserted.append((start, end)))
        model.rowsRemoved.connect(lambda _parent, start, end: removed.append((start, end)))
        model.dataChanged.connect(lambda top, _bottom, _roles=(): changed.append(QModelIndex(top).row()))
        model.modelReset.connect(lambda: reset.append(True))
        second = _enqueue(outbox, "b@example.net")
        third = _enqueue(outbox, "c@example.net")
        await eventually(lambda: model.rowCount() == 3, "the new messages")
        assert {row for start, end in inserted for row in range(start, end + 1)} == {0, 1}  # on top
        assert [model.message(row).id for row in range(3)] == [third, second, first]
        outbox.delete(second)
        await eventually(lambda: model.rowCount() == 2, "the deleted row to go")
        assert removed == [(1, 1)]
        assert changed == [] and reset == []  # the rows that stayed were not touched
        assert [model.message(row).id for row in range(2)] == [third, first]


@pytest.mark.asyncio
async def test_retry_delete_release_and_export_run_on_the_outbox_thread_and_show_their_result(
        qtbot: QtBot, tmp_path: Path) -> None:
    outbox = ThreadNotingOutbox()
    async with outbox_window(qtbot, outbox) as opened:
        kept = _enqueue(outbox, "a@example.net")
        wanted = _enqueue(outbox, "b@example.net")
        outbox.hold_profile("main", AUTH_REPLY, "auth_failed")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 2, "the first read")

        opened.release_button.click()
        await eventually(lambda: opened.status.text() == "2 held message(s) queued again.", "the release")
        await eventually(lambda: {opened.state_of_row(row) for row in range(2)} == {MessageState.QUEUED},
                         "the released rows")

        claimed = outbox.claim("main")
        assert claimed is not None and claimed.id == kept
        outbox.mark_failed(kept, "554 5.7.1 rejected", "message_rejected")
        await eventually(lambda: cell(opened, row_of(opened, kept), "State") == "failed", "the failed row")
        opened.table.selectRow(row_of(opened, kept))
        await eventually(opened.retry_button.isEnabled, "Retry to be offered")
        opened.retry_button.click()
        await eventually(lambda: opened.status.text() == f"Message {kept} is queued again.", "the retry")
        await eventually(lambda: cell(opened, row_of(opened, kept), "State") == "queued", "the retried row")

        opened.table.selectRow(row_of(opened, wanted))
        target = tmp_path / "b.eml"
        opened._on_export_file(str(target))  # what the file dialog's choice calls
        await eventually(lambda: opened.status.text() == f"Message {wanted} exported to {target}.", "the export")
        assert b"To: b@example.net" in target.read_bytes()

        opened.table.selectRow(row_of(opened, wanted))
        await eventually(opened.delete_button.isEnabled, "Delete to be offered")
        opened.delete_button.click()
        await eventually(lambda: opened.status.text() == f"Message {wanted} was deleted.", "the delete")
        await eventually(lambda: opened.model.row_of(wanted) is None and opened.model.rowCount() == 1,
                         "the deleted row to go")
        await opened.tasks.wait()
    gui = threading.main_thread().name
    assert set(outbox.action_threads) == {"release", "retry", "export", "delete"}
    assert all(name != gui and name.startswith("outbox") for name in outbox.action_threads.values()), \
        outbox.action_threads


@pytest.mark.asyncio
async def test_the_filter_shows_one_state_and_show_more_adds_a_page(qtbot: QtBot) -> None:
    outbox = Outbox()
    ids = [_enqueue(outbox, f"r{n}@example.net", f"Receipt {n}") for n in range(PAGE_ROWS + 5)]
    claimed = outbox.claim("main")
    assert claimed is not None and claimed.id == ids[0]
    outbox.mark_failed(ids[0], "554 5.7.1 rejected", "message_rejected")
    async with outbox_window(qtbot, outbox) as opened:
        opened.show()
        await eventually(lambda: opened.model.rowCount() == PAGE_ROWS, "the first page")
        assert opened.more_button.isVisibleTo(opened)
        assert f"{PAGE_ROWS + 5:,} messages" in opened.counts.text()
        assert opened.model.row_of(ids[0]) is None  # the oldest is not on the first page
        opened.filter.setCurrentIndex(opened.filter.findText("Failed"))
        await eventually(lambda: opened.model.rowCount() == 1 and opened.model.message(0).id == ids[0],
                         "only the failed message")
        assert not opened.more_button.isVisibleTo(opened)
        opened.filter.setCurrentIndex(opened.filter.findText("All messages"))
        await eventually(lambda: opened.model.rowCount() == PAGE_ROWS, "the first page again")
        opened.more_button.click()
        await eventually(lambda: opened.model.rowCount() == PAGE_ROWS + 5, "the next page")
        assert opened.model.row_of(ids[0]) == PAGE_ROWS + 4  # at the bottom, oldest last
        assert not opened.more_button.isVisibleTo(opened)

@pytest.mark.asyncio
async def test_closing_the_window_ends_its_reading(qtbot: QtBot) -> None:
    async with outbox_window(qtbot) as opened:
        _enqueue(opened.outbox, "a@example.net")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 1, "the first read")
        assert opened.reading
        opened.close()
        await opened.stopped()
        assert not opened.reading  # a closed window costs the loop nothing
        _enqueue(opened.outbox, "b@example.net")
        opened.show()
        await eventually(lambda: opened.model.rowCount() == 2, "reading again once shown")


def test_header_summary_reads_only_the_header_block() -> None:
    raw = b"From: =?utf-8?q?Caf=C3=A9?= <cafe@example.com>\r\nSubject: folded\r\n  subject\r\n\r\nSubject: body\r\n"
    assert header_summary(raw) == ("folded subject", "Café <cafe@example.com>")

