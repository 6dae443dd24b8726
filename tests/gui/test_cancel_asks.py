"""Cancel, Esc or the close button with unsaved input ask before throwing it away; nothing typed, nothing asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox, QWizard
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from tests.gui.wizard_driver import cancel_and_discard
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.config import ConfigStore
from wizard.services.model import Profile

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def smtp_window(qtbot: QtBot, state: WizardState) -> MailwrightWizard:
    window = MailwrightWizard(SavedAccounts(state), start=PageId.SMTP, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    return window


def test_cancel_without_input_closes_at_once(qtbot: QtBot, data_home: Path) -> None:
    window = MailwrightWizard()
    qtbot.addWidget(window)
    window.show()
    qtbot.mouseClick(window.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert window.discard_question is None
    assert not window.isVisible()


def test_cancel_after_typing_asks_and_keep_editing_keeps_everything(qtbot: QtBot) -> None:
    window = smtp_window(qtbot, WizardState(draft=Profile(name="default", from_address="app@example.com")))
    window.smtp_page.findChild(QLineEdit, "host").setText("smtp.example.com")
    qtbot.mouseClick(window.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    question = window.discard_question
    assert question is not None and question.isVisible()
    assert question.text() == "The account you entered is not saved. Close the wizard and discard it?"
    keep = question.button(QMessageBox.StandardButton.Cancel)
    assert keep.text() == "Keep editing" and question.defaultButton() is keep
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert window.isVisible() and window.currentId() == PageId.SMTP
    assert window.smtp_page.findChild(QLineEdit, "host").text() == "smtp.example.com"


def test_escape_asks_too_and_discard_closes(qtbot: QtBot) -> None:
    window = smtp_window(qtbot, WizardState(draft=Profile(name="default", from_address="app@example.com")))
    window.smtp_page.findChild(QLineEdit, "password").setText("typed-secret")
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    question = window.discard_question
    assert question is not None and question.isVisible()
    assert window.isVisible()
    question.reject()  # Esc on the question: keep editing
    assert window.isVisible() and not question.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    question = window.discard_question
    assert question is not None and question.isVisible()
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
    assert not window.isVisible()


def test_a_close_by_the_program_does_not_wait_for_an_answer(qtbot: QtBot) -> None:
    window = smtp_window(qtbot, WizardState(draft=Profile(name="default", from_address="app@example.com")))
    window.smtp_page.findChild(QLineEdit, "host").setText("smtp.example.com")
    window.close()  # the app quitting: no question nobody would see (the title bar's button is spontaneous: asks)
    assert window.discard_question is None and not window.isVisible()


def test_changing_a_saved_account_names_it_in_the_question(qtbot: QtBot, data_home: Path) -> None:
    ConfigStore().save_profile(Profile(name="office", from_address="office@example.com", host="mail.example.com"))
    state = WizardState()
    state.load_profile(ConfigStore().load().profiles["office"])
    window = smtp_window(qtbot, state)
    window.smtp_page.findChild(QLineEdit, "port").setText("2587")
    qtbot.mouseClick(window.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert window.discard_question is not None
    assert window.discard_question.text().startswith("Your changes to the account “office” are not saved.")
    cancel_and_discard_answer = window.discard_question.button(QMessageBox.StandardButton.Discard)
    qtbot.mouseClick(cancel_and_discard_answer, Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    assert ConfigStore().load().profiles["office"].port == 587  # nothing was written


def test_the_driver_helper_discards(qtbot: QtBot) -> None:
    window = smtp_window(qtbot, WizardState(draft=Profile(name="default", from_address="app@example.com")))
    window.smtp_page.findChild(QLineEdit, "host").setText("smtp.example.com")
    cancel_and_discard(qtbot, window)
