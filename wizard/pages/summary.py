"""Summary: what will be saved, and how applications hand their mail to Mailwright; Finish saves it.

Settings go to config.toml; the password, client secret or certificate passphrase to the keyring (never to
the file); the `[delivery]` settings to config.toml's `[delivery]` table, the loopback relay choice to `[relay]`
(read by `background_delivery.relay_address_from_config` when the main window starts the background sender).
"""

from __future__ import annotations

import asyncio
from dataclasses import fields, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.oauth_sign_in import copy_button
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services import accounts, secrets
from wizard.services.background_delivery import relay_settings_from_config
from wizard.services.config import ConfigStore
from wizard.services.model import PROFILE_NAME_RULE, AuthMode, Profile, ProviderKind, Security, is_profile_name
from wizard.services.settings import DEFAULT_RELAY_LISTEN, DeliverySettings, format_host_port, parse_host_port
from wizard.services.validation import InvalidInputError
from wizard.widgets.colours import problem_style
from wizard.widgets.form_widgets import selectable_text

_SECURITY_WORDS = {Security.STARTTLS: "STARTTLS", Security.TLS: "implicit TLS", Security.NONE: "none (unencrypted)"}
_PROVIDER_WORDS = {ProviderKind.SMTP: "SMTP server", ProviderKind.GMAIL: "Gmail / Google Workspace",
                   ProviderKind.M365_SMTP: "Microsoft 365 SMTP (OAuth)", ProviderKind.GRAPH: "Microsoft Graph"}
_AUTH_WORDS = {AuthMode.OAUTH_INTERACTIVE: "browser sign-in (OAuth)", AuthMode.OAUTH_DEVICE: "device code sign-in",
               AuthMode.CLIENT_SECRET: "app-only with a client secret",
               AuthMode.CLIENT_CERTIFICATE: "app-only with a certificate"}


def describe_sign_in(state: WizardState) -> str:
    username = state.draft.username.strip()
    if state.draft.auth is AuthMode.PASSWORD:
        if not username:
            return "none (the server accepts mail without signing in)"
        return f"{username} with a password, kept in this computer's keyring (not in the settings file)"
    words = _AUTH_WORDS[state.draft.auth]
    if state.draft.auth is AuthMode.CLIENT_SECRET:
        words += ", the secret kept in the keyring"
    elif state.draft.auth is AuthMode.CLIENT_CERTIFICATE:
        words += f" ({state.draft.certificate_path.strip()})"
    else:
        words += ", the tokens kept encrypted with a key from the keyring"
    if state.draft.client_id.strip():
        words += f"; app {state.draft.client_id.strip()} in tenant {state.draft.tenant.strip() or 'organizations'}"
    return words


def submission_help(profile_name: str, listen: str = DEFAULT_RELAY_LISTEN, relay_enabled: bool = True) -> str:
    """How applications hand mail to Mailwright: the loopback relay (its address only when it is switched on),
    the command line, the Python API."""
    host, port = relay_host_port(listen)
    if relay_enabled:
        smtp = (f"# Any application that speaks SMTP: server {host}, port {port}, no TLS, no sign-in\n"
                "#   (the loopback relay: applications on this computer only)\n")
        serve = f"mailwright serve --relay {listen}"
    else:
        smtp = ("# Applications that speak SMTP need the loopback relay, which is off:\n"
                "#   tick \"Run the loopback relay\" above to give them an address\n")
        serve = "mailwright serve"
    return (smtp +
            "# Scripts and scheduled jobs:\n"
            f"mailwright send --profile {profile_name} --to ops@example.com \\\n"
            "    --subject \"Nightly report\" --body \"All jobs finished.\"\n"
            "# Python (message: an email.message.EmailMessage):\n"
            "import wizard\n"
            f"wizard.submit(message, profile=\"{profile_name}\")\n"
            "# Mailwright's background sender delivers the queue, with retries, while\n"
            f"# the app runs; on a server: {serve}")


def save_delivery(store: ConfigStore, wanted: DeliverySettings) -> None:
    """Write the `[delivery]` keys that differ from config.toml, in an order every step of which is valid
    (the store checks retry_backoff_max_s >= retry_backoff_initial_s after each key)."""
    current = store.load().delivery
    names = [f.name for f in fields(DeliverySettings) if getattr(wanted, f.name) != getattr(current, f.name)]
    if wanted.retry_backoff_initial_s > current.retry_backoff_max_s:
        names.sort(key=lambda name: name != "retry_backoff_max_s")
    for name in names:
        value = getattr(wanted, name)
        store.set(f"delivery.{name}", str(value).lower() if isinstance(value, bool) else str(value))


