"""The Outbox window lists the newest messages with subject, sender, times and the diagnosis in words, updates the
rows in place as the outbox changes, and retries, deletes, releases and exports off the GUI thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from tests.fixtures.waiting import eventually
from wizard.dialogs.outbox import OutboxDialog
from wizard.dialogs.outbox_model import COLUMNS
from wizard.services.outbox import Outbox
from wizard.services.outbox_schema import MessageState, header_summary

pytestmark = [pytest.mark.gui]


def _enqueue(outbox: Outbox, to: str, subject: str = "Receipt") -> int:
    raw = (f"From: Example Shop <app@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody\r\n").encode()
    return outbox.enqueue(raw, profile="main", envelope_from="app@example.com", recipients=[to]).id


def cell(dialog: OutboxDialog, row: int, column: str) -> str:
    return str(dialog.model.data(dialog.model.index(row, COLUMNS.index(column))))


@pytest_asyncio.fixture
async def opened(qtbot: QtBot, data_home: Path) -> AsyncIterator[OutboxDialog]:
    dialog = OutboxDialog(Outbox(), poll_ms=20)
    qtbot.addWidget(dialog)
    yield dialog
    dialog.hide()  # stops reading, on this loop
    await dialog.tasks.wait()


@pytest.mark.asyncio
async def test_rows_show_subject_sender_recipient_and_the_diagnosis_title(opened: OutboxDialog) -> None:
    outbox = opened.outbox
    _enqueue(outbox, "a@example.net", "=?utf-8?q?Re=C3=A7u?=")
    opened.show()
    await eventually(lambda: opened.model.rowCount() == 1, "the first read")
    assert cell(opened, 0, "Subject") == "Reçu"
    assert cell(opened, 0, "From") == "Example Shop <app@example.com>"
    assert (cell(opened, 0, "To"), cell(opened, 0, "State")) == ("a@example.net", "queued")
    outbox.hold_profile("main", "535 5.7.8 Authentication credentials invalid", "auth_failed")
    await eventually(lambda: opened.state_of_row(0) is MessageState.HELD, "the held state")
    assert cell(opened, 0, "Diagnosis") != "auth_failed" and cell(opened, 0, "Diagnosis")
    opened.table.selectRow(0)
    assert "535 5.7.8 Authentication credentials invalid" in opened.details.toPlainText()


@pytest.mark.asyncio
async def test_a_tick_changes_only_the_rows_that_changed(opened: OutboxDialog) -> None:
    outbox = opened.outbox
    first = _enqueue(outbox, "a@example.net")
    opened.show()
    await eventually(lambda: opened.model.rowCount() == 1, "the first read")
    inserted: list[tuple[int, int]] = []
    reset: list[bool] = []
    opened.model.rowsInserted.connect(lambda _parent, start, end: inserted.append((start, end)))
    opened.model.modelReset.connect(lambda: reset.append(True))
    second = _enqueue(outbox, "b@example.net")
    await eventually(lambda: opened.model.rowCount() == 2, "the new message")
    assert inserted == [(0, 0)] and not reset  # the newest on top, the old row left as it was
    assert [opened.model.message(row).id for row in range(2)] == [second, first]
    changed: list[int] = []
    opened.model.dataChanged.connect(lambda top, _bottom, _roles=(): changed.append(QModelIndex(top).row()))
    outbox.delete(first)
    await eventually(lambda: opened.model.rowCount() == 1, "the deleted row to go")
    assert changed == [] and not reset


@pytest.mark.asyncio
async def test_release_retry_delete_and_export(opened: OutboxDialog, tmp_path: Path) -> None:
    outbox = opened.outbox
    _enqueue(outbox, "a@example.net")
    wanted = _enqueue(outbox, "b@example.net")
    outbox.hold_profile("main", "535 5.7.8 authentication failed", "auth_failed")
    opened.show()
    await eventually(lambda: opened.model.rowCount() == 2, "the first read")
    await opened.release_held()
    assert {opened.state_of_row(row) for row in range(2)} == {MessageState.QUEUED}
    assert opened.status.text() == "2 held message(s) queued again."
    opened.table.selectRow(opened.model.row_of(wanted) or 0)
    target = tmp_path / "b.eml"
    assert await opened.export_selected(target)
    assert b"To: b@example.net" in target.read_bytes()
    await opened._act("deleted", outbox.delete, wanted)
    assert opened.model.row_of(wanted) is None and opened.model.rowCount() == 1


def test_header_summary_reads_only_the_header_block() -> None:
    raw = b"From: =?utf-8?q?Caf=C3=A9?= <cafe@example.com>\r\nSubject: folded\r\n  subject\r\n\r\nSubject: body\r\n"
    assert header_summary(raw) == ("folded subject", "Café <cafe@example.com>")
