"""Sender and delivery settings pages: validated as you type, Next only when valid, the state gets what was entered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWizard,
    QWizardPage,
)
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.delivery_settings import DeliverySettingsPage
from wizard.pages.sender_settings import SenderSettingsPage, normalise_authorized_domain
from wizard.pages.state import WizardState
from wizard.services.model import Profile
from wizard.services.policy import check_sender
from wizard.services.settings import SETTINGS, DeliverySettings
from wizard.services.validation import InvalidInputError
from wizard.widgets.duration_edit import DurationEdit

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def in_wizard(qtbot: QtBot, page: QWizardPage) -> QWizard:
    """The page inside a wizard with a page after it, so Next shows whether the page is complete."""
    window = QWizard()
    window.addPage(page)
    window.addPage(QWizardPage())
    qtbot.addWidget(window)
    window.show()
    return window


def next_enabled(window: QWizard) -> bool:
    return window.button(QWizard.WizardButton.NextButton).isEnabled()


def sender_page(qtbot: QtBot, state: WizardState | None = None) -> tuple[SenderSettingsPage, QWizard, WizardState]:
    state = state or WizardState(
        draft=Profile(name="default", from_address="app@example.com", display_name="Example App"))
    page = SenderSettingsPage(state)
    return page, in_wizard(qtbot, page), state


def add_entry(page: SenderSettingsPage, list_name: str, text: str) -> None:
    page.findChild(QLineEdit, f"{list_name}Entry").setText(text)
    page.findChild(QPushButton, f"{list_name}Add").click()


def shown_problems(page: QWizardPage, name: str) -> str:
    label = page.findChild(QLabel, name)
    return label.text() if label.isVisible() else ""


# --- sender settings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored"), [
    ("example.com", "example.com"), ("News.Example.COM.", "news.example.com"), ("@example.org", "example.org"),
    ("mail.example.co.uk", "mail.example.co.uk"),
])
def test_authorised_domains_are_normalised_as_policy_matches_them(typed: str, stored: str) -> None:
    assert normalise_authorized_domain(typed) == stored


@pytest.mark.parametrize(("typed", "why"), [
    ("*.example.com", "already includes the domains under it"), ("someone@example.com", "authorised senders"),
    ("192.0.2.1", "IP address"), ("localhost", "not a domain"), ("exa mple.com", "not a valid host name"),
])
def test_wrong_authorised_domains_are_refused_with_a_reason(typed: str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=why):
        normalise_authorized_domain(typed)


def test_page_shows_the_state_and_defaults(qtbot: QtBot) -> None:
    page, window, _ = sender_page(qtbot)
    # entered once, on the sender page: shown here read-only
    assert page.findChild(QLabel, "settingsSender").text() == "Example App <app@example.com>"
    assert page.findChild(QLineEdit, "senderDisplayName") is None
    priority = page.findChild(QComboBox, "accountPriority")
    assert [priority.itemText(i) for i in range(priority.count())] == [
        "1 (very high)", "2 (high)", "3 (normal)", "4 (low)", "5 (very low)"]
    assert priority.currentText() == "3 (normal)"
    assert page.findChild(QRadioButton, "actionBlock").isChecked()
    # with both lists empty everyone may send: the action for other senders does not apply
    assert not page.findChild(QRadioButton, "actionAlert").isEnabled()
    assert next_enabled(window)


def test_invalid_postmaster_disables_next_until_fixed(qtbot: QtBot) -> None:
    page, window, state = sender_page(qtbot)
    postmaster = page.findChild(QLineEdit, "postmaster")
    postmaster.setText("postmaster@")
    assert "Postmaster:" in shown_problems(page, "senderValidation")
    assert not next_enabled(window)
    postmaster.setText("Mail.Admin@Example.COM")
    assert shown_problems(page, "senderValidation") == ""
    assert next_enabled(window)
    assert state.draft.postmaster == "Mail.Admin@example.com"


def test_forcing_the_postmaster_needs_a_postmaster_address(qtbot: QtBot) -> None:
    page, window, state = sender_page(qtbot)
    page.findChild(QCheckBox, "forcePostmasterSender").setChecked(True)
    assert "Enter the postmaster address" in shown_problems(page, "senderValidation")
    assert not next_enabled(window)
    page.findChild(QLineEdit, "postmaster").setText("postmaster@example.com")
    assert next_enabled(window)
    assert state.draft.force_postmaster_sender and state.draft.postmaster == "postmaster@example.com"


def test_leaving_the_page_keeps_the_sender_entered_earlier(qtbot: QtBot) -> None:
    page, _window, state = sender_page(qtbot)
    page.findChild(QLineEdit, "postmaster").setText("postmaster@example.com")
    assert page.validatePage()
    assert (state.draft.from_address, state.draft.display_name) == ("app@example.com", "Example App")
    assert state.profile().display_name == "Example App"


def test_priority_and_action_are_written_to_the_state(qtbot: QtBot) -> None:
    page, _window, state = sender_page(qtbot)
    page.findChild(QComboBox, "accountPriority").setCurrentIndex(0)
    add_entry(page, "authorizedDomains", "example.com")
    alert = page.findChild(QRadioButton, "actionAlert")
    assert alert.isEnabled()
    alert.setChecked(True)
    assert state.draft.priority == 1
    assert state.draft.unauthorized_action == "alert"


def test_entered_lists_mean_what_the_sender_policy_enforces(qtbot: QtBot) -> None:
    page, _window, state = sender_page(qtbot)
    add_entry(page, "authorizedDomains", "Example.com")
    add_entry(page, "authorizedDomains", "news.example.org")
    add_entry(page, "authorizedSenders", "Robot@Other.NET")
    assert page.findChild(QListWidget, "authorizedDomainsItems").count() == 2
    assert state.draft.authorized_domains == ("example.com", "news.example.org")
    assert state.draft.authorized_senders == ("robot@other.net",)
    profile = state.profile()
    for allowed in ("app@example.com", "app@billing.example.com", "x@news.example.org", "robot@other.net"):
        assert check_sender(allowed, profile).allowed, allowed
    for refused in ("x@example.org", "someone@other.net"):
        assert not check_sender(refused, profile).allowed, refused


def test_invalid_pending_entry_blocks_next_and_a_valid_one_is_added_on_next(qtbot: QtBot) -> None:
    page, window, state = sender_page(qtbot)
    entry = page.findChild(QLineEdit, "authorizedSenders" + "Entry")
    entry.setText("not-an-address")
    assert "Authorised senders:" in shown_problems(page, "senderValidation")
    assert not page.findChild(QPushButton, "authorizedSendersAdd").isEnabled()
    assert not next_enabled(window)
    entry.setText("robot@example.com")  # typed, never added: Next must not lose it
    assert next_enabled(window)
    window.next()
    assert window.currentId() == 1
    assert state.draft.authorized_senders == ("robot@example.com",)


def test_remove_takes_entries_out_of_the_state(qtbot: QtBot) -> None:
    state = WizardState(
        draft=Profile(name="default", authorized_domains=("example.com", "example.org"), unauthorized_action="alert"))
    page, _window, _ = sender_page(qtbot, state)
    assert page.findChild(QRadioButton, "actionAlert").isChecked()
    items = page.findChild(QListWidget, "authorizedDomainsItems")
    items.item(0).setSelected(True)
    qtbot.mouseClick(page.findChild(QPushButton, "authorizedDomainsRemove"), Qt.MouseButton.LeftButton)
    assert state.draft.authorized_domains == ("example.org",)


# --- delivery settings ---------------------------------------------------------------------------------------------

def delivery_page(qtbot: QtBot, state: WizardState | None = None) -> tuple[DeliverySettingsPage, QWizard, WizardState]:
    state = state or WizardState()
    page = DeliverySettingsPage(state)
    return page, in_wizard(qtbot, page), state


def duration(page: DeliverySettingsPage, key: str) -> tuple[int, str]:
    edit = page.findChild(DurationEdit, key)
    return edit.number.value(), edit.unit.currentText()


def test_delivery_defaults_are_the_contract_defaults_in_plain_units(qtbot: QtBot) -> None:
    page, window, state = delivery_page(qtbot)
    assert page.settings() == DeliverySettings()
    assert duration(page, "max_retry_time_s") == (2, "days")
    assert duration(page, "retry_backoff_initial_s") == (1, "minutes")
    assert duration(page, "retry_backoff_max_s") == (1, "hours")
    assert page.findChild(QSpinBox, "retention_days").text() == "30 days"
    assert page.findChild(QCheckBox, "enabled").isChecked()
    assert next_enabled(window)
    assert state.delivery == DeliverySettings()


def test_changed_values_are_written_to_the_state(qtbot: QtBot) -> None:
    page, _window, state = delivery_page(qtbot)
    page.findChild(QCheckBox, "send_pending_at_startup").setChecked(False)
    page.findChild(QSpinBox, "send_interval_ms").setValue(250)
    retry = page.findChild(DurationEdit, "max_retry_time_s")
    retry.unit.setCurrentText("hours")
    retry.number.setValue(36)
    page.findChild(QSpinBox, "max_concurrent_connections").setValue(1)
    assert state.delivery == DeliverySettings(send_pending_at_startup=False, send_interval_ms=250,
                                              max_retry_time_s=36 * 3600, max_concurrent_connections=1)


def test_existing_odd_values_are_shown_exactly(qtbot: QtBot) -> None:
    state = WizardState(delivery=DeliverySettings(retry_backoff_initial_s=90, max_retry_time_s=5400))
    page, _window, _ = delivery_page(qtbot, state)
    assert duration(page, "retry_backoff_initial_s") == (90, "seconds")
    assert duration(page, "max_retry_time_s") == (90, "minutes")
    assert page.settings() == state.delivery


@pytest.mark.parametrize(("key", "value", "message"), [
    ("retention_days", 0,
     "Keep sent and failed mail for: delivery.retention_days must be a whole number from 1 to 3650, not 0."),
    ("max_concurrent_connections", 0, "delivery.max_concurrent_connections must be a whole number from 1 to 100"),
])
def test_values_below_the_minimum_name_the_key_and_disable_next(qtbot: QtBot, key: str, value: int,
                                                               message: str) -> None:
    page, window, state = delivery_page(qtbot)
    page.findChild(QSpinBox, key).setValue(value)
    assert message in shown_problems(page, "deliveryValidation")
    assert not next_enabled(window)
    assert state.delivery == DeliverySettings()  # the invalid value never reached the state


def test_the_spin_boxes_stop_at_the_registry_upper_bounds(qtbot: QtBot) -> None:
    page, _window, _ = delivery_page(qtbot)
    for key in ("send_interval_ms", "retention_days", "max_concurrent_connections"):
        assert page.findChild(QSpinBox, key).maximum() == SETTINGS[f"delivery.{key}"].maximum


def test_a_duration_past_the_registry_bound_names_the_key(qtbot: QtBot) -> None:
    page, window, _ = delivery_page(qtbot)
    give_up = page.findChild(DurationEdit, "max_retry_time_s")
    give_up.unit.setCurrentText("days")
    give_up.number.setValue(31)
    assert "delivery.max_retry_time_s must be a whole number from 0 to 2592000" in shown_problems(
        page, "deliveryValidation")
    assert not next_enabled(window)


def test_longest_wait_shorter_than_the_first_is_refused(qtbot: QtBot) -> None:
    page, window, _ = delivery_page(qtbot)
    longest = page.findChild(DurationEdit, "retry_backoff_max_s")
    longest.unit.setCurrentText("seconds")
    longest.number.setValue(30)
    assert ("delivery.retry_backoff_max_s must be at least delivery.retry_backoff_initial_s"
            in shown_problems(page, "deliveryValidation"))
    assert not next_enabled(window)


def test_restore_defaults(qtbot: QtBot) -> None:
    state = WizardState(delivery=DeliverySettings(enabled=False, retention_days=0 + 7, send_interval_ms=1000))
    page, window, _ = delivery_page(qtbot, state)
    page.findChild(QSpinBox, "max_concurrent_connections").setValue(0)
    assert not next_enabled(window)
    qtbot.mouseClick(page.findChild(QPushButton, "restoreDeliveryDefaults"), Qt.MouseButton.LeftButton)
    assert state.delivery == DeliverySettings()
    assert page.findChild(QCheckBox, "enabled").isChecked()
    assert next_enabled(window)
    assert shown_problems(page, "deliveryValidation") == ""


def test_every_input_has_a_name_and_an_accessible_name(qtbot: QtBot) -> None:
    opened = [sender_page(qtbot), delivery_page(qtbot)]  # keeps the wizards (and so the pages) alive
    for page in (opened[0][0], opened[1][0]):
        inputs = page.findChildren(QLineEdit) + page.findChildren(QSpinBox) + page.findChildren(QComboBox) + \
            page.findChildren(QCheckBox) + page.findChildren(QRadioButton) + page.findChildren(QListWidget)
        for widget in inputs:
            if widget.parent() is not None and isinstance(widget.parent(), QSpinBox):
                continue  # the spin box's own inner line edit
            assert widget.objectName() and widget.accessibleName(), widget
