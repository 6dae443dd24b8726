"""The account list: duplicate and remove carry the keyring along; default switching; add and edit open the wizard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from wizard.dialogs.profiles import ProfilesDialog
from wizard.pages.ids import PageId
from wizard.services import accounts, secrets
from wizard.services.app_services import Services
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.fixture
def names(profile_name: str, data_home: Path) -> Iterator[tuple[str, str, str]]:
    """Two saved accounts with passwords in the keyring, and the name a copy will get; all cleaned up after."""
    first, second, copy = f"{profile_name}-a", f"{profile_name}-b", f"{profile_name}-copy"
    store = ConfigStore()
    accounts.save_profile(Profile(name=first, from_address="a@example.com", host="smtp.example.com",
                                  username="a@example.com"), "password-a", store)
    accounts.save_profile(Profile(name=second, from_address="b@example.com", host="smtp.example.com",
                                  username="b@example.com"), "password-b", store)
    yield first, second, copy
    for name in (first, second, copy):
        secrets.delete_profile_secrets(name)


def _dialog(qtbot: QtBot) -> ProfilesDialog:
    dialog = ProfilesDialog(Services.open())
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _listed(dialog: ProfilesDialog) -> list[str]:
    return [dialog.list.item(row).text() for row in range(dialog.list.count())]


@pytest.mark.asyncio
async def test_duplicate_copies_the_settings_and_the_password_under_the_new_name(
        qtbot: QtBot, names: tuple[str, str, str]) -> None:
    first, _second, copy = names
    dialog = _dialog(qtbot)
    dialog.select(first)
    dialog.duplicate_button.click()
    ask = dialog.findChild(QInputDialog, "duplicateName")
    assert ask is not None and ask.isVisible()
    assert ask.textValue() == f"{first}-copy"
    changed = SignalWaiter(dialog.changed)
    ask.setTextValue(copy)
    ask.accept()
    await changed.wait()
    await dialog.tasks.wait()
    saved = ConfigStore().load().profiles[copy]
    assert (saved.from_address, saved.host, saved.username) == ("a@example.com", "smtp.example.com", "a@example.com")
    assert secrets.load_secret(copy, SecretKind.PASSWORD) == "password-a"
    assert dialog.selected() == copy
    assert dialog.message.text() == f"Copied '{first}' to '{copy}', with its secrets."


@pytest.mark.asyncio
async def test_duplicate_refuses_an_existing_name(qtbot: QtBot, names: tuple[str, str, str]) -> None:
    first, second, _copy = names
    dialog = _dialog(qtbot)
    assert not await dialog.duplicate(first, second)
    assert dialog.message.text() == f"Could not copy '{first}': There is already a profile named '{second}'."
    assert secrets.load_secret(second, SecretKind.PASSWORD) == "password-b"


@pytest.mark.asyncio
async def test_remove_asks_first_and_removes_the_keyring_entry_too(qtbot: QtBot, names: tuple[str, str, str]) -> None:
    first, second, _copy = names
    dialog = _dialog(qtbot)
    dialog.select(second)
    dialog.remove_button.click()
    ask = dialog.findChild(QMessageBox, "confirmRemove")
    assert ask is not None and ask.isVisible()
    ask.button(QMessageBox.StandardButton.Cancel).click()
    assert second in ConfigStore().load().profiles  # cancelled: nothing happened

    dialog.remove_button.click()
    changed = SignalWaiter(dialog.changed)
    ask = dialog.findChild(QMessageBox, "confirmRemove")
    assert ask is not None
    ask.button(QMessageBox.StandardButton.Yes).click()
    await changed.wait()
    await dialog.tasks.wait()
    assert list(ConfigStore().load().profiles) == [first]
    assert secrets.load_secret(second, SecretKind.PASSWORD) is None
    assert secrets.load_secret(first, SecretKind.PASSWORD) == "password-a"
    assert dialog.message.text() == f"Removed '{second}' (keyring: password)."


def test_set_default_switches_the_default_account(qtbot: QtBot, names: tuple[str, str, str]) -> None:
    first, second, _copy = names
    dialog = _dialog(qtbot)
    assert _listed(dialog)[0].endswith("(default)")
    dialog.select(first)
    assert not dialog.default_button.isEnabled()  # already the default
    dialog.select(second)
    with qtbot.waitSignal(dialog.changed):
        dialog.default_button.click()
    assert ConfigStore().load().default_profile == second
    assert _listed(dialog) == [f"{first}: a@example.com · SMTP server",
                              f"{second}: b@example.com · SMTP server  (default)"]
    assert not dialog.default_button.isEnabled()


def test_edit_opens_the_wizard_on_that_account_and_add_on_a_new_one(qtbot: QtBot,
                                                                   names: tuple[str, str, str]) -> None:
    _first, second, _copy = names
    dialog = _dialog(qtbot)
    dialog.select(second)
    dialog.edit_button.click()
    wizard = dialog.wizard
    assert wizard is not None and wizard.isVisible()
    assert wizard.currentId() == PageId.WELCOME
    assert wizard.state.editing == second
    assert wizard.welcome_page.selected_profile() == second
    wizard.next()  # the welcome page keeps the account chosen
    assert (wizard.state.draft.name, wizard.state.draft.from_address) == (second, "b@example.com")
    wizard.reject()

    wizard = dialog.add_profile()
    assert wizard.welcome_page.new_account.isChecked()
    assert wizard.state.editing == ""
    assert wizard.state.draft.name not in ConfigStore().load().profiles
    wizard.reject()
