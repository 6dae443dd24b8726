"""The whole wizard against a real STARTTLS server: check, send a test mail, save, and what ends up where."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWizard
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, files_containing
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard, load_saved_accounts
from wizard.services import secrets
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def fill_smtp_page(qtbot: QtBot, window: MailwrightWizard, host: str, port: int, ca_file: str) -> None:
    page = window.smtp_page
    page.findChild(QLineEdit, "fromAddress").setText(GOOD_USER)
    page.findChild(QLineEdit, "host").setText(host)
    port_edit = page.findChild(QLineEdit, "port")
    port_edit.clear()
    qtbot.keyClicks(port_edit, str(port))
    page.findChild(QLineEdit, "password").setText(GOOD_PASSWORD)
    page.findChild(QLineEdit, "caFile").setText(ca_file)


def next_button(window: QWizard) -> QPushButton:
    button = window.button(QWizard.WizardButton.NextButton)
    assert isinstance(button, QPushButton)
    return button


@pytest.mark.asyncio
async def test_wizard_checks_sends_a_test_mail_and_saves_password_only_in_keyring(
        qtbot: QtBot, wizard_window: MailwrightWizard, smtp_server: SmtpServerFactory, data_home: Path,
        profile_name: str) -> None:
    server = smtp_server("starttls")
    window = wizard_window
    assert window.windowTitle() == "Mailwright"
    window.next()
    window.next()
    assert window.currentId() == PageId.SMTP
    fill_smtp_page(qtbot, window, server.host, server.port, server.ca_file)
    assert window.smtp_page.findChild(QLineEdit, "username").text() == GOOD_USER
    assert next_button(window).isEnabled()

    checked = SignalWaiter(window.check_page.check_finished)
    qtbot.mouseClick(next_button(window), Qt.MouseButton.LeftButton)
    assert window.currentId() == PageId.CHECK
    assert await checked.wait() == (True,)
    await window.wait_idle()
    assert "Every step passed" in window.check_page.status.text()
    assert "AUTH" in window.check_page.capabilities.text()
    for step in ("resolve", "connect", "tls", "ehlo", "auth", "sender"):
        assert window.check_page.findChild(QLabel, f"step-{step}").text().startswith("passed"), step
    assert next_button(window).isEnabled()

    send_test = window.check_page.findChild(QPushButton, "sendTestMail")
    qtbot.mouseClick(send_test, Qt.MouseButton.LeftButton)
    dialog = window.check_page.send_test_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.findChild(QLineEdit, "testTo").setText("someone@example.net")
    dialog.findChild(QLineEdit, "testCc").setText("copy@example.net")
    sent = SignalWaiter(dialog.send_finished)
    qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    assert await sent.wait() == (True,)
    await window.wait_idle()
    assert "Queue id: Q00001" in dialog.status.text()
    dialog.close()

    qtbot.mouseClick(next_button(window), Qt.MouseButton.LeftButton)
    assert window.currentId() == PageId.SUMMARY
    window.summary_page.findChild(QLineEdit, "profileName").setText(profile_name)
    qtbot.mouseClick(window.summary_page.findChild(QPushButton, "summarySendTestMail"), Qt.MouseButton.LeftButton)
    summary_dialog = window.summary_page.send_test_dialog
    assert summary_dialog is not None and summary_dialog.isVisible()
    assert summary_dialog.findChild(QLineEdit, "testTo").text() == GOOD_USER
    summary_dialog.close()
    finish = window.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()
    saved = SignalWaiter(window.summary_page.save_finished)
    qtbot.mouseClick(window.summary_page.findChild(QPushButton, "saveProfile"), Qt.MouseButton.LeftButton)
    try:
        assert await saved.wait() == (True,), window.summary_page.result.text()
        await window.wait_idle()
        assert finish.isEnabled()
        qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
        assert not window.isVisible()

        [message] = server.messages
        assert message.rcpt_tos == ["someone@example.net", "copy@example.net"]
        assert message.authenticated_as == GOOD_USER
        assert b"Subject: Mailwright test message" in message.data
        assert b"text/html" in message.data and b"text/plain" in message.data
        config = (data_home / "config.toml").read_text()
        assert f"[profiles.{profile_name}]" in config and str(server.port) in config
        assert GOOD_PASSWORD not in config
        assert files_containing(data_home, GOOD_PASSWORD) == []
        assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == GOOD_PASSWORD

        reopened = load_saved_accounts()
        assert reopened.default_profile == profile_name
        assert reopened.state.host == server.host and reopened.state.editing == profile_name
        assert reopened.state.password == ""
    finally:
        secrets.delete_profile_secrets(profile_name)
