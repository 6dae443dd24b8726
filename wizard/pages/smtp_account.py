"""The SMTP account: server, security, sign-in, an optional CA file and the connect timeout; validated as you
type, with a warning for a port and security that do not usually go together (465 with STARTTLS …).

The sender address and display name are entered on the sender page; this page only shows them.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.smtp_rules import needs_plaintext_confirmation, smtp_problems
from wizard.pages.state import WizardState
from wizard.services import providers
from wizard.services.model import DEFAULT_PORTS, Security
from wizard.services.port_security import port_security_warning
from wizard.widgets.colours import notice_style
from wizard.widgets.form_widgets import line_edit, problem_label

SECURITY_CHOICES = (
    (Security.STARTTLS, "STARTTLS: encryption switched on after connecting (usually port 587)"),
    (Security.TLS, "SSL/TLS: encrypted from the start (usually port 465)"),
    (Security.NONE, "None: no encryption (port 25)"),
)
TIMEOUT_RANGE_S = (5, 300)


class SmtpAccountPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Your SMTP account")
        self.setSubTitle("Enter the settings from your provider's documentation. Fields marked * are required.")

        self.sender_label = QLabel()
        self.sender_label.setObjectName("smtpSender")
        self.sender_label.setAccessibleName("Sender (entered on the sender page)")
        self.sender_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sender_label.setWordWrap(True)
        self.host = line_edit("host", "Server", "smtp.example.com")
        self.security = QComboBox()
        self.security.setObjectName("security")
        self.security.setAccessibleName("Security")
        for value, label in SECURITY_CHOICES:
            self.security.addItem(label, value.value)
        self.port = line_edit("port", "Port")
        self.port.setClearButtonEnabled(False)
        self.port.setMaxLength(5)
        self.port.setMaximumWidth(70)
        self.username = line_edit("username", "User name", "usually the full e-mail address")
        self.password = line_edit("password", "Password", "password or app password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = line_edit("caFile", "Custom CA file", "only for a server with a private certificate")
        self.browse_ca = QPushButton("Browse…")
        self.browse_ca.setObjectName("browseCaFile")
        self.browse_ca.setAccessibleName("Choose a CA file")
        self.confirm_plaintext = QCheckBox("Send the password unencrypted to this server on my own computer")
        self.confirm_plaintext.setObjectName("confirmPlaintext")
        self.confirm_plaintext.setAccessibleName("Confirm sending the password unencrypted to this computer")
        self.preset_help = QLabel()
        self.preset_help.setObjectName("smtpPresetHelp")
        self.preset_help.setAccessibleName("Advice for this provider")
        self.preset_help.setWordWrap(True)
        self.preset_help.setOpenExternalLinks(True)
        self.messages = problem_label("validationMessages", "Problems with the settings")
        self.port_warning = QLabel()
        self.port_warning.setObjectName("portSecurityWarning")
        self.port_warning.setAccessibleName("Port and security warning")
        self.port_warning.setWordWrap(True)
        self.port_warning.setStyleSheet(notice_style())
        self.port_warning.hide()
        self.timeout = QSpinBox()
        self.timeout.setObjectName("timeout")
        self.timeout.setAccessibleName("Connect timeout in seconds")
        self.timeout.setRange(*TIMEOUT_RANGE_S)
        self.timeout.setSuffix(" s")
        self.timeout.setToolTip("How long Mailwright waits for the server to answer before it gives up. Raise it "
                                "for a slow server or network.")

        server_row = QHBoxLayout()
        server_row.addWidget(self.host, 1)
        server_row.addWidget(QLabel("Port*:"))
        server_row.addWidget(self.port)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse_ca)
        form = QFormLayout()
        form.addRow("Sends as:", self.sender_label)
        form.addRow("Server*:", server_row)
        form.addRow("Security:", self.security)
        form.addRow("User name:", self.username)
        form.addRow("Password:", self.password)
        form.addRow("Custom CA file:", ca_row)
        form.addRow("Connect timeout:", self.timeout)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preset_help)
        layout.addLayout(form)
        layout.addWidget(self.port_warning)
        layout.addWidget(self.messages)
        layout.addWidget(self.confirm_plaintext)
        layout.addStretch(1)

        self.registerField("host*", self.host)
        self.registerField("port*", self.port)
        self.registerField("username", self.username)

        self._loading = False
        self._port_typed = False
        self._username_typed = False
        self._ca_dialog: QFileDialog | None = None
        self.port.textEdited.connect(self._on_port_edited)
        self.username.textEdited.connect(self._on_username_edited)
        self.security.currentIndexChanged.connect(self._on_security_changed)
        self.browse_ca.clicked.connect(self._choose_ca_file)
        for edit in (self.host, self.port, self.username, self.password, self.ca_file):
            edit.textChanged.connect(self._on_changed)
        self.confirm_plaintext.toggled.connect(self._on_changed)
        self.timeout.valueChanged.connect(self._on_changed)

    @override
    def initializePage(self) -> None:
        s = self.state
        self._loading = True
        address = s.draft.from_address.strip()
        name = s.draft.display_name.strip()
        self.sender_label.setText(f"{name} <{address}>" if name and address
                                  else address or "no sender address yet: go back to the sender page")
        self.host.setText(s.draft.host)
        self.security.setCurrentIndex(self.security.findData(s.draft.security.value))
        self.port.setText(str(s.draft.port))
        self.username.setText(s.draft.username)
        self.password.setText(s.secrets.password)
        keeps_saved = bool(s.editing and s.draft.username.strip())
        self.password.setPlaceholderText("saved in the keyring; type to replace it" if keeps_saved
                                         else "password or app password")
        self.ca_file.setText(s.draft.ca_file)
        self.timeout.setValue(round(s.draft.timeout_s))
        self.confirm_plaintext.setChecked(s.draft.allow_plaintext_loopback)
        self._port_typed = s.draft.port != DEFAULT_PORTS[s.draft.security]
        self._username_typed = bool(s.draft.username.strip()) and s.draft.username != s.draft.from_address
        if not self._username_typed:  # the sender page asked for the address: it is usually the user name too
            self.username.setText(s.draft.from_address.strip())
        self._show_preset()
        self._loading = False
        self._on_changed()

    def _show_preset(self) -> None:
        """The preset's advice, and its fixed user name (SendGrid's 'apikey') instead of the address."""
        preset = providers.load_catalogue().get(self.state.draft.preset) if self.state.draft.preset else None
        self.preset_help.setVisible(preset is not None)
        if preset is None:
            return
        smtp = preset.smtp[0]
        link = f" <a href='{smtp.doc_url}'>Provider's instructions</a>" if smtp.doc_url else ""
        self.preset_help.setText(f"<b>{preset.name}:</b> {smtp.help}{link}")
        if "{" in smtp.host:
            self.host.setPlaceholderText(smtp.host)
        if smtp.username_hint and not self._username_typed:
            self.username.setText(smtp.username_hint)
            self._username_typed = True

    def _on_port_edited(self, text: str) -> None:
        self._port_typed = bool(text.strip())

    def _on_username_edited(self, text: str) -> None:
        self._username_typed = bool(text.strip())

    def _on_security_changed(self) -> None:
        if not self._port_typed:
            self.port.setText(str(DEFAULT_PORTS[self.selected_security()]))
        self._on_changed()

    def selected_security(self) -> Security:
        return Security(self.security.currentData())

    def _choose_ca_file(self) -> None:
        # open(), not exec(): a nested event loop would run the asyncio loop re-entrantly.
        dialog = QFileDialog(self, "Choose the CA certificate", "", "Certificates (*.pem *.crt *.cer);;All files (*)")
        dialog.setObjectName("caFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.ca_file.setText)
        self._ca_dialog = dialog
        dialog.open()

    def _store(self) -> None:
        s = self.state
        port_text = self.port.text().strip()
        s.draft = replace(s.draft, host=self.host.text(), security=self.selected_security(),
                          port=int(port_text) if port_text.isdigit() else 0, username=self.username.text(),
                          ca_file=self.ca_file.text(), timeout_s=float(self.timeout.value()))
        s.secrets.password = self.password.text()
        # after the rest: whether the confirmation is needed depends on the host, security and user just stored
        s.draft = replace(s.draft, allow_plaintext_loopback=self.confirm_plaintext.isChecked()
                          and needs_plaintext_confirmation(s))

    def _on_changed(self) -> None:
        if self._loading:
            return
        self._store()
        self.confirm_plaintext.setVisible(needs_plaintext_confirmation(self.state))
        shown = [p.message for p in smtp_problems(self.state, self.port.text()) if p.shown]
        self.messages.setText("\n".join(shown))
        self.messages.setVisible(bool(shown))
        port_text = self.port.text().strip()
        warning = port_security_warning(int(port_text), self.state.draft.security) if port_text.isdigit() else ""
        self.port_warning.setText(warning)
        self.port_warning.setVisible(bool(warning))
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        return super().isComplete() and not smtp_problems(self.state, self.port.text())
