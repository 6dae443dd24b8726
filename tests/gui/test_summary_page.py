"""Saving: nothing is written without a secure keyring; saved accounts come back when the app reopens."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QRadioButton, QWizard
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, files_containing
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.secret_source import DraftSecrets

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

PASSWORD = "n0t-in-any-file"


def summary_window(qtbot: QtBot, name: str) -> MailwrightWizard:
    state = WizardState(
        draft=Profile(name=name, from_address="app@example.com", host="smtp.example.com", port=587,
                      username="app@example.com"),
        secrets=DraftSecrets(password=PASSWORD))
    window = MailwrightWizard(SavedAccounts(state), start=PageId.SUMMARY, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.mark.asyncio
@pytest.mark.usefixtures("no_keyring")
async def test_without_a_secure_keyring_saving_refuses_and_writes_nothing(qtbot: QtBot, data_home: Path) -> None:
    window = summary_window(qtbot, "office")
    page = window.summary_page
    saved = SignalWaiter(page.save_finished)
    qtbot.mouseClick(window.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)  # Finish saves
    assert await saved.wait() == (False,)
    await window.wait_idle()
    result = page.findChild(QLabel, "saveResult").text()
    assert result.startswith("Not saved. No secure keyring is available on this computer")
    assert "nothing was saved" in result
    assert not (data_home / "config.toml").exists()
    assert files_containing(data_home, PASSWORD) == []
    assert window.isVisible() and window.currentId() == PageId.SUMMARY  # stays, says why, Finish tries again
    assert window.button(QWizard.WizardButton.FinishButton).isEnabled()


def test_profile_name_must_be_one_word(qtbot: QtBot) -> None:
    window = summary_window(qtbot, "office")
    page = window.summary_page
    page.findChild(QLineEdit, "profileName").setText("my office")
    assert not window.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert "one word" in page.findChild(QLabel, "saveResult").text()


def test_reopening_lists_saved_accounts_and_prefills_the_default(qtbot: QtBot) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="office", from_address="office@example.com", host="mail.example.com", port=465,
                               security=Security.TLS))
    store.save_profile(Profile(name="shop", from_address="shop@example.com", host="smtp.shop.example", port=587))
    window = MailwrightWizard(autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    saved = window.welcome_page.findChild(QListWidget, "savedProfiles")
    texts = [saved.item(i).text() for i in range(saved.count())]
    assert texts == ["office: office@example.com via mail.example.com:465 (TLS)  (default)",
                     "shop: shop@example.com via smtp.shop.example:587 (STARTTLS)"]
    assert window.welcome_page.findChild(QRadioButton, "editAccount").isChecked()
    window.next()
    assert window.sender_page.findChild(QLineEdit, "senderAddress").text() == "office@example.com"
    window.next()
    window.next()
    assert window.currentId() == PageId.SMTP
    assert window.smtp_page.findChild(QLineEdit, "host").text() == "mail.example.com"
    assert window.smtp_page.findChild(QLineEdit, "port").text() == "465"

    for _page in (PageId.PROVIDER, PageId.SENDER, PageId.WELCOME):
        window.back()
    window.welcome_page.findChild(QRadioButton, "newAccount").setChecked(True)
    window.next()
    assert window.sender_page.findChild(QLineEdit, "senderAddress").text() == ""
    window.next()
    window.next()
    assert window.smtp_page.findChild(QLineEdit, "host").text() == ""
    assert window.state.draft.name == "default"


def test_without_any_configuration_the_wizard_offers_a_new_account(qtbot: QtBot, data_home: Path) -> None:
    window = MailwrightWizard()
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "Mailwright"
    assert not window.welcome_page.findChild(QListWidget, "savedProfiles").isVisible()
    assert window.button(QWizard.WizardButton.NextButton).isEnabled()
    assert not (data_home / "config.toml").exists()


def test_a_broken_settings_file_is_explained_not_fatal(qtbot: QtBot, data_home: Path) -> None:
    (data_home / "config.toml").write_text("[profiles.x\nhost = ")
    window = MailwrightWizard()
    qtbot.addWidget(window)
    window.show()
    error = window.welcome_page.findChild(QLabel, "configError")
    assert error.isVisible() and "could not be read" in error.text()


def test_naming_an_account_like_another_saved_one_warns_before_replacing(qtbot: QtBot) -> None:
    window = summary_window(qtbot, "office")
    window.state.saved_profiles["shop"] = Profile(name="shop", from_address="shop@example.com", host="smtp.example")
    window.summary_page.findChild(QLineEdit, "profileName").setText("shop")
    assert "already called “shop”: saving replaces it" in window.summary_page.findChild(QLabel, "saveResult").text()
