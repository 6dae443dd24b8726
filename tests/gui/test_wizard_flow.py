"""The whole wizard against a real STARTTLS server: sender, provider, SMTP account, check, sender settings,
delivery, DNS, test mail, save; and what ends up in config.toml and the keyring."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, WindowFactory, files_containing
from tests.gui.wizard_driver import (
    choose_provider,
    click_next,
    pass_check,
    settings_dns_test_mail_and_save,
    start_new_account,
    type_into,
)
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard, load_saved_accounts
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.model import ProviderKind
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def fill_smtp_page(qtbot: QtBot, window: MailwrightWizard, host: str, port: int, ca_file: str) -> None:
    page = window.smtp_page
    page.findChild(QLineEdit, "host").setText(host)
    port_edit = page.findChild(QLineEdit, "port")
    port_edit.clear()
    qtbot.keyClicks(port_edit, str(port))
    page.findChild(QLineEdit, "password").setText(GOOD_PASSWORD)
    page.findChild(QLineEdit, "caFile").setText(ca_file)


@pytest.mark.asyncio
async def test_other_smtp_server_end_to_end_saves_password_only_in_keyring(
        qtbot: QtBot, flow_window: MailwrightWizard, smtp_server: SmtpServerFactory, data_home: Path,
        profile_name: str) -> None:
    server = smtp_server("starttls")
    window = flow_window
    assert window.windowTitle() == "Mailwright"
    start_new_account(qtbot, window, GOOD_USER, profile_name, display_name="Example Support")
    choose_provider(qtbot, window, ProviderKind.SMTP)
    click_next(qtbot, window, PageId.SMTP)
    # the sender is entered once, on the sender page; the SMTP page only shows it
    assert window.smtp_page.findChild(QLineEdit, "fromAddress") is None
    assert window.smtp_page.findChild(QLabel, "smtpSender").text() == f"Example Support <{GOOD_USER}>"
    fill_smtp_page(qtbot, window, server.host, server.port, server.ca_file)
    assert window.smtp_page.findChild(QLineEdit, "username").text() == GOOD_USER
    try:
        await pass_check(qtbot, window, PageId.SMTP)
        assert "Every step passed" in window.check_page.status.text()
        assert "AUTH" in window.check_page.capabilities.text()
        for step in ("resolve", "connect", "tls", "ehlo", "auth", "sender"):
            assert window.check_page.findChild(QLabel, f"step-{step}").text().startswith("passed"), step
        assert not window.check_page.findChild(QLabel, "step-token").isVisible()

        # The check page's own quick test mail, with a copy
        qtbot.mouseClick(window.check_page.findChild(QPushButton, "sendTestMail"), Qt.MouseButton.LeftButton)
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

        await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

        first, second = server.messages
        assert first.rcpt_tos == ["someone@example.net", "copy@example.net"]
        assert second.rcpt_tos == ["ops@example.net"]
        assert all(m.authenticated_as == GOOD_USER for m in server.messages)
        assert b"Subject: Mailwright test message" in second.data
        assert b"Example Support" in second.data
        text = (data_home / "config.toml").read_text()
        config = tomllib.loads(text)
        saved = config["profiles"][profile_name]
        assert saved["host"] == server.host and saved["port"] == server.port and saved["username"] == GOOD_USER
        assert saved["display_name"] == "Example Support"
        assert config["delivery"] == {"send_interval_ms": 250}
        assert GOOD_PASSWORD not in text
        assert files_containing(data_home, GOOD_PASSWORD) == []
        assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == GOOD_PASSWORD

        reopened = load_saved_accounts(ConfigStore())
        assert reopened.default_profile == profile_name
        assert reopened.state.draft.host == server.host and reopened.state.editing == profile_name
        assert reopened.state.secrets.password == "" and reopened.state.delivery.send_interval_ms == 250
    finally:
        secrets.delete_profile_secrets(profile_name)


@pytest.mark.asyncio
async def test_editing_a_saved_account_keeps_its_password_and_the_delivery_settings(
        qtbot: QtBot, smtp_server: SmtpServerFactory, open_flow_window: WindowFactory, data_home: Path,
        profile_name: str) -> None:
    """Reopened on a saved account: the check uses the keyring's password, saving keeps [delivery]."""
    from wizard.services import accounts
    from wizard.services.model import Profile

    server = smtp_server("starttls")
    store = ConfigStore()
    accounts.save_profile(Profile(name=profile_name, from_address=GOOD_USER, host=server.host, port=server.port,
                                  username=GOOD_USER, ca_file=server.ca_file), GOOD_PASSWORD, store)
    store.set("delivery.retention_days", "90")
    window = open_flow_window()
    try:
        click_next(qtbot, window, PageId.SENDER)
        assert window.sender_page.findChild(QLineEdit, "senderAddress").text() == GOOD_USER
        type_into(window, "senderDisplayName", "Renamed Support")
        click_next(qtbot, window, PageId.PROVIDER)
        assert window.provider_page.buttons[ProviderKind.SMTP].isChecked()
        click_next(qtbot, window, PageId.SMTP)
        assert window.smtp_page.findChild(QLineEdit, "host").text() == server.host
        await pass_check(qtbot, window, PageId.SMTP)
        await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net", send_interval_ms=0)
        config = tomllib.loads((data_home / "config.toml").read_text())
        assert config["profiles"][profile_name]["display_name"] == "Renamed Support"
        assert config["delivery"] == {"retention_days": 90}
        assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == GOOD_PASSWORD
    finally:
        secrets.delete_profile_secrets(profile_name)
