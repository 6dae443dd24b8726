"""The send-test dialog: header injection is refused before anything is sent; server failures are explained."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QProgressBar, QPushButton
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SinkHandler, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, SilentServer
from wizard.dialogs.send_test import SendTestDialog
from wizard.services.model import Profile, Security
from wizard.services.secret_source import DraftSecrets

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def dialog_for(qtbot: QtBot, host: str = "127.0.0.1", port: int = 25, ca_file: str = "") -> SendTestDialog:
    profile = Profile(name="t", from_address=GOOD_USER, host=host, port=port, security=Security.STARTTLS,
                      username=GOOD_USER, ca_file=ca_file, timeout_s=10)
    dialog = SendTestDialog(profile, DraftSecrets(password=GOOD_PASSWORD))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.mark.parametrize(("field", "value", "message"), [
    ("testSubject", "Hello\r\nBcc: victim@example.net", "Subject must be a single line"),
    ("testTo", "a@example.com\nBcc: victim@example.net", "line breaks are not allowed"),
    ("testCc", "not-an-address", "not a valid e-mail address"),
])
def test_header_injection_and_bad_addresses_disable_send(qtbot: QtBot, field: str, value: str,
                                                         message: str) -> None:
    dialog = dialog_for(qtbot)
    send = dialog.findChild(QPushButton, "sendButton")
    assert send.isEnabled()
    dialog.findChild(QLineEdit, field).setText(value)
    assert message in dialog.findChild(QLabel, "testValidation").text()
    assert not send.isEnabled()


@pytest.mark.asyncio
async def test_refused_message_shows_the_diagnosis_and_server_reply(qtbot: QtBot,
                                                                    smtp_server: SmtpServerFactory) -> None:
    handler = SinkHandler(data_replies=["554 5.7.1 Message rejected: spam score 9.7"])
    server = smtp_server("starttls", handler=handler)
    dialog = dialog_for(qtbot, server.host, server.port, server.ca_file)
    sent = SignalWaiter(dialog.send_finished)
    qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    assert await sent.wait() == (False,)
    await dialog.tasks.wait()
    assert dialog.status.text() == "The message was not sent."
    shown = " ".join(label.text() for label in dialog.diagnosis.findChildren(QLabel) if label.isVisible())
    assert "spam score 9.7" in shown
    assert server.messages == []


@pytest.mark.asyncio
async def test_attachment_arrives(qtbot: QtBot, smtp_server: SmtpServerFactory, tmp_path: Path) -> None:
    attachment = tmp_path / "report.csv"
    attachment.write_text("a,b\n1,2\n")
    server = smtp_server("starttls")
    dialog = dialog_for(qtbot, server.host, server.port, server.ca_file)
    dialog.findChild(QLineEdit, "testAttachment").setText(str(attachment))
    sent = SignalWaiter(dialog.send_finished)
    qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    assert await sent.wait() == (True,)
    await dialog.tasks.wait()
    [message] = server.messages
    assert b'filename="report.csv"' in message.data
    assert "Queue id: Q00001" in dialog.status.text()


@pytest.mark.asyncio
async def test_cancel_stops_sending_to_a_server_that_never_answers(qtbot: QtBot, silent_server: SilentServer) -> None:
    dialog = dialog_for(qtbot, "127.0.0.1", silent_server.port)
    sent = SignalWaiter(dialog.send_finished)
    qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    await asyncio.wait_for(silent_server.connected.wait(), 10)
    cancel = dialog.findChild(QPushButton, "cancelSend")
    assert cancel.isEnabled() and dialog.findChild(QProgressBar, "sendProgress").isVisible()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert await sent.wait(10) == (False,)
    await asyncio.wait_for(dialog.tasks.wait(), 10)
    assert dialog.status.text().startswith("Sending cancelled.")
    assert not cancel.isEnabled() and dialog.findChild(QPushButton, "sendButton").isEnabled()
    assert not dialog.findChild(QProgressBar, "sendProgress").isVisible()
