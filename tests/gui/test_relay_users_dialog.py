"""The Relay users dialog driven as an admin would: add (a generated password shown once), edit, reset, delete,
the loopback sign-in switch, and client settings that name the chosen user. Real keyring, real config.toml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.waiting import eventually
from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.dialogs.relay_users import PasswordOnceDialog, RelayUserEditor, RelayUsersDialog
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import Outbox

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.fixture
def store(data_home: Path) -> Iterator[ConfigStore]:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com"))
    store.save_profile(Profile(name="erp", from_address="erp@example.com"))
    yield store
    secrets.delete_relay_password("erp-server")


@pytest.mark.asyncio
async def test_an_admin_adds_edits_resets_and_deletes_a_relay_user(qtbot: QtBot, store: ConfigStore) -> None:
    dialog = RelayUsersDialog(store, Outbox().path)
    qtbot.addWidget(dialog)
    dialog.show()
    await eventually(lambda: dialog.address.text() != "" and not dialog.tasks.busy, "the dialog reading its users")
    assert dialog.table.rowCount() == 0 and not dialog.delete_button.isEnabled()

    dialog.add_button.click()
    editor = dialog.child
    assert isinstance(editor, RelayUserEditor)
    editor.name.setText("erp-server")
    editor.priority.setValue(1)
    editor.note.setText("ERP on srv-erp-01")
    editor.domains.setText("bad domain")
    editor._accept()
    # nothing is saved, the input stays
    assert "'bad domain' is not a valid host name" in editor.error.text() and editor.isVisible()
    editor.domains.setText("example.com")
    editor.profile.setCurrentIndex(editor.profile.findData("erp"))
    editor._accept()
    await eventually(lambda: isinstance(dialog.child, PasswordOnceDialog), "the generated password")
    await dialog.tasks.wait()
    shown = dialog.child
    assert isinstance(shown, PasswordOnceDialog) and shown.isVisible()
    generated = shown.password.text()
    assert secrets.load_relay_password("erp-server") == generated and len(generated) >= 24
    user = store.load().relay_users["erp-server"]
    assert (user.priority, user.note, user.authorized_domains, user.profile) == (1, "ERP on srv-erp-01",
                                                                                ("example.com",), "erp")
    assert dialog.table.item(0, 0).text() == "erp-server"
    assert generated not in store.path.read_text()
    shown.close()

    dialog.edit_button.click()
    editor = dialog.child
    assert isinstance(editor, RelayUserEditor) and editor.name.isReadOnly()
    editor.active.setChecked(False)
    editor._accept()
    await eventually(lambda: dialog.table.item(0, 1).text().startswith("inactive"), "the user shown inactive")
    assert store.load().relay_users["erp-server"].active is False
    assert dialog.table.item(0, 1).text().startswith("inactive")

    dialog.reset_button.click()
    await eventually(lambda: dialog.child is not shown and isinstance(dialog.child, PasswordOnceDialog),
                     "the new password")
    reset = dialog.child
    assert isinstance(reset, PasswordOnceDialog)
    assert reset.password.text() != generated and secrets.load_relay_password("erp-server") == reset.password.text()
    reset.close()

    def python_guide() -> str:
        tabs = [dialog.guides.tabText(i) for i in range(dialog.guides.count())]
        return dialog.guides.widget(tabs.index("Python")).toPlainText()  # type: ignore[attr-defined, no-any-return]

    assert "login" not in python_guide() and not dialog.client_user.isEnabled()  # loopback without sign-in
    dialog.require_auth.setChecked(True)
    await eventually(lambda: dialog.client_user.isEnabled(), "the users offered for the client settings")
    assert store.load().relay.require_auth is True
    dialog.client_user.setCurrentIndex(dialog.client_user.findData("erp-server"))
    assert "smtp.login('erp-server'" in python_guide()

    dialog.delete_button.click()
    await eventually(lambda: dialog.table.rowCount() == 0, "the user gone from the table")
    assert store.load().relay_users == {} and secrets.load_relay_password("erp-server") is None
    await _closed(dialog)


@pytest.mark.asyncio
async def test_sign_in_cannot_be_required_before_a_user_exists(qtbot: QtBot, store: ConfigStore) -> None:
    dialog = RelayUsersDialog(store, Outbox().path)
    qtbot.addWidget(dialog)
    dialog.show()
    await eventually(lambda: dialog.address.text() != "" and not dialog.tasks.busy, "the dialog reading its users")
    dialog.require_auth.setChecked(True)
    await eventually(lambda: "Add a relay user first" in dialog.message.text(),
                     lambda: f"the refusal, not {dialog.message.text()!r}")
    assert not dialog.require_auth.isChecked() and "Add a relay user first" in dialog.message.text()
    assert store.load().relay.require_auth is False
    await _closed(dialog)


async def _closed(dialog: RelayUsersDialog) -> None:
    """Every task the dialog started has finished: none resumes in the next test."""
    await eventually(lambda: not dialog.tasks.busy, "the dialog's work")
    dialog.close()
    await dialog.tasks.wait()
