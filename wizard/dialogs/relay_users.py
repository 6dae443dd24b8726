"""The relay and its users (MailUp SMTP+'s users): who may submit, with what priority and policy, what each sent,
the loopback sign-in switch, and ready settings for pointing an application at the relay.

Every keyring and config.toml access runs off the GUI thread (relay_user_admin in asyncio.to_thread); dialogs open
with `.open()`, never a nested event loop. A password is shown once, when it is generated, and never again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from typing_extensions import override

from wizard.qt_async import TaskTracker, async_slot
from wizard.services import relay_user_admin
from wizard.services.config import ConfigStore
from wizard.services.relay_clients import RelayEndpoint, client_guides
from wizard.services.relay_user_admin import RelayUserView
from wizard.services.relay_users import RelayUser
from wizard.services.settings import parse_host_port
from wizard.services.validation import InvalidInputError
from wizard.widgets.colours import problem_style
from wizard.widgets.profile_card import named

COLUMNS = ("User", "State", "Priority", "Profile", "Last 24 h", "Last 30 days", "Last used", "Note")
ROUTING = "(by sender address)"


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


class RelayUserEditor(QDialog):
    """Add or edit one user; `saved(RelayUser)` with the checked values."""

    saved = Signal(object)

    def __init__(self, user: RelayUser | None, profiles: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit relay user" if user else "Add relay user")
        self.setObjectName("relayUserEditor")
        self.existing = user
        user = user or RelayUser("")
        self.name = named(QLineEdit(user.name), "relayUserName", "User name")
        self.name.setReadOnly(self.existing is not None)
        self.name.setPlaceholderText("e.g. erp-server (letters, digits, . _ - @ +)")
        self.active = named(QCheckBox("Active: may sign in and submit mail"), "relayUserActive", "Active")
        self.active.setChecked(user.active)
        self.priority = named(QSpinBox(), "relayUserPriority", "Priority")
        self.priority.setRange(1, 5)
        self.priority.setValue(user.priority)
        self.priority.setToolTip("1 = very high … 5 = very low. A message flagged important by its sender can "
                                 "only raise it.")
        self.note = named(QLineEdit(user.note), "relayUserNote", "Note")
        self.note.setPlaceholderText("What submits as this user, e.g. the ERP on srv-erp-01")
        self.domains = named(QLineEdit(", ".join(user.authorized_domains)), "relayUserDomains", "Authorised domains")
        self.domains.setPlaceholderText("example.com, news.example.org (empty: any the account allows)")
        self.senders = named(QLineEdit(", ".join(user.authorized_senders)), "relayUserSenders", "Authorised senders")
        self.senders.setPlaceholderText("billing@example.com")
        self.unauthorized = named(QComboBox(), "relayUserUnauthorized", "Unauthorised senders")
        self.unauthorized.addItem("Block the message (550)", "block")
        self.unauthorized.addItem("Send it and raise an alert", "alert")
        self.unauthorized.setCurrentIndex(0 if user.unauthorized_action == "block" else 1)
        self.profile = named(QComboBox(), "relayUserProfile", "Account")
        self.profile.addItem(ROUTING, "")
        for name in profiles:
            self.profile.addItem(name, name)
        self.profile.setCurrentIndex(max(0, self.profile.findData(user.profile)))
        self.error = named(QLabel(), "relayUserError", "Problem")
        self.error.setStyleSheet(problem_style())
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("User name", self.name)
        form.addRow("", self.active)
        form.addRow("Priority", self.priority)
        form.addRow("Note", self.note)
        form.addRow("Authorised domains", self.domains)
        form.addRow("Authorised senders", self.senders)
        form.addRow("Other senders", self.unauthorized)
        form.addRow("Account", self.profile)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("This user's rules apply in addition to the account's: both must allow a sender."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def user(self) -> RelayUser:
        base = self.existing or RelayUser(self.name.text().strip(), created_at=time.time())
        return replace(base, active=self.active.isChecked(), priority=self.priority.value(), note=self.note.text(),
                       authorized_domains=_split(self.domains.text()), authorized_senders=_split(self.senders.text()),
                       unauthorized_action=str(self.unauthorized.currentData()),
                       profile=str(self.profile.currentData()))

    def _accept(self) -> None:
        from wizard.services.settings import validate_relay_user

        try:
            validate_relay_user(self.name.text().strip())
            checked = self.user().validated()
        except InvalidInputError as exc:
            self.error.setText(str(exc))
            return
        self.saved.emit(checked)
        self.accept()


class PasswordOnceDialog(QDialog):
    """A generated password, shown this once with a Copy button."""

    def __init__(self, user: str, password: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Password for {user}")
        self.setObjectName("relayPasswordDialog")
        self.password = named(QLineEdit(password), "relayPassword", "New password")
        self.password.setReadOnly(True)
        copy = named(QPushButton("Copy"), "relayPasswordCopy", "Copy the password")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(password))
        row = QHBoxLayout()
        row.addWidget(self.password, 1)
        row.addWidget(copy)
        warning = QLabel("Copy it into the application's mail settings now: Mailwright keeps it only in the "
                         "system keyring and will not show it again. If it is lost, reset it.")
        warning.setWordWrap(True)
        warning.setStyleSheet(problem_style())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(warning)
        layout.addLayout(row)
        layout.addWidget(buttons)


class RelayUsersDialog(QDialog):
    """Non-modal; `changed` after a user or the sign-in switch changed."""

    changed = Signal()

    def __init__(self, store: ConfigStore, outbox_path: Path | None = None, parent: QWidget | None = None) -> None:
        """`store`: the running app's config store (the wizard's); `outbox_path` its outbox (default: in the
        store's data home), whose relay ledger says when each user last submitted."""
        super().__init__(parent)
        from wizard.services.outbox import OUTBOX_FILE

        self.store = store
        self.outbox_path = outbox_path or self.store.home / OUTBOX_FILE
        self.tasks = TaskTracker(self)
        self.views: list[RelayUserView] = []
        self.child: QDialog | None = None
        self.setObjectName("relayUsersDialog")
        self.setWindowTitle("Relay and relay users")
        self.resize(760, 520)
        self.address = named(QLabel(), "relayAddress", "Relay address")
        self.address.setWordWrap(True)
        self.require_auth = named(QCheckBox("Require a relay user's sign-in on this computer too (shared "
                                            "machines: terminal servers, several services on one host)"),
                                  "relayRequireAuth", "Require sign-in")
        self.require_auth.toggled.connect(self._on_require_auth)
        self.table = named(QTableWidget(0, len(COLUMNS)), "relayUsersTable", "Relay users")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.message = named(QLabel(), "relayUsersMessage", "Result")
        self.message.setWordWrap(True)
        self.add_button = named(QPushButton("Add…"), "relayUserAdd", "Add a relay user")
        self.edit_button = named(QPushButton("Edit…"), "relayUserEdit", "Edit the selected user")
        self.reset_button = named(QPushButton("Reset password…"), "relayUserReset",
                                  "Reset the selected user's password")
        self.delete_button = named(QPushButton("Delete"), "relayUserDelete", "Delete the selected user")
        self.add_button.clicked.connect(self._on_add)
        self.edit_button.clicked.connect(self._on_edit)
        self.reset_button.clicked.connect(self._on_reset)
        self.delete_button.clicked.connect(self._on_delete)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.reset_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.client_user = named(QComboBox(), "relayClientUser", "Settings for user")
        self.client_user.currentIndexChanged.connect(self._show_guides)
        self.guides = named(QTabWidget(), "relayClientGuides", "How to point an application at the relay")
        guide_row = QHBoxLayout()
        guide_row.addWidget(QLabel("Settings for an application signing in as"))
        guide_row.addWidget(self.client_user, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.address)
        layout.addWidget(self.require_auth)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(guide_row)
        layout.addWidget(self.guides, 1)
        layout.addWidget(close)

    @override
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._on_shown)

    @async_slot()
    async def _on_shown(self) -> None:
        await self.tasks.run(self.reload())

    async def reload(self) -> None:
        config = await asyncio.to_thread(self.store.load)
        self.views = await asyncio.to_thread(relay_user_admin.list_users, self.store, self.outbox_path)
        self.profiles = sorted(config.profiles)
        relay = config.relay
        self.endpoint_host, self.endpoint_port = parse_host_port(relay.listen)
        remote = relay.allow_remote
        self.endpoint_security = ("tls" if relay.tls_mode == "implicit" else "starttls") if remote else "none"
        where = "network: TLS and a relay user required" if remote else "this computer only"
        self.address.setText(f"Relay: {relay.listen} ({where}{'' if relay.enabled else '; switched off'}). Each "
                             "application or device gets its own user: what it may send, how urgent its mail is, "
                             "and what it sent.")
        self.require_auth.blockSignals(True)
        self.require_auth.setChecked(relay.require_auth)
        self.require_auth.setEnabled(not remote)  # a network relay always requires sign-in
        self.require_auth.blockSignals(False)
        self._fill_table()
        current = self.client_user.currentData()
        self.client_user.blockSignals(True)
        self.client_user.clear()
        signs_in = remote or relay.require_auth
        if signs_in:
            for view in self.views:
                self.client_user.addItem(view.user.name, view.user.name)
        else:  # the loopback relay offers no AUTH: a client configured to sign in would fail
            self.client_user.addItem("(no sign-in: switch it on above to give each application its own user)", "")
        self.client_user.setEnabled(signs_in)
        self.client_user.setCurrentIndex(max(0, self.client_user.findData(current)))
        self.client_user.blockSignals(False)
        self._show_guides()

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.views))
        for row, view in enumerate(self.views):
            day, month = view.counts["24h"], view.counts["30d"]
            last = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.last_used_at)) if view.last_used_at else "never"
            cells = (view.user.name, ("active" if view.user.active else "inactive")
                     + ("" if view.has_password else " · no password"), str(view.user.priority),
                     view.user.profile or ROUTING,
                     f"{day.accepted} in · {day.sent} sent · {day.failed} failed · {day.held} held",
                     f"{month.accepted} in · {month.sent} sent · {month.failed} failed", last, view.user.note)
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        has_users = bool(self.views)
        for button in (self.edit_button, self.reset_button, self.delete_button):
            button.setEnabled(has_users)
        if has_users and not self.table.selectedItems():
            self.table.selectRow(0)

    def _show_guides(self) -> None:
        endpoint = RelayEndpoint(self.endpoint_host, self.endpoint_port, self.endpoint_security,
                                 str(self.client_user.currentData() or ""))
        self.guides.clear()
        for guide in client_guides(endpoint):
            text = QPlainTextEdit(guide.settings + (f"\n\nNote: {guide.note}" if guide.note else ""))
            text.setReadOnly(True)
            text.setObjectName(f"guide_{guide.client.split()[0].lower()}")
            self.guides.addTab(text, guide.client)

    def selected(self) -> RelayUser | None:
        rows = self.table.selectionModel().selectedRows()
        return self.views[rows[0].row()].user if rows and rows[0].row() < len(self.views) else None

    def _open_editor(self, user: RelayUser | None) -> RelayUserEditor:
        editor = RelayUserEditor(user, self.profiles, self)
        editor.saved.connect(self._on_saved)
        self.child = editor
        editor.open()
        return editor

    def _on_add(self) -> None:
        self._open_editor(None)

    def _on_edit(self) -> None:
        user = self.selected()
        if user is not None:
            self._open_editor(user)

    @async_slot(object)
    async def _on_saved(self, user: object) -> None:
        await self.tasks.run(self._save(user))

    async def _save(self, user: object) -> None:
        assert isinstance(user, RelayUser)
        try:
            if user.name in {view.user.name for view in self.views}:
                await asyncio.to_thread(relay_user_admin.update_user, self.store, user)
                self.message.setText(f"{user.name} saved.")
            else:
                password = await asyncio.to_thread(relay_user_admin.add_user, self.store, user)
                self.message.setText(f"{user.name} added.")
                if password:
                    self._show_password(user.name, password)
        except (InvalidInputError, RuntimeError) as exc:
            self.message.setText(str(exc))
            return
        await self.reload()
        self.changed.emit()

    @async_slot()
    async def _on_reset(self) -> None:
        await self.tasks.run(self._reset())

    async def _reset(self) -> None:
        user = self.selected()
        if user is None:
            return
        password = await asyncio.to_thread(relay_user_admin.reset_password, self.store, user.name)
        self.message.setText(f"{user.name} has a new password; the old one no longer works.")
        self._show_password(user.name, password)

    def _show_password(self, user: str, password: str) -> None:
        dialog = PasswordOnceDialog(user, password, self)
        self.child = dialog
        dialog.open()

    @async_slot()
    async def _on_delete(self) -> None:
        await self.tasks.run(self._delete())

    async def _delete(self) -> None:
        user = self.selected()
        if user is None:
            return
        await asyncio.to_thread(relay_user_admin.remove_user, self.store, user.name)
        self.message.setText(f"{user.name} deleted: it can no longer sign in.")
        await self.reload()
        self.changed.emit()

    @async_slot(bool)
    async def _on_require_auth(self, on: bool) -> None:
        await self.tasks.run(self._set_require_auth(on))

    async def _set_require_auth(self, on: bool) -> None:
        if on and not self.views:
            self.require_auth.blockSignals(True)  # unticking it back is not a change to save
            self.require_auth.setChecked(False)
            self.require_auth.blockSignals(False)
            self.message.setText("Add a relay user first: with sign-in required and no user, nothing could submit.")
            return
        await asyncio.to_thread(self.store.set_table_value, "relay", "require_auth", on)
        self.message.setText("Sign-in is now required on this computer too." if on else
                             "Programs on this computer may submit without signing in.")
        await self.reload()
        self.changed.emit()

