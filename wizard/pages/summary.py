"""Summary: what will be saved, and saving it (settings to config.toml, password to the keyring)."""

from __future__ import annotations

import asyncio
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.dialogs.send_test import SendTestDialog
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import accounts, secrets
from wizard.services.config import ConfigStore, Security
from wizard.services.validation import InvalidInputError

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SECURITY_WORDS = {Security.STARTTLS: "STARTTLS", Security.TLS: "implicit TLS", Security.NONE: "none (unencrypted)"}


def _value(name: str, accessible: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class SummaryPage(QWizardPage):
    save_finished = Signal(bool)

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = TaskTracker(self)
        self.setTitle("Save the account")
        self.setSubTitle("Check the summary, save the account, then click Finish.")
        self.from_line = _value("summarySender", "Sender")
        self.server = _value("summaryServer", "Server")
        self.sign_in = _value("summarySignIn", "Sign-in")
        self.ca = _value("summaryCaFile", "CA file")
        self.profile_name = QLineEdit()
        self.profile_name.setObjectName("profileName")
        self.profile_name.setAccessibleName("Profile name")
        self.profile_name.setMaxLength(64)
        self.profile_name.setToolTip("The name the command line uses: mailwright check --profile NAME")
        form = QFormLayout()
        form.addRow("Profile name*:", self.profile_name)
        form.addRow("Sender:", self.from_line)
        form.addRow("Server:", self.server)
        form.addRow("Sign-in:", self.sign_in)
        form.addRow("CA file:", self.ca)

        self.save_button = QPushButton("Save account")
        self.save_button.setObjectName("saveProfile")
        self.save_button.setAccessibleName("Save the account")
        self.send_test_button = QPushButton("Send a test mail…")
        self.send_test_button.setObjectName("summarySendTestMail")
        self.send_test_button.setAccessibleName("Send a test mail")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_test_button)
        self.result = QLabel()
        self.result.setObjectName("saveResult")
        self.result.setAccessibleName("Save result")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addStretch(1)

        self.profile_name.textChanged.connect(self._on_name_changed)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.send_test_button.clicked.connect(self.open_send_test)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self.send_test_dialog: SendTestDialog | None = None

    @override
    def initializePage(self) -> None:
        s = self.state
        self.profile_name.setText(s.profile_name)
        self.from_line.setText(f"{s.display_name.strip()} <{s.from_address.strip()}>" if s.display_name.strip()
                            else s.from_address.strip())
        self.server.setText(f"{s.host.strip()} port {s.port}, security {_SECURITY_WORDS[s.security]}")
        if s.username.strip():
            self.sign_in.setText(f"{s.username.strip()} with a password, kept in this computer's keyring "
                                 "(not in the settings file)")
        else:
            self.sign_in.setText("none (the server accepts mail without signing in)")
        self.ca.setText(s.ca_file.strip() or "the system's trusted certificates")
        self._show_saved_state()

    def _show_saved_state(self) -> None:
        """A save counts only for exactly the settings shown; going back and changing one asks for a new save."""
        try:
            current = self.state.profile().validated()
        except InvalidInputError:
            current = None
        if self.state.saved is not None and self.state.saved != current:
            self.state.saved = None
        if self.state.saved is None:
            self.result.setText("")
        self.completeChanged.emit()

    def _on_name_changed(self, text: str) -> None:
        self.state.profile_name = text
        valid = bool(_PROFILE_NAME.match(text.strip()))
        self.save_button.setEnabled(valid and not self.tasks.busy)
        if not valid:
            self.result.setStyleSheet("color: #b00020")
            self.result.setText("A profile name is one word: letters, digits, - and _.")
        elif self.state.saved is None or self.state.saved.name != text.strip():
            replaces = text.strip() in self.state.saved_profiles and text.strip() != self.state.editing
            self.result.setStyleSheet("")
            self.result.setText(f"A saved account is already called “{text.strip()}”: saving replaces it."
                                if replaces else "")
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        saved = self.state.saved
        return saved is not None and not self.tasks.busy and saved.name == self.state.profile_name.strip()

    @async_slot()
    async def _on_save_clicked(self) -> None:
        await self.tasks.run(self._save())

    async def _save(self) -> None:
        profile = self.state.profile()
        password = self.state.password if self.state.username.strip() else None
        store = ConfigStore()
        self.result.setStyleSheet("")
        self.result.setText("Saving…")
        try:
            # keyring and file writes block (D-Bus, disk): keep them off the event loop.
            saved = await asyncio.to_thread(accounts.save_profile, profile, password or None, store)
        except secrets.KeyringUnavailableError as exc:
            self.state.saved = None
            self.result.setStyleSheet("color: #b00020")
            self.result.setText(f"Not saved. {exc}")
            self.save_finished.emit(False)
            return
        except (InvalidInputError, ValueError) as exc:
            self.state.saved = None
            self.result.setStyleSheet("color: #b00020")
            self.result.setText(f"Not saved: {exc}")
            self.save_finished.emit(False)
            return
        self.state.saved = saved
        self.state.editing = saved.name
        self.state.saved_profiles[saved.name] = saved
        backend = secrets.backend_name().rsplit(".", 2)[-2]  # keyring.backends.SecretService.Keyring -> SecretService
        where = f"in the system keyring ({backend}), not in the settings file" if password else "none (no sign-in)"
        self.result.setText(f"Saved as profile “{saved.name}”.\nSettings: {store.path}\nPassword: {where}.\n"
                            "Click Finish to close the wizard.")
        self.save_finished.emit(True)
        self.completeChanged.emit()

    def _on_busy_changed(self, busy: bool) -> None:
        self.save_button.setEnabled(not busy and bool(_PROFILE_NAME.match(self.state.profile_name.strip())))
        self.completeChanged.emit()

    def open_send_test(self) -> None:
        dialog = SendTestDialog(self.state.profile(), self.state.credential(), self)
        self.send_test_dialog = dialog
        dialog.open()
