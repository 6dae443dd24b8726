"""The account list: add, edit (re-run the wizard on it), duplicate, remove (keyring too), set default."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.pages.ids import PageId
from wizard.pages.state import WizardState, unused_profile_name
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import accounts, secrets
from wizard.services.config import Config
from wizard.services.health import PROVIDER_LABELS
from wizard.services.validation import InvalidInputError

if TYPE_CHECKING:
    from wizard.services.app_services import Services


def describe(name: str, config: Config) -> str:
    profile = config.profiles[name]
    default = "  (default)" if name == config.default_profile else ""
    return f"{name}: {profile.from_address or 'no sender address'} · {PROVIDER_LABELS[profile.provider]}{default}"


class ProfilesDialog(QDialog):
    """Non-modal; `changed` after anything was added, edited, copied, removed or made the default."""

    changed = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services  # the running app's: the wizard it opens saves with the same store
        self.store = services.store
        self.tasks = TaskTracker(self)
        self.wizard: MailwrightWizard | None = None
        self._pending: QDialog | None = None
        self.config = Config()
        self.setObjectName("profilesDialog")
        self.setWindowTitle("Accounts")
        self.list = QListWidget()
        self.list.setObjectName("profileList")
        self.list.setAccessibleName("Accounts")
        self.message = QLabel()
        self.message.setObjectName("profilesMessage")
        self.message.setAccessibleName("Result")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QVBoxLayout()
        self.add_button = self._button("addProfile", "Add…", "Add an account", buttons)
        self.edit_button = self._button("editProfile", "Edit…", "Edit the selected account in the wizard", buttons)
        self.duplicate_button = self._button("duplicateProfile", "Duplicate…", "Copy the selected account", buttons)
        self.remove_button = self._button("removeProfile", "Remove…", "Remove the selected account", buttons)
        self.default_button = self._button("defaultProfile", "Set as default", "Make the selected account the default",
                                           buttons)
        buttons.addStretch(1)
        self.close_button = self._button("closeProfiles", "Close", "Close", buttons)
        self.add_button.clicked.connect(self.add_profile)
        self.edit_button.clicked.connect(self._edit_selected)
        self.duplicate_button.clicked.connect(self._ask_duplicate)
        self.remove_button.clicked.connect(self._ask_remove)
        self.default_button.clicked.connect(self._default_selected)
        self.close_button.clicked.connect(self.close)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemDoubleClicked.connect(lambda _item: self._edit_selected())
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.message)
        self.resize(560, 320)
        self.reload()

    def _button(self, name: str, text: str, accessible: str, layout: QVBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.setAutoDefault(False)
        layout.addWidget(button)
        return button

    def reload(self, select: str | None = None) -> None:
        keep = select or self.selected()
        try:
            self.config = self.store.load()
        except (ValueError, OSError) as exc:
            self.config = Config()
            self.show_message(f"The settings file could not be read: {exc}")
        self.list.clear()
        for name in self.config.profiles:
            item = QListWidgetItem(describe(name, self.config))
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
            if name == keep or self.list.currentItem() is None:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> str:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(row)

    def _update_buttons(self) -> None:
        chosen = self.selected()
        for button in (self.edit_button, self.duplicate_button, self.remove_button):
            button.setEnabled(bool(chosen))
        self.default_button.setEnabled(bool(chosen) and chosen != self.config.default_profile)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    # -- add and edit: the wizard -----------------------------------------------------------------

    def add_profile(self) -> MailwrightWizard:
        state = WizardState(saved_profiles=dict(self.config.profiles))
        state.start_new()
        wizard = self._open_wizard(SavedAccounts(state))
        wizard.welcome_page.new_account.setChecked(True)
        return wizard

    def edit_profile(self, name: str, start: PageId = PageId.WELCOME) -> MailwrightWizard:
        """The wizard on a saved account: from the welcome page, which preselects it (its Next keeps the loaded
        state), or straight at `start` (the page that fixes a problem)."""
        state = WizardState(saved_profiles=dict(self.config.profiles))
        state.load_profile(self.config.profiles[name])
        return self._open_wizard(SavedAccounts(state, default_profile=name), start)

    def _edit_selected(self) -> None:
        if self.selected():
            self.edit_profile(self.selected())

    def _open_wizard(self, saved: SavedAccounts, start: PageId = PageId.WELCOME) -> MailwrightWizard:
        if self.wizard is not None and self.wizard.isVisible():
            self.wizard.raise_()
            return self.wizard
        wizard = MailwrightWizard(saved, services=self.services, start=start, parent=self)
        wizard.setWindowModality(Qt.WindowModality.NonModal)
        wizard.finished.connect(lambda _result: self._wizard_closed(wizard))
        self.wizard = wizard
        wizard.open()
        return wizard

    def _wizard_closed(self, wizard: MailwrightWizard) -> None:
        saved = wizard.state.saved
        self.reload(select=saved.name if saved is not None else None)
        if saved is not None:
            self.show_message(f"Saved account '{saved.name}'.")
            self.changed.emit()

    # -- duplicate, remove, default ---------------------------------------------------------------

    def _ask_duplicate(self) -> None:
        source = self.selected()
        if not source:
            return
        ask = QInputDialog(self)
        ask.setObjectName("duplicateName")
        ask.setWindowTitle("Duplicate account")
        ask.setLabelText(f"Name of the copy of '{source}':")
        ask.setTextValue(unused_profile_name(self.config.profiles) if source == "default" else f"{source}-copy")
        ask.textValueSelected.connect(lambda name: self._on_duplicate_named(source, name))
        self._pending = ask
        ask.open()

    @async_slot(str, str)
    async def _on_duplicate_named(self, source: str, name: str) -> None:
        await self.tasks.run(self.duplicate(source, name))

    async def duplicate(self, source: str, new_name: str) -> bool:
        """Copy settings and keyring secrets; the keyring is blocking, so it runs in a thread."""
        new_name = new_name.strip()
        try:
            await asyncio.to_thread(accounts.duplicate_profile, source, new_name, self.store)
        except (InvalidInputError, ValueError, KeyError, secrets.KeyringUnavailableError) as exc:
            self.show_message(f"Could not copy '{source}': {exc}")
            return False
        self.reload(select=new_name)
        self.show_message(f"Copied '{source}' to '{new_name}', with its secrets.")
        self.changed.emit()
        return True

    def _ask_remove(self) -> None:
        name = self.selected()
        if not name:
            return
        ask = QMessageBox(QMessageBox.Icon.Question, "Remove account",
                          f"Remove the account '{name}' and its password/secrets from the keyring?\n"
                          "Mail already queued for it stays in the outbox.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        ask.setObjectName("confirmRemove")
        ask.setDefaultButton(QMessageBox.StandardButton.Cancel)
        ask.finished.connect(lambda result: self._on_remove_answer(name, result))
        self._pending = ask
        ask.open()

    @async_slot(str, int)
    async def _on_remove_answer(self, name: str, result: int) -> None:
        if result == int(QMessageBox.StandardButton.Yes):
            await self.tasks.run(self.remove(name))

    async def remove(self, name: str) -> bool:
        try:
            removed = await asyncio.to_thread(accounts.remove_profile, name, self.store)
        except KeyError as exc:
            self.show_message(str(exc.args[0]))
            return False
        self.reload()
        kinds = ", ".join(kind.value for kind in removed) or "no secrets stored"
        self.show_message(f"Removed '{name}' (keyring: {kinds}).")
        self.changed.emit()
        return True

    def _default_selected(self) -> None:
        if self.selected():
            self.set_default(self.selected())

    def set_default(self, name: str) -> None:
        self.store.set_default(name)
        self.reload(select=name)
        self.show_message(f"'{name}' is now the default account (used when the From address matches no account).")
        self.changed.emit()

    @override
    def reject(self) -> None:
        self.tasks.cancel()
        super().reject()
