"""Issue 14's smaller GUI points: the sender-settings subtitle, the test-mail message box."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.model import Profile

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def opened_at(qtbot: QtBot, page: PageId) -> MailwrightWizard:
    state = WizardState(draft=Profile(name="default", from_address="app@example.com", host="smtp.example.com",
                                      username="app@example.com"))
    window = MailwrightWizard(SavedAccounts(state), start=page, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_sender_settings_subtitle_does_not_speak_of_signing(qtbot: QtBot) -> None:
    window = opened_at(qtbot, PageId.SENDER_SETTINGS)
    subtitle = window.sender_settings_page.subTitle()
    assert "sign" not in subtitle.lower()
    assert subtitle.startswith("Who may send through this account")


def test_the_test_mail_text_box_fills_the_page_instead_of_three_lines_over_an_empty_area(qtbot: QtBot) -> None:
    window = opened_at(qtbot, PageId.TEST_MAIL)
    body = window.test_mail_page.findChild(QPlainTextEdit, "testBody")
    lines = body.fontMetrics().lineSpacing()
    qtbot.waitUntil(lambda: body.height() >= 6 * lines)
    small = body.height()
    window.resize(window.width(), window.height() + 200)
    qtbot.waitUntil(lambda: body.height() >= small + 150)  # the extra height goes to the message, not below it