def relay_host_port(listen: str) -> tuple[str, int]:
    """`127.0.0.1:2525` -> ("127.0.0.1", 2525); the default address for anything unreadable."""
    try:
        return parse_host_port(listen)
    except ValueError:
        return parse_host_port(DEFAULT_RELAY_LISTEN)


def save_relay(store: ConfigStore, enabled: bool, port: int | None = None, require_auth: bool | None = None) -> None:
    """`[relay] enabled` and, when on, `listen` with the chosen port (the host an admin set stays), and the loopback
    sign-in switch; a key that already says so is not rewritten, so a comment on it stays."""
    table = store.table_values("relay")
    if (table.get("enabled") is True) != enabled:
        store.set_table_value("relay", "enabled", enabled)
    if require_auth is not None and (table.get("require_auth") is True) != require_auth:
        store.set_table_value("relay", "require_auth", require_auth)
    listen = str(table.get("listen", ""))
    host, current_port = relay_host_port(listen or DEFAULT_RELAY_LISTEN)
    wanted = format_host_port(host, port or current_port)
    if enabled and wanted != listen:
        store.set_table_value("relay", "listen", wanted)


def save_account(state: WizardState, profile: Profile, store: ConfigStore, *,
                 relay_enabled: bool | None = None, relay_port: int | None = None,
                 relay_require_auth: bool | None = None) -> Profile:
    """Blocking (keyring over D-Bus, file writes): run in a worker thread. The only place the wizard writes a
    secret: the draft's (typed secrets, a sign-in's tokens, an imported client). `relay_enabled` None: `[relay]`
    as is."""
    saved = accounts.save_draft(profile, state.secrets, store)
    save_delivery(store, state.delivery)
    if relay_enabled is not None:
        save_relay(store, relay_enabled, relay_port, relay_require_auth)
    return saved


