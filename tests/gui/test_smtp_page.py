"""The SMTP page: Next only for valid settings, port defaults, header injection, plaintext rules."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox, QWizard
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.model import Profile, Security
from wizard.services.secret_source import DraftSecrets

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.fixture
def window(qtbot: QtBot) -> MailwrightWizard:
    state = WizardState(draft=Profile(name="default", from_address="app@example.com", display_name="Example App"))
    wizard = MailwrightWizard(SavedAccounts(state), start=PageId.SMTP, autostart_check=False)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def edit_or_none(window: MailwrightWizard, name: str) -> QLineEdit | None:
    return window.smtp_page.findChild(QLineEdit, name)


def edit(window: MailwrightWizard, name: str) -> QLineEdit:
    widget = window.smtp_page.findChild(QLineEdit, name)
    assert widget is not None, name
    return widget


def messages(window: MailwrightWizard) -> str:
    label = window.smtp_page.findChild(QLabel, "validationMessages")
    return label.text() if label.isVisible() else ""


def can_go_next(window: MailwrightWizard) -> bool:
    button = window.button(QWizard.WizardButton.NextButton)
    assert isinstance(button, QPushButton)
    return button.isEnabled()


def fill_valid(window: MailwrightWizard) -> None:
    edit(window, "host").setText("smtp.example.com")
    edit(window, "password").setText("secret")


def choose_security(window: MailwrightWizard, security: Security) -> None:
    combo = window.smtp_page.findChild(QComboBox, "security")
    combo.setCurrentIndex(combo.findData(security.value))


def test_next_is_disabled_until_every_setting_is_valid(window: MailwrightWizard) -> None:
    assert not can_go_next(window)
    assert messages(window) == ""  # empty fields block Next without nagging
    edit(window, "host").setText("smtp example.com")
    edit(window, "port").setText("70000")
    assert not can_go_next(window)
    shown = messages(window)
    assert "not a valid host name" in shown
    assert "Port must be a whole number from 1 to 65535" in shown
    fill_valid(window)
    edit(window, "port").setText("587")
    assert messages(window) == ""
    assert can_go_next(window)
    edit(window, "password").clear()
    assert not can_go_next(window)  # a user name without a password cannot sign in


def test_port_follows_security_until_the_user_types_one(qtbot: QtBot, window: MailwrightWizard) -> None:
    port = edit(window, "port")
    assert port.text() == "587"
    choose_security(window, Security.TLS)
    assert port.text() == "465"
    choose_security(window, Security.NONE)
    assert port.text() == "25"
    choose_security(window, Security.STARTTLS)
    assert port.text() == "587"
    port.clear()
    qtbot.keyClicks(port, "2525")
    choose_security(window, Security.TLS)
    assert port.text() == "2525"


def test_the_sender_is_shown_not_entered_again(window: MailwrightWizard) -> None:
    """Sender address and display name are typed once, on the sender page."""
    assert edit_or_none(window, "fromAddress") is None and edit_or_none(window, "displayName") is None
    assert window.smtp_page.findChild(QLabel, "smtpSender").text() == "Example App <app@example.com>"
    assert edit(window, "username").text() == "app@example.com"  # the address is usually the user name too
    fill_valid(window)
    assert can_go_next(window)
    assert window.state.profile().from_address == "app@example.com"
    assert window.state.profile().display_name == "Example App"


@pytest.mark.parametrize(("address", "name", "shown"), [
    ("app@example", "", "not a valid e-mail address"),
    ("app@example.com", "Example\r\nBcc: victim@example.net", "line breaks are not allowed"),
])
def test_a_bad_sender_in_a_profile_opened_here_points_back_to_the_sender_page(
        qtbot: QtBot, address: str, name: str, shown: str) -> None:
    state = WizardState(
        draft=Profile(name="default", from_address=address, display_name=name, host="smtp.example.com",
                      username="app@example.com"),
        secrets=DraftSecrets(password="secret"))
    wizard = MailwrightWizard(SavedAccounts(state), start=PageId.SMTP, autostart_check=False)
    qtbot.addWidget(wizard)
    wizard.show()
    assert shown in messages(wizard) and "sender page" in messages(wizard)
    assert not can_go_next(wizard)


def test_no_encryption_to_another_computer_refuses_to_send_the_password(window: MailwrightWizard) -> None:
    fill_valid(window)
    choose_security(window, Security.NONE)
    assert "will not send your password to smtp.example.com without encryption" in messages(window)
    assert not can_go_next(window)
    edit(window, "username").clear()  # an open relay needs no password: allowed
    assert can_go_next(window)


def test_no_encryption_to_this_computer_needs_explicit_confirmation(window: MailwrightWizard) -> None:
    fill_valid(window)
    edit(window, "host").setText("127.0.0.1")
    choose_security(window, Security.NONE)
    confirm = window.smtp_page.findChild(QCheckBox, "confirmPlaintext")
    assert confirm.isVisible() and not confirm.isChecked()
    assert "only allowed to a server on this computer" in messages(window)
    assert not can_go_next(window)
    confirm.setChecked(True)
    assert can_go_next(window)
    assert messages(window) == ""
    assert window.state.draft.allow_plaintext_loopback
    choose_security(window, Security.STARTTLS)
    assert not confirm.isVisible() and not window.state.draft.allow_plaintext_loopback


def test_missing_ca_file_is_named(window: MailwrightWizard) -> None:
    fill_valid(window)
    edit(window, "caFile").setText("/nonexistent/ca.pem")
    assert "The CA file /nonexistent/ca.pem does not exist." in messages(window)
    assert not can_go_next(window)


def port_warning(window: MailwrightWizard) -> str:
    label = window.smtp_page.findChild(QLabel, "portSecurityWarning")
    return label.text() if label.isVisible() else ""


def test_an_unusual_port_and_security_pair_warns_while_typing_without_blocking(window: MailwrightWizard) -> None:
    security = window.smtp_page.findChild(QComboBox, "security")
    edit(window, "host").setText("smtp.example.com")
    edit(window, "username").setText("app@example.com")
    edit(window, "password").setText("pw")
    assert port_warning(window) == ""  # 587 with STARTTLS: the usual pair
    edit(window, "port").setText("465")  # typed: the port stays when the security changes
    assert port_warning(window).startswith("Port 465 usually expects encryption from the first byte (SSL/TLS), "
                                           "not STARTTLS")
    assert "Choose SSL/TLS for port 465, or port 587 for STARTTLS." in port_warning(window)
    assert can_go_next(window)  # a warning: some servers do use other ports
    security.setCurrentIndex(security.findData(Security.TLS.value))
    assert port_warning(window) == ""
    edit(window, "port").setText("587")
    assert port_warning(window).startswith("Port 587 usually starts unencrypted and switches to encryption with "
                                           "STARTTLS, not SSL/TLS")
    edit(window, "port").setText("2465")
    assert port_warning(window) == ""  # an unknown port: no opinion


def test_the_connect_timeout_is_a_field_saved_in_the_profile(qtbot: QtBot) -> None:
    state = WizardState(draft=Profile(name="default", from_address="app@example.com", host="smtp.example.com",
                                      timeout_s=45.0))
    wizard = MailwrightWizard(SavedAccounts(state), start=PageId.SMTP, autostart_check=False)
    qtbot.addWidget(wizard)
    wizard.show()
    timeout = wizard.smtp_page.findChild(QSpinBox, "timeout")
    assert timeout is not None and timeout.value() == 45 and timeout.suffix() == " s"
    assert (timeout.minimum(), timeout.maximum()) == (5, 300)
    timeout.setValue(90)
    assert wizard.state.profile().timeout_s == 90.0
