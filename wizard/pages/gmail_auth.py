"""Gmail / Google Workspace sign-in: an app password (default) or OAuth with the admin's own client JSON.

App password: guidance (2-Step Verification, where to create it, why it may be missing) and a format
check. OAuth: import the Desktop-app client JSON, then consent in the browser (PKCE, loopback). The
7-day 'Testing' status warning comes back from the service with the sign-in result.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.oauth_sign_in import SignInPanel
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.model import AuthMode, Profile
from wizard.services.profile_rules import is_app_password, normalise_app_password
from wizard.widgets.colours import problem_style

APP_PASSWORD_HELP = (
    "Google accepts your normal password from applications no more. Create an app password: "
    "turn on 2-Step Verification, then open <a href='https://myaccount.google.com/apppasswords'>"
    "myaccount.google.com/apppasswords</a>, name it 'Mailwright' and paste the 16 letters here. "
    "The page is missing when 2-Step Verification uses security keys only, with Advanced Protection, or when "
    "your Workspace admin disabled app passwords: use OAuth instead."
)


class GmailAuthPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._active = False  # write to the state only once the page is shown: the wizard builds every page
        self.tasks = TaskTracker(self)
        self.setTitle("Sign in to Gmail / Google Workspace")
        self.setSubTitle("Google accepts an app password or its own sign-in (OAuth), never your normal password.")
        self.mode_group = QButtonGroup(self)
        self.app_password_radio = QRadioButton("App password (simplest)")
        self.app_password_radio.setObjectName("gmailAppPasswordMode")
        self.app_password_radio.setAccessibleName("Sign in with an app password")
        self.oauth_radio = QRadioButton("OAuth with my own Google Cloud OAuth client")
        self.oauth_radio.setObjectName("gmailOAuthMode")
        self.oauth_radio.setAccessibleName("Sign in with Google OAuth")
        self.mode_group.addButton(self.app_password_radio, 0)
        self.mode_group.addButton(self.oauth_radio, 1)
        self.app_password_radio.setChecked(True)

        help_label = QLabel(APP_PASSWORD_HELP)
        help_label.setWordWrap(True)
        help_label.setOpenExternalLinks(True)
        self.app_password = QLineEdit()
        self.app_password.setObjectName("gmailAppPassword")
        self.app_password.setAccessibleName("App password")
        self.app_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.app_password.setPlaceholderText("abcd efgh ijkl mnop")
        self.app_password_hint = QLabel()
        self.app_password_hint.setObjectName("gmailAppPasswordHint")
        self.app_password_hint.setStyleSheet(problem_style())
        self.app_password_box = QWidget()
        box = QVBoxLayout(self.app_password_box)
        box.addWidget(help_label)
        box.addWidget(self.app_password)
        box.addWidget(self.app_password_hint)

        self.import_button = QPushButton("Import client JSON…")
        self.import_button.setObjectName("importClientJson")
        self.import_button.setAccessibleName("Import the OAuth client JSON file")
        self.client_label = QLabel("Google Cloud Console > APIs & Services > Credentials > Create OAuth client ID > "
                                   "Desktop app > Download JSON. Scope needed: https://mail.google.com/.")
        self.client_label.setObjectName("clientJsonStatus")
        self.client_label.setWordWrap(True)
        self.panel = SignInPanel(self.profile_for_sign_in, self.state.secret_source)
        self.panel.device_button.hide()
        self.oauth_box = QWidget()
        oauth_layout = QVBoxLayout(self.oauth_box)
        oauth_layout.addWidget(self.client_label)
        oauth_layout.addWidget(self.import_button)
        oauth_layout.addWidget(self.panel)

        layout = QVBoxLayout(self)
        layout.addWidget(self.app_password_radio)
        layout.addWidget(self.oauth_radio)
        layout.addWidget(self.app_password_box)
        layout.addWidget(self.oauth_box)
        layout.addStretch(1)

        self.mode_group.idToggled.connect(self._mode_changed)
        self.app_password.textChanged.connect(self._password_changed)
        self.import_button.clicked.connect(self._choose_file)
        self.panel.signed_in_changed.connect(self._signed_in_changed)
        self._mode_changed()

    def uses_oauth(self) -> bool:
        return self.oauth_radio.isChecked()

    def auth_mode(self) -> AuthMode:
        return AuthMode.OAUTH_INTERACTIVE if self.uses_oauth() else AuthMode.PASSWORD

    def password(self) -> str:
        return normalise_app_password(self.app_password.text())

    def profile_for_sign_in(self) -> Profile:
        return replace(self.state.profile(), auth=AuthMode.OAUTH_INTERACTIVE)

    @override
    def initializePage(self) -> None:
        s = self.state
        self._active = False
        (self.oauth_radio if s.draft.auth is AuthMode.OAUTH_INTERACTIVE else self.app_password_radio).setChecked(True)
        self.app_password.setText(s.secrets.password)
        if s.editing and not s.secrets.password:
            self.app_password.setPlaceholderText("saved in the keyring; type to replace it")
        self._active = True
        self._mode_changed()

    def _mode_changed(self, *_args: object) -> None:
        self.app_password_box.setVisible(not self.uses_oauth())
        self.oauth_box.setVisible(self.uses_oauth())
        self._store()
        self.completeChanged.emit()

    def _store(self) -> None:
        """Gmail signs in as the address itself, with the app password or the OAuth token."""
        if not self._active:
            return
        s = self.state
        s.draft = replace(s.draft, auth=self.auth_mode())
        s.draft = replace(s.draft, username=s.draft.from_address.strip() if s.draft.auth is AuthMode.PASSWORD else "")
        s.secrets.password = self.password() if s.draft.auth is AuthMode.PASSWORD else ""

    def _password_changed(self) -> None:
        text = self.app_password.text()
        self.app_password_hint.setText("" if not text or is_app_password(text)
                                       else "An app password is 16 letters (spaces are ignored).")
        self._store()
        self.completeChanged.emit()

    def _choose_file(self) -> None:
        dialog = QFileDialog(self, "Google OAuth client JSON", "", "JSON (*.json)")
        dialog.setObjectName("clientJsonDialog")
        dialog.fileSelected.connect(self._on_file)
        dialog.open()  # never exec(): it would nest an event loop under qasync

    @async_slot(str)
    async def _on_file(self, path: str) -> None:
        await self.tasks.run(self.import_client(Path(path)))

    async def import_client(self, path: Path) -> None:
        from wizard.services.oauth import google  # msal and Google's client: only when OAuth is used

        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            profile = self.profile_for_sign_in()
            # kept with the draft's secrets, in memory: written only by Save
            client = await asyncio.to_thread(google.import_client_json, profile, text, self.state.secrets)
        except (OSError, ValueError) as exc:
            self.client_label.setText(f"Could not import {path.name}: {exc}")
            return
        self.client_label.setText(f"Imported OAuth client {client.client_id}. Now sign in.")

    def _signed_in_changed(self, _signed: bool) -> None:
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        if self.uses_oauth():
            return self.panel.signed_in
        return is_app_password(self.app_password.text()) or self.state.needs_saved_password()

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()
        self.panel.tasks.cancel()
