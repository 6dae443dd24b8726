"""The summary page's loopback relay check box: saved to config.toml's `[relay]` table (comments kept), which
is what the app reads to start the relay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QLineEdit, QSpinBox, QWizard
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from tests.gui.wizard_driver import finish_and_save
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services import secrets
from wizard.services.background_delivery import relay_address_from_config
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.validation import InvalidInputError

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.fixture
def summary(qtbot: QtBot, profile_name: str) -> Iterator[MailwrightWizard]:
    state = WizardState(
        draft=Profile(name=profile_name, from_address="app@example.com", host="smtp.example.com",
                      port=587))  # no sign-in: nothing to put in the keyring
    window = MailwrightWizard(SavedAccounts(state), start=PageId.SUMMARY, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    secrets.delete_profile_secrets(profile_name)


async def save(qtbot: QtBot, window: MailwrightWizard) -> None:
    await finish_and_save(qtbot, window)


def relay_box(window: MailwrightWizard) -> QCheckBox:
    box = window.summary_page.findChild(QCheckBox, "relayEnabled")
    assert box is not None and box.isVisible()
    return box


@pytest.mark.asyncio
async def test_ticking_the_relay_saves_it_where_the_app_reads_it(qtbot: QtBot, data_home: Path,
                                                                 summary: MailwrightWizard) -> None:
    config = data_home / "config.toml"
    config.write_text("# kept by the admin\n[delivery]\nretention_days = 60 # two months\n", encoding="utf-8")
    box = relay_box(summary)
    assert summary.summary_page.relay_listen_address() == "127.0.0.1:2525"
    assert not box.isChecked()
    assert relay_address_from_config(config) is None
    box.setChecked(True)

    await save(qtbot, summary)

    text = config.read_text(encoding="utf-8")
    assert "# kept by the admin" in text and "# two months" in text
    assert ConfigStore().table_values("relay") == {"enabled": True, "listen": "127.0.0.1:2525"}
    assert relay_address_from_config(config) == ("127.0.0.1", 2525)


@pytest.mark.asyncio
async def test_a_relay_setting_changed_after_a_failed_finish_is_what_finish_saves(
        qtbot: QtBot, data_home: Path, summary: MailwrightWizard) -> None:
    page = summary.summary_page
    page.findChild(QLineEdit, "profileName").setText("two words")
    assert not summary.button(QWizard.WizardButton.FinishButton).isEnabled()  # nothing Finish could save
    page.findChild(QLineEdit, "profileName").setText("relay-off")
    relay_box(summary).setChecked(True)
    relay_box(summary).setChecked(False)
    await save(qtbot, summary)
    assert ConfigStore().load().profiles["relay-off"].host == "smtp.example.com"
    assert relay_address_from_config(data_home / "config.toml") is None


def test_the_examples_follow_the_relay_switch(summary: MailwrightWizard) -> None:
    page = summary.summary_page
    box, port = relay_box(summary), page.findChild(QSpinBox, "relayPort")
    assert not box.isChecked()
    off = page.how_to_send.toPlainText()
    assert "127.0.0.1" not in off and "2525" not in off  # no address to use while nothing listens there
    assert "loopback relay, which is off" in off and not port.isEnabled()
    box.setChecked(True)
    on = page.how_to_send.toPlainText()
    assert "server 127.0.0.1, port 2525, no TLS, no sign-in" in on and "serve --relay 127.0.0.1:2525" in on
    assert port.isEnabled()
    box.setChecked(False)
    assert page.how_to_send.toPlainText() == off


@pytest.mark.asyncio
async def test_an_enabled_relay_on_another_address_is_shown_and_kept(qtbot: QtBot, data_home: Path,
                                                                     profile_name: str) -> None:
    config = data_home / "config.toml"
    config.write_text('[relay]\nenabled = true\nlisten = "127.0.0.1:2600"  # port 2525 is taken here\n')
    state = WizardState(draft=Profile(name=profile_name, from_address="app@example.com", host="smtp.example.com"))
    window = MailwrightWizard(SavedAccounts(state), start=PageId.SUMMARY, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    box = relay_box(window)
    assert box.isChecked() and window.summary_page.relay_listen_address() == "127.0.0.1:2600"
    assert "port 2600" in window.summary_page.how_to_send.toPlainText()

    await save(qtbot, window)

    assert "# port 2525 is taken here" in config.read_text()
    assert relay_address_from_config(config) == ("127.0.0.1", 2600)


@pytest.mark.asyncio
async def test_the_relay_port_is_chosen_on_the_page_and_saved_with_the_host_kept(qtbot: QtBot, data_home: Path,
                                                                                  summary: MailwrightWizard) -> None:
    page = summary.summary_page
    port = page.findChild(QSpinBox, "relayPort")
    assert port is not None and port.value() == 2525 and port.minimum() == 1024  # no administrator ports
    relay_box(summary).setChecked(True)
    port.setValue(2601)  # 2525 is taken by another program here
    assert "server 127.0.0.1, port 2601" in page.how_to_send.toPlainText()
    assert "serve --relay 127.0.0.1:2601" in page.how_to_send.toPlainText()

    await save(qtbot, summary)

    assert relay_address_from_config(data_home / "config.toml") == ("127.0.0.1", 2601)


def test_set_table_value_keeps_comments_and_refuses_validated_tables(data_home: Path) -> None:
    store = ConfigStore()
    store.path.write_text("# top\n[relay] # the relay\nenabled = false\n")
    store.set_table_value("relay", "enabled", True)
    assert store.path.read_text() == "# top\n[relay] # the relay\nenabled = true\n"
    for table in ("delivery", "profiles"):
        with pytest.raises(InvalidInputError):
            store.set_table_value(table, "enabled", True)


@pytest.mark.asyncio
@pytest.mark.keyring
async def test_the_loopback_sign_in_switch_needs_a_relay_user_and_is_saved_with_the_account(
        qtbot: QtBot, data_home: Path, profile_name: str) -> None:
    from wizard.services import relay_user_admin
    from wizard.services.relay_users import RelayUser

    def page_with_switch() -> tuple[MailwrightWizard, QCheckBox]:
        state = WizardState(draft=Profile(name=profile_name, from_address="app@example.com",
                                          host="smtp.example.com", port=587))
        window = MailwrightWizard(SavedAccounts(state), start=PageId.SUMMARY, autostart_check=False)
        qtbot.addWidget(window)
        window.show()
        switch = window.summary_page.findChild(QCheckBox, "relayRequireAuth")
        assert switch is not None
        return window, switch

    _window, switch = page_with_switch()
    assert not switch.isEnabled()  # no relay user yet: it would lock every application out
    relay_user_admin.add_user(ConfigStore(), RelayUser("erp-server"), "erp relay password")
    try:
        window, switch = page_with_switch()
        assert switch.isEnabled() and not switch.isChecked()
        relay_box(window).setChecked(True)
        switch.setChecked(True)
        await save(qtbot, window)
        assert ConfigStore().load().relay.require_auth is True
    finally:
        secrets.delete_relay_password("erp-server")
