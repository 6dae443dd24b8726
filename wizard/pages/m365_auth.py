"""Microsoft 365 sign-in: choose how Mailwright signs in, then grant access (browser, device code) or
prove the app-only credentials. Next is enabled once access is granted.

Self-contained: the profile comes from a callable (the wizard passes one over its state); the chosen
mode is `auth_mode()`, which the wizard copies into the profile it saves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QVBoxLayout, QWidget, QWizardPage
from typing_extensions import override

from wizard.pages.oauth_sign_in import SignInPanel
from wizard.services.config import AuthMode, Profile

MODES = (
    (AuthMode.OAUTH_INTERACTIVE, "Sign in with my browser (recommended)",
     "You consent once in your browser; Mailwright refreshes the access by itself."),
    (AuthMode.OAUTH_DEVICE, "Sign in on another device with a code",
     "For computers without a usable browser. Needs 'Allow public client flows' on the app."),
    (AuthMode.CLIENT_SECRET, "App-only with a client secret",
     "No user sign-in: the app registration sends as the mailbox (needs the PowerShell lines)."),
    (AuthMode.CLIENT_CERTIFICATE, "App-only with a certificate",
     "Like the client secret, with a certificate (PEM, or PFX with its passphrase) instead."),
)


class M365AuthPage(QWizardPage):
    def __init__(self, profile: Callable[[], Profile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile_source = profile
        self.setTitle("Sign in to Microsoft 365")
        self.setSubTitle("Microsoft 365 no longer accepts passwords from applications: grant access with OAuth.")
        self.modes = QButtonGroup(self)
        layout = QVBoxLayout(self)
        for index, (mode, title, help_text) in enumerate(MODES):
            radio = QRadioButton(title)
            radio.setObjectName(f"auth-{mode.value}")
            radio.setAccessibleName(title)
            self.modes.addButton(radio, index)
            hint = QLabel(help_text)
            hint.setWordWrap(True)
            hint.setIndent(24)
            layout.addWidget(radio)
            layout.addWidget(hint)
        self.modes.button(0).setChecked(True)
        self.panel = SignInPanel(self.profile_for_sign_in)
        layout.addWidget(self.panel)
        layout.addStretch(1)
        self.modes.idToggled.connect(self._mode_changed)
        self.panel.signed_in_changed.connect(self._signed_in_changed)
        self._mode_changed()

    def auth_mode(self) -> AuthMode:
        return MODES[max(self.modes.checkedId(), 0)][0]

    def set_auth_mode(self, mode: AuthMode) -> None:
        for index, (candidate, _title, _help) in enumerate(MODES):
            if candidate is mode:
                self.modes.button(index).setChecked(True)

    def is_app_only(self) -> bool:
        return self.auth_mode() in {AuthMode.CLIENT_SECRET, AuthMode.CLIENT_CERTIFICATE}

    def profile_for_sign_in(self) -> Profile:
        return replace(self.profile_source(), auth=self.auth_mode())

    def _mode_changed(self, *_args: object) -> None:
        mode = self.auth_mode()
        self.panel.sign_in_button.setVisible(mode is not AuthMode.OAUTH_DEVICE)
        self.panel.sign_in_button.setText("Test the app credentials" if self.is_app_only()
                                          else "Sign in with the browser")
        self.panel.device_button.setVisible(mode is AuthMode.OAUTH_DEVICE)

    @override
    def initializePage(self) -> None:
        self.set_auth_mode(self.profile_source().auth if self.profile_source().auth is not AuthMode.PASSWORD
                           else AuthMode.OAUTH_INTERACTIVE)

    def _signed_in_changed(self, _signed: bool) -> None:
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        return self.panel.signed_in

    @override
    def cleanupPage(self) -> None:
        self.panel.tasks.cancel()
