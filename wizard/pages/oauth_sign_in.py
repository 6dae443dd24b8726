"""The sign-in panel the Microsoft 365 and Gmail pages share: start, wait (Cancel), device code, remove access.

Widgets only: every action awaits one function of `wizard.services.oauth` through qasync, so the UI
thread never blocks on msal or the network. The profile to sign in for, and the secret source that answers
its secrets and keeps the tokens obtained, come from callables the page gets at construction (the wizard passes
functions over its state: the draft profile and its unsaved DraftSecrets, so a sign-in writes nothing before Save).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.qt_async import TaskTracker, async_slot
from wizard.services.model import Profile
from wizard.services.secret_source import SecretSource

if TYPE_CHECKING:  # msal costs ~300 ms to import: loaded when a sign-in starts, not when the wizard opens
    from wizard.services import oauth


class CopyButton(QPushButton):
    """Copies `text()` to the clipboard; a bound-method slot, so no Python reference cycle keeps it alive."""

    def __init__(self, name: str, text: Callable[[], str], accessible: str, parent: QWidget | None = None) -> None:
        super().__init__("Copy", parent)
        self.text_source = text
        self.setObjectName(f"{name}Copy")
        self.setAccessibleName(accessible)
        self.clicked.connect(self.copy)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text_source())
        self.setText("Copied")


def copy_button(name: str, text: Callable[[], str], accessible: str) -> CopyButton:
    return CopyButton(name, text, accessible)


class SignInPanel(QWidget):
    """Emits `signed_in_changed(bool)` whenever access is granted or removed."""

    signed_in_changed = Signal(bool)

    def __init__(self, profile: Callable[[], Profile], secrets: Callable[[], SecretSource],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile_source = profile
        self.secrets = secrets
        self.tasks = TaskTracker(self)
        self.signed_in = False

        self.sign_in_button = QPushButton("Sign in with the browser")
        self.sign_in_button.setObjectName("signIn")
        self.sign_in_button.setAccessibleName("Sign in with the browser")
        self.device_button = QPushButton("Sign in on another device (code)")
        self.device_button.setObjectName("signInDevice")
        self.device_button.setAccessibleName("Sign in with a device code")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelSignIn")
        self.cancel_button.setAccessibleName("Cancel sign-in")
        self.cancel_button.hide()
        self.remove_button = QPushButton("Remove access")
        self.remove_button.setObjectName("removeAccess")
        self.remove_button.setAccessibleName("Remove access")
        self.remove_button.setEnabled(False)

        self.status = QLabel("Not signed in yet.")
        self.status.setObjectName("signInStatus")
        self.status.setAccessibleName("Sign-in status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.device_code = QLabel()
        self.device_code.setObjectName("deviceCode")
        self.device_code.setAccessibleName("Device code")
        big = QFont()
        big.setPointSize(28)
        big.setBold(True)
        self.device_code.setFont(big)
        self.device_code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.device_url = QLabel()
        self.device_url.setObjectName("deviceUrl")
        self.device_url.setOpenExternalLinks(True)
        self.copy_code = copy_button("deviceCode", self.device_code.text, "Copy the device code")
        self.copy_url = copy_button("deviceUrl", self.device_url_text, "Copy the sign-in address")
        self._url = ""
        self.device_box = QWidget()
        device_layout = QHBoxLayout(self.device_box)
        device_layout.addWidget(self.device_code)
        device_layout.addWidget(self.copy_code)
        device_layout.addWidget(self.device_url, 1)
        device_layout.addWidget(self.copy_url)
        self.device_box.hide()

        buttons = QHBoxLayout()
        for button in (self.sign_in_button, self.device_button, self.cancel_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.device_box)
        layout.addWidget(self.status)

        self.sign_in_button.clicked.connect(self._on_sign_in)
        self.device_button.clicked.connect(self._on_device)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.remove_button.clicked.connect(self._on_remove)
        self.tasks.busy_changed.connect(self._busy)

    def device_url_text(self) -> str:
        return self._url

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setVisible(busy)
        for button in (self.sign_in_button, self.device_button, self.remove_button):
            button.setEnabled(not busy and (button is not self.remove_button or self.signed_in))
        if not busy:
            self.device_box.hide()

    def forget(self) -> None:
        """The account or mode changed: the earlier sign-in does not prove the new settings."""
        if self.signed_in:
            self.status.setText("Not signed in yet.")
            self._set_signed_in(False)

    def _set_signed_in(self, value: bool) -> None:
        self.signed_in = value
        self.remove_button.setEnabled(value)
        self.signed_in_changed.emit(value)

    @async_slot()
    async def _on_sign_in(self) -> None:
        await self.tasks.run(self.sign_in(device=False))

    @async_slot()
    async def _on_device(self) -> None:
        await self.tasks.run(self.sign_in(device=True))

    @async_slot()
    async def _on_remove(self) -> None:
        await self.tasks.run(self.remove_access())

    def _show_code(self, code: oauth.DeviceCode) -> None:
        self._url = code.verification_uri
        self.device_code.setText(code.user_code)
        self.device_url.setText(f'Open <a href="{code.verification_uri}">{code.verification_uri}</a> and enter the '
                                "code.")
        self.device_box.show()
        self.status.setText("Waiting for you to sign in on the other device…")

    async def sign_in(self, *, device: bool) -> None:
        from wizard.services import oauth, secrets

        self.status.setText("Waiting for you to sign in in your browser…" if not device else "Requesting a code…")
        try:
            signed = await oauth.login(self.profile_source(), device=device, on_device_code=self._show_code,
                                       secrets=self.secrets())
        except asyncio.CancelledError:
            self.status.setText("Sign-in cancelled.")
            return
        except oauth.SignInCancelledError as exc:
            self.status.setText(str(exc))
            return
        except oauth.OAuthError as exc:
            self.status.setText(f"<b>{exc.diagnosis.title}</b><br>{exc.diagnosis.explanation}<br>"
                                f"<i>{exc.diagnosis.fix}</i>")
            self._set_signed_in(False)
            return
        except (OSError, secrets.KeyringUnavailableError) as exc:  # no browser could be started; no keyring
            self.status.setText(str(exc))
            return
        notes = "".join(f"<br><i>{warning}</i>" for warning in signed.warnings)
        self.status.setText(f"<b>{signed.message}</b>{notes}")
        self._set_signed_in(True)

    async def remove_access(self) -> None:
        from wizard.services import oauth

        result = await oauth.logout(self.profile_source(), self.secrets())
        self.status.setText(("Access removed from this computer. " if result.removed else "Nothing was stored. ")
                            + result.revoke_instructions)
        self._set_signed_in(False)

    async def refresh_status(self) -> None:
        from wizard.services import oauth

        state = await oauth.status(self.profile_source(), self.secrets())
        if state.signed_in:
            self.status.setText(f"<b>Access granted for {state.account}</b>")
        self._set_signed_in(state.signed_in)