class SummaryPage(QWizardPage):
    save_finished = Signal(bool)

    def __init__(self, state: WizardState, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.store = store  # the wizard's (the running app's services' when it has them)
        self.tasks = TaskTracker(self)
        self.setTitle("Save the account")
        self.setSubTitle("Check the summary, then click Finish to save the account.")
        self.from_line = selectable_text("summarySender", "Sender")
        self.provider = selectable_text("summaryProvider", "Provider")
        self.server = selectable_text("summaryServer", "Server")
        self.sign_in = selectable_text("summarySignIn", "Sign-in")
        self.ca = selectable_text("summaryCaFile", "CA file")
        self.profile_name = QLineEdit()
        self.profile_name.setObjectName("profileName")
        self.profile_name.setAccessibleName("Profile name")
        self.profile_name.setMaxLength(64)
        self.profile_name.setToolTip("The name the command line uses: mailwright check --profile NAME")
        form = QFormLayout()
        form.addRow("Profile name*:", self.profile_name)
        form.addRow("Sender:", self.from_line)
        form.addRow("Provider:", self.provider)
        form.addRow("Server:", self.server)
        form.addRow("Sign-in:", self.sign_in)
        form.addRow("CA file:", self.ca)

        self.relay = QCheckBox("Run the loopback relay for applications on this computer:")
        self.relay.setObjectName("relayEnabled")
        self.relay.setAccessibleName("Run the loopback relay for applications on this computer")
        self.relay.setToolTip("Applications on this computer hand mail to Mailwright over SMTP without signing in; "
                              "other computers cannot connect. It runs while Mailwright's main window is open "
                              "(a change applies when you click Finish).")
        self._relay_bind = relay_host_port(DEFAULT_RELAY_LISTEN)[0]
        self.relay_host = QLabel(f"{self._relay_bind}, port")
        self.relay_port = QSpinBox()
        self.relay_port.setObjectName("relayPort")
        self.relay_port.setAccessibleName("Relay port")
        self.relay_port.setRange(1024, 65535)  # below 1024 needs administrator rights
        self.relay_port.setToolTip("Choose another port if 2525 is taken by another program.")
        self._relay_loaded = False
        self.relay_sign_in = QCheckBox("Require a relay user's sign-in")
        self.relay_sign_in.setObjectName("relayRequireAuth")
        self.relay_sign_in.setAccessibleName("Require a relay user's sign-in on this computer")
        self.relay_sign_in.setToolTip("For shared machines (terminal servers, several services on one host): each "
                                      "application signs in as its own relay user. Add users with Relay users….")
        self.relay_users_button = QPushButton("Relay users…")
        self.relay_users_button.setObjectName("relayUsersButton")
        self.relay_users_button.setAccessibleName("Relay users: who may submit mail, priority, what they sent")
        self.relay_users_button.clicked.connect(self._open_relay_users)
        self.relay_users_dialog: QDialog | None = None

        self.result = selectable_text("saveResult", "Save result")

        self.how_to_send = QPlainTextEdit()
        self.how_to_send.setObjectName("submissionHelp")
        self.how_to_send.setAccessibleName("How applications send mail through Mailwright")
        self.how_to_send.setReadOnly(True)
        self.how_to_send.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.how_to_send.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = submission_help("NAME").count("\n") + 2
        self.how_to_send.setMaximumHeight(self.how_to_send.fontMetrics().lineSpacing() * lines + 12)
        send_box = QGroupBox("How your applications send mail through this account")
        send_layout = QVBoxLayout(send_box)
        send_layout.addWidget(self.how_to_send)
        send_layout.addWidget(copy_button("submissionHelp", self.how_to_send.toPlainText, "Copy the examples"), 0,
                              Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        relay_row = QHBoxLayout()
        relay_row.addWidget(self.relay)
        relay_row.addWidget(self.relay_host)
        relay_row.addWidget(self.relay_port)
        relay_row.addWidget(self.relay_sign_in)
        relay_row.addStretch(1)
        relay_row.addWidget(self.relay_users_button)
        layout.addLayout(relay_row)
        layout.addWidget(self.result)
        layout.addWidget(send_box)
        layout.addStretch(1)

        self.profile_name.textChanged.connect(self._on_name_changed)
        self.relay.toggled.connect(self._on_relay_toggled)
        self.relay_port.valueChanged.connect(self._on_relay_toggled)
        self.relay_sign_in.toggled.connect(self._on_relay_toggled)
        self.tasks.busy_changed.connect(self._on_busy_changed)

    @override
    def initializePage(self) -> None:
        s = self.state
        self.profile_name.setText(s.draft.name)
        # OAuth tokens and the imported Google client are stored under the name they were obtained with.
        self.profile_name.setReadOnly(s.draft.auth is not AuthMode.PASSWORD)
        p = s.profile()
        self.from_line.setText(f"{p.display_name} <{p.from_address}>" if p.display_name else p.from_address)
        preset = f" ({p.preset})" if p.preset else ""
        self.provider.setText(_PROVIDER_WORDS[p.provider] + preset)
        if p.provider is ProviderKind.GRAPH:
            self.server.setText(f"Microsoft Graph ({p.graph_endpoint or 'graph.microsoft.com'}), sends as "
                                f"{p.from_address}")
        else:
            self.server.setText(f"{p.host} port {p.port}, security {_SECURITY_WORDS[p.security]}")
        self.sign_in.setText(describe_sign_in(s))
        self.ca.setText(p.ca_file or "the system's trusted certificates")
        if not self._relay_loaded:  # once: going Back and Next keeps what the admin ticked
            relay = relay_settings_from_config(self.store.path)
            self._relay_bind, port = relay_host_port(relay.listen)
            self.relay_host.setText(f"{self._relay_bind}, port")
            for widget in (self.relay, self.relay_port):
                widget.blockSignals(True)
            self.relay.setChecked(relay.enabled)
            self.relay_port.setValue(port)
            self.relay_sign_in.setChecked(relay.require_auth)
            self._relay_users_exist(bool(relay.users))
            for widget in (self.relay, self.relay_port):
                widget.blockSignals(False)
            self._relay_loaded = True
        self._show_saved_state()

    def _show_saved_state(self) -> None:
        """A save counts only for exactly the settings shown; going back and changing one saves again."""
        try:
            current = self.state.profile().validated()
        except InvalidInputError:
            current = None
        if self.state.saved is not None and self.state.saved != current:
            self.state.saved = None
        if self.state.saved is None:
            self.result.setText("")
        self._show_submission_help(self.state.draft.name.strip() or "NAME")
        self.completeChanged.emit()

    def _relay_users_exist(self, exist: bool) -> None:
        """The sign-in switch needs a user to sign in as: without one it would lock every application out."""
        self.relay_sign_in.setEnabled(exist or self.relay_sign_in.isChecked())
        if not exist:
            self.relay_sign_in.setToolTip("Add a relay user first (Relay users…): with sign-in required and no "
                                          "user, no application could submit.")

    def _open_relay_users(self) -> None:
        from wizard.dialogs.relay_users import RelayUsersDialog

        if self.relay_users_dialog is None:
            dialog = RelayUsersDialog(self.store, parent=self)
            dialog.changed.connect(self._on_relay_users_changed)
            self.relay_users_dialog = dialog
        self.relay_users_dialog.show()
        self.relay_users_dialog.raise_()

    def _on_relay_users_changed(self) -> None:
        relay = relay_settings_from_config(self.store.path)
        self._relay_users_exist(bool(relay.users))
        self.relay_sign_in.blockSignals(True)
        self.relay_sign_in.setChecked(relay.require_auth)
        self.relay_sign_in.blockSignals(False)

    def relay_listen_address(self) -> str:
        return format_host_port(self._relay_bind, self.relay_port.value())

    def _show_submission_help(self, profile_name: str) -> None:
        self.how_to_send.setPlainText(submission_help(profile_name, self.relay_listen_address(),
                                                      self.relay.isChecked()))
        self.relay_port.setEnabled(self.relay.isChecked())

    def _on_relay_toggled(self) -> None:
        """The relay choice is saved with the account: after a save, a change is saved again by Finish."""
        self._show_submission_help(self.state.draft.name.strip() or "NAME")
        if self.state.saved is not None:
            self.state.saved = None
            self.result.setStyleSheet("")
            self.result.setText("")
            self.completeChanged.emit()

    def _on_name_changed(self, text: str) -> None:
        self.state.draft = replace(self.state.draft, name=text)
        valid = is_profile_name(text.strip())
        self._show_submission_help(text.strip() if valid else "NAME")
        if not valid:
            self.result.setStyleSheet(problem_style())
            self.result.setText(PROFILE_NAME_RULE)
        elif self.state.saved is None or self.state.saved.name != text.strip():
            replaces = text.strip() in self.state.saved_profiles and text.strip() != self.state.editing
            self.result.setStyleSheet("")
            self.result.setText(f"A saved account is already called “{text.strip()}”: saving replaces it."
                                if replaces else "")
        self.completeChanged.emit()

    def is_saved(self) -> bool:
        saved = self.state.saved
        return saved is not None and saved.name == self.state.draft.name.strip()

    @override
    def isComplete(self) -> bool:
        """Finish saves: it is enabled for any profile name that can be saved, not after a separate save."""
        return is_profile_name(self.state.draft.name.strip()) and not self.tasks.busy

    @override
    def validatePage(self) -> bool:
        """Finish: close once exactly these settings are saved; else save them (off the event loop) and finish
        when that worked. A failed save stays on the page and says why."""
        if self.is_saved():
            return True
        self._save_and_finish()
        return False

    @async_slot()
    async def _save_and_finish(self) -> None:
        await self.tasks.run(self._save())
        wizard = self.wizard()
        if self.is_saved() and wizard is not None and wizard.currentPage() is self:
            wizard.accept()

    async def _save(self) -> None:
        profile = self.state.profile()
        store = self.store
        self.result.setStyleSheet("")
        self.result.setText("Saving…")
        try:
            saved = await asyncio.to_thread(save_account, self.state, profile, store,
                                            relay_enabled=self.relay.isChecked(),
                                            relay_port=self.relay_port.value(),
                                            relay_require_auth=self.relay_sign_in.isChecked())
        except secrets.KeyringUnavailableError as exc:
            self._failed(f"Not saved. {exc}")
            return
        except (InvalidInputError, ValueError) as exc:
            self._failed(f"Not saved: {exc}")
            return
        self.state.saved = saved
        self.state.editing = saved.name
        self.state.saved_profiles[saved.name] = saved
        # keyring.backends.SecretService.Keyring -> SecretService (asking keyring may probe D-Bus: off the loop)
        backend = (await asyncio.to_thread(secrets.backend_name)).rsplit(".", 2)[-2]
        self.result.setText(f"Saved as profile “{saved.name}”.\nSettings: {store.path}\n"
                            f"Secrets: {self._secret_words(backend)}.")
        self.save_finished.emit(True)
        self.completeChanged.emit()

    def _secret_words(self, backend: str) -> str:
        s = self.state
        has_secret = (s.draft.auth is not AuthMode.PASSWORD) or bool(s.draft.username.strip())
        if not has_secret:
            return "none (no sign-in)"
        return f"in the system keyring ({backend}), not in the settings file"

    def _failed(self, text: str) -> None:
        self.state.saved = None
        self.result.setStyleSheet(problem_style())
        self.result.setText(text)
        self.save_finished.emit(False)

    def _on_busy_changed(self, _busy: bool) -> None:
        self.completeChanged.emit()
