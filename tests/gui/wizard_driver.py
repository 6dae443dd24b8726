"""Drive the wizard the way a user does: type into named fields, click Next (only when it is enabled), and
await what the pages report (check finished, DNS checked, test mail accepted, saved)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox, QPushButton, QRadioButton, QSpinBox, QWizard
from pytestqt.qtbot import QtBot

from tests.fixtures.waiting import eventually
from tests.gui.conftest import SignalWaiter
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.model import ProviderKind


def next_button(window: QWizard) -> QPushButton:
    button = window.button(QWizard.WizardButton.NextButton)
    assert isinstance(button, QPushButton)
    return button


def page_name(window: QWizard) -> str:
    return PageId(window.currentId()).cli_name


def click_next(qtbot: QtBot, window: QWizard, expect: PageId) -> None:
    button = next_button(window)
    assert button.isEnabled(), f"Next is disabled on the {page_name(window)} page"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.currentId() == expect, f"expected the {expect.cli_name} page, got {page_name(window)}"


def type_into(window: QWizard, name: str, text: str) -> None:
    page = window.currentPage()
    edit = page.findChild(QLineEdit, name)
    assert edit is not None, f"no field {name} on the {page_name(window)} page"
    edit.setText(text)


def click(qtbot: QtBot, window: QWizard, name: str) -> None:
    widget = window.currentPage().findChild(QPushButton, name) or window.currentPage().findChild(QRadioButton, name)
    assert widget is not None, f"no button {name} on the {page_name(window)} page"
    assert widget.isEnabled() and widget.isVisibleTo(window), f"{name} cannot be clicked"
    # A radio button takes clicks on its indicator and label only, not on the empty rest of its row.
    at = QPoint(6, widget.height() // 2) if isinstance(widget, QRadioButton) else widget.rect().center()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=at)


def start_new_account(qtbot: QtBot, window: MailwrightWizard, address: str, profile: str,
                      display_name: str = "") -> None:
    """Welcome -> sender page filled in -> provider page."""
    assert window.currentId() == PageId.WELCOME
    click_next(qtbot, window, PageId.SENDER)
    type_into(window, "senderAddress", address)
    type_into(window, "senderDisplayName", display_name)
    type_into(window, "senderProfileName", profile)
    click_next(qtbot, window, PageId.PROVIDER)


def choose_provider(qtbot: QtBot, window: MailwrightWizard, kind: ProviderKind, preset: str = "") -> None:
    click(qtbot, window, f"provider-{kind.value}")
    if preset:
        combo = window.provider_page.preset
        combo.setCurrentIndex(combo.findData(preset))
        assert combo.currentData() == preset


async def pass_check(qtbot: QtBot, window: MailwrightWizard, from_page: PageId) -> None:
    """Next from the sign-in page starts the check; it must pass, and Next leads to the sender settings."""
    assert window.currentId() == from_page
    checked = SignalWaiter(window.check_page.check_finished)
    click_next(qtbot, window, PageId.CHECK)
    result = await checked.wait()
    await window.wait_idle()
    assert result == (True,), (window.check_page.status.text(), window.check_page.diagnosis.findChildren(object))


async def settings_dns_test_mail_and_save(qtbot: QtBot, window: MailwrightWizard, *, to: str,
                                          send_interval_ms: int = 250) -> None:
    """Check page -> sender settings -> delivery (one setting changed) -> DNS (checked against the local DNS
    server) -> test mail (sent and accepted) -> summary (saved) -> Finish."""
    click_next(qtbot, window, PageId.SENDER_SETTINGS)
    click_next(qtbot, window, PageId.DELIVERY)
    spin = window.delivery_page.findChild(QSpinBox, "send_interval_ms")
    spin.setValue(send_interval_ms)
    dns_checked = SignalWaiter(window.dns_page.check_finished)
    click_next(qtbot, window, PageId.DNS)
    await dns_checked.wait()
    await window.wait_idle()
    assert "example.com" in window.dns_page.target.text()
    click_next(qtbot, window, PageId.TEST_MAIL)
    type_into(window, "testTo", to)
    sent = SignalWaiter(window.test_mail_page.send_finished)
    click(qtbot, window, "sendTestMailNow")
    assert await sent.wait() == (True,), window.test_mail_page.status.text()
    await window.wait_idle()
    assert "The server accepted the message" in window.test_mail_page.status.text()
    click_next(qtbot, window, PageId.SUMMARY)
    await finish_and_save(qtbot, window)


async def finish_and_save(qtbot: QtBot, window: MailwrightWizard) -> None:
    """Finish on the summary page: it saves the account, then the wizard closes (no separate Save button)."""
    finish = window.button(QWizard.WizardButton.FinishButton)
    assert finish.isEnabled()
    saved = SignalWaiter(window.summary_page.save_finished)
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    assert await saved.wait() == (True,), window.summary_page.result.text()
    await window.wait_idle()
    await eventually(lambda: not window.isVisible(), "the wizard to close after saving")


def cancel_and_discard(qtbot: QtBot, window: MailwrightWizard) -> None:
    """Cancel with unsaved input: the wizard asks first; answer Discard."""
    qtbot.mouseClick(window.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    question = window.discard_question
    assert question is not None and question.isVisible(), "Cancel did not ask before discarding the input"
    assert window.isVisible()
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
    assert not window.isVisible()


def register_app_myself(qtbot: QtBot, window: MailwrightWizard) -> None:
    """On m365_auth, leave the recommended "Set it up for me" for the manual way (an existing app registration)."""
    assert window.currentId() == PageId.M365_AUTH
    click(qtbot, window, "m365Manual")
    assert window.m365_auth_page.manual_box.isVisibleTo(window)
