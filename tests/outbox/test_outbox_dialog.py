"""The Outbox window shows the queue live and lets the admin release held mail and export a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from wizard.dialogs.outbox import OutboxDialog
from wizard.services.outbox import MessageState, Outbox


def _enqueue(outbox: Outbox, to: str) -> int:
    raw = f"From: app@example.com\r\nTo: {to}\r\nSubject: x\r\n\r\nbody\r\n".encode()
    return outbox.enqueue(raw, profile="main", envelope_from="app@example.com", recipients=[to]).id


@pytest.mark.gui
def test_outbox_window_updates_live_and_releases_held_mail(qtbot: QtBot, data_home: Path, tmp_path: Path) -> None:
    outbox = Outbox()
    _enqueue(outbox, "a@example.net")
    dialog = OutboxDialog(outbox, poll_ms=20)
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 1
    _enqueue(outbox, "b@example.net")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2)
    outbox.hold_profile("main", "535 5.7.8 authentication failed", "auth_failed")
    qtbot.waitUntil(lambda: dialog.state_of_row(0) is MessageState.HELD)
    assert dialog.model.item(0, 7).text() == "auth_failed"
    qtbot.mouseClick(dialog.release_button, Qt.MouseButton.LeftButton)
    assert {dialog.state_of_row(row) for row in range(2)} == {MessageState.QUEUED}
    dialog.table.selectRow(1)
    target = tmp_path / "b.eml"
    assert dialog.export_selected(target)
    assert b"To: b@example.net" in target.read_bytes()
