"""The guided Entra app registration: numbered steps, values to copy, pasted IDs validated, the client
secret checked (Value, not Secret ID) with its expiry, or the certificate; the admin-consent link; for
app-only SMTP the Exchange Online PowerShell filled in; for Graph its permission steps. Delegated modes
sign in at the bottom once the IDs are in. All guide text comes from services/oauth/azure_guide.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QDate, QLocale, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.flow import is_app_only
from wizard.pages.oauth_sign_in import SignInPanel, copy_button
from wizard.pages.state import WizardState
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.widgets.code_box import fit_to_lines
from wizard.widgets.colours import problem_style
from wizard.widgets.form_widgets import fill_with_scrolling

CLOUDS = (("Worldwide", ""), ("US Government", "https://login.microsoftonline.us"),
          ("China (21Vianet)", "https://login.chinacloudapi.cn"))
GRAPH_PERMISSION_STEPS = (
    "API permissions > Add a permission > Microsoft Graph.",
    "App-only: Application permissions > Mail.Send (and Mail.ReadWrite if the profile may send mail over 4 MB). "
    "Delegated sign-in: Delegated permissions > Mail.Send (Mail.Send.Shared for a shared mailbox).",
    "Grant admin consent for your organisation (or open the admin consent link below).",
)


@dataclass(frozen=True)
class AppRegistration:
    tenant: str
    client_id: str
    authority: str
    client_secret: str  # "" when not app-only; the wizard stores it in the keyring, never in config.toml
    client_secret_expires: str
    enterprise_object_id: str

    def __repr__(self) -> str:
        return f"AppRegistration(tenant={self.tenant!r}, client_id={self.client_id!r}, client_secret=<hidden>)"


class StepChecklist(QWidget):
    """The registration steps as boxes the admin ticks off while working in the Entra admin center."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registrationSteps")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.boxes: list[QCheckBox] = []
        self.labels: list[QLabel] = []

    def set_steps(self, steps: list[str]) -> None:
        if [label.text() for label in self.labels] == steps:
            return  # keep what the admin already ticked
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.boxes, self.labels = [], []
        for number, step in enumerate(steps, start=1):
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            box = QCheckBox(f"{number}.")
            box.setObjectName(f"registrationStep{number}")
            box.setAccessibleName(f"Step {number} done")
            label = QLabel(step)
            label.setWordWrap(True)
            label.setOpenExternalLinks(True)
            row_layout.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
            row_layout.addWidget(label, 1)
            self._layout.addWidget(row)
            self.boxes.append(box)
            self.labels.append(label)

    def text(self) -> str:
        return "\n".join(label.text() for label in self.labels)


def long_date_format() -> str:
    return QLocale().dateFormat(QLocale.FormatType.LongFormat)


def _edit(name: str, accessible: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setPlaceholderText(placeholder)
    return edit


class AzureRegistrationPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Register Mailwright in your Microsoft Entra tenant")
        self.setSubTitle("Once per tenant, about five minutes. Copy the values with the buttons.")

        self.steps = StepChecklist()

        self.tenant = _edit("tenantId", "Directory (tenant) ID", "72f988bf-... or contoso.com")
        self.client_id = _edit("clientId", "Application (client) ID", "1b2c3d4e-...")
        self.secret = _edit("clientSecret", "Client secret value", "Value column, e.g. abC8Q~...")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.object_id = _edit("enterpriseObjectId", "Enterprise application Object ID",
                               "Enterprise applications > Mailwright > Object ID")
        self.expires = QDateEdit(QDate.currentDate().addMonths(6))
        self.expires.setObjectName("secretExpires")
        self.expires.setAccessibleName("Client secret expiry date")
        self.expires.setCalendarPopup(True)
        self.expires.setDisplayFormat(long_date_format())
        self.certificate = _edit("certificatePath", "Certificate file", "PEM with the private key, or PFX")
        self.browse_certificate = QPushButton("Browse…")
        self.browse_certificate.setObjectName("browseCertificate")
        self.browse_certificate.setAccessibleName("Choose the certificate file")
        self.passphrase = _edit("certificatePassphrase", "Certificate passphrase", "only for a protected PFX/PEM")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.cloud = QComboBox()
        self.cloud.setObjectName("cloud")
        self.cloud.setAccessibleName("Microsoft cloud")
        for title, authority in CLOUDS:
            self.cloud.addItem(title, authority)
        self.validation = QLabel()
        self.validation.setObjectName("registrationValidation")
        self.validation.setWordWrap(True)
        self.validation.setStyleSheet(problem_style())

        self.certificate_row = QHBoxLayout()
        self.certificate_row.addWidget(self.certificate, 1)
        self.certificate_row.addWidget(self.browse_certificate)
        self.form = QFormLayout()
        self.form.addRow("App name:", self._with_copy("appName", "Mailwright"))
        self.form.addRow("Redirect URI:", self._with_copy("redirectUri", "http://localhost"))
        self.form.addRow("Cloud:", self.cloud)
        self.form.addRow("Tenant ID*:", self.tenant)
        self.form.addRow("Client ID*:", self.client_id)
        self.form.addRow("Client secret*:", self.secret)
        self.form.addRow("Secret expires:", self.expires)
        self.form.addRow("Certificate*:", self.certificate_row)
        self.form.addRow("Passphrase:", self.passphrase)
        self.form.addRow("Enterprise app Object ID:", self.object_id)

        self.consent_url = QLineEdit()
        self.consent_url.setObjectName("adminConsentUrl")
        self.consent_url.setAccessibleName("Admin consent link")
        self.consent_url.setReadOnly(True)
        self.consent_url.setPlaceholderText("appears once the tenant and client IDs are valid")
        self.open_consent_button = QPushButton("Open")
        self.open_consent_button.setObjectName("openAdminConsent")
        self.open_consent_button.setAccessibleName("Open the admin consent link")
        self.open_consent_button.clicked.connect(self.open_consent)
        self.consent_copy = copy_button("adminConsentUrl", self.consent_url.text, "Copy the admin consent link")
        consent_row = QHBoxLayout()
        consent_row.addWidget(self.consent_url, 1)
        consent_row.addWidget(self.open_consent_button)
        consent_row.addWidget(self.consent_copy)

        self.powershell_label = QLabel("App-only: run in Exchange Online PowerShell (the RBAC for Applications "
                                       "alternative follows the comment line):")
        self.powershell_label.setWordWrap(True)
        self.powershell = QPlainTextEdit()
        self.powershell.setObjectName("powershell")
        self.powershell.setAccessibleName("Exchange Online PowerShell")
        self.powershell.setReadOnly(True)
        self.powershell.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.powershell_copy = copy_button("powershell", self.powershell.toPlainText, "Copy the PowerShell")
        self.panel = SignInPanel(self.profile_for_sign_in, self.state.secret_source)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.steps)
        layout.addLayout(self.form)
        layout.addWidget(self.validation)
        layout.addWidget(QLabel("Admin consent (a Global or Privileged Role Administrator opens it once):"))
        layout.addLayout(consent_row)
        layout.addWidget(self.powershell_label)
        layout.addWidget(self.powershell)
        layout.addWidget(self.powershell_copy)
        layout.addWidget(self.panel)
        layout.addStretch(1)
        fill_with_scrolling(self, content, "registrationScroll")

        self._touched: set[QLineEdit] = set()  # fields the admin typed in: their problems show
        for edit in (self.tenant, self.client_id, self.secret, self.object_id, self.certificate, self.passphrase):
            edit.textChanged.connect(self.refresh)
            edit.textEdited.connect(self._mark_touched)
        self.cloud.currentIndexChanged.connect(self.refresh)
        self.expires.dateChanged.connect(self.refresh)
        self.browse_certificate.clicked.connect(self._choose_certificate)
        self.panel.signed_in_changed.connect(lambda _signed: self.completeChanged.emit())
        self._loading = False
        self._certificate_dialog: QFileDialog | None = None

    def app_only(self) -> bool:
        return is_app_only(self.state)

    def _mark_touched(self, _text: str) -> None:
        sender = self.sender()
        if isinstance(sender, QLineEdit) and sender not in self._touched:
            self._touched.add(sender)
            self.refresh()

    def profile_for_sign_in(self) -> Profile:
        return self.state.profile()

    def open_consent(self) -> None:
        QDesktopServices.openUrl(QUrl(self.consent_url.text()))

    def _with_copy(self, name: str, value: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(value), 1)
        layout.addWidget(copy_button(name, lambda: value, f"Copy {value}"))
        return row

    def _choose_certificate(self) -> None:
        dialog = QFileDialog(self, "Choose the certificate", "", "Certificates (*.pem *.pfx *.p12);;All files (*)")
        dialog.setObjectName("certificateDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.certificate.setText)
        self._certificate_dialog = dialog
        dialog.open()  # never exec(): a nested event loop would run the asyncio loop re-entrantly

    def registration(self) -> AppRegistration:
        return AppRegistration(self.tenant.text().strip(), self.client_id.text().strip(),
                               str(self.cloud.currentData() or ""), self.secret.text().strip(),
                               self.expires.date().toString("yyyy-MM-dd")
                               if self.state.draft.auth is AuthMode.CLIENT_SECRET else "",
                               self.object_id.text().strip())

    def field_problems(self) -> list[tuple[QLineEdit, str]]:
        from wizard.services.oauth import azure_guide  # the oauth package loads msal: only when this page is used

        registration = self.registration()
        found = [(self.tenant, azure_guide.validate_tenant(registration.tenant)),
                 (self.client_id, azure_guide.validate_client_id(registration.client_id))]
        keeps_saved_secret = bool(self.state.editing) and not registration.client_secret
        if self.state.draft.auth is AuthMode.CLIENT_SECRET and not keeps_saved_secret:
            found.append((self.secret, azure_guide.secret_warning(registration.client_secret)))
        if self.state.draft.auth is AuthMode.CLIENT_CERTIFICATE and not self.certificate.text().strip():
            found.append((self.certificate, "Choose the certificate file (PEM with its private key, or PFX)."))
        return [(edit, problem) for edit, problem in found if problem]

    def problems(self) -> list[str]:
        return [problem for _edit, problem in self.field_problems()]

    def shown_problems(self) -> list[str]:
        """Only for what the admin has typed (or what was filled in before): a fresh page shows no red."""
        return [problem for edit, problem in self.field_problems() if edit in self._touched or edit.text().strip()]

    def _store(self) -> None:
        s, registration = self.state, self.registration()
        before = (s.draft.tenant, s.draft.client_id, s.draft.authority)
        certificate = s.draft.auth is AuthMode.CLIENT_CERTIFICATE
        s.draft = replace(s.draft, tenant=registration.tenant, client_id=registration.client_id,
                          authority=registration.authority, client_secret_expires=registration.client_secret_expires,
                          certificate_path=self.certificate.text().strip() if certificate else "")
        s.secrets.client_secret = registration.client_secret if s.draft.auth is AuthMode.CLIENT_SECRET else ""
        s.secrets.certificate_passphrase = self.passphrase.text() if certificate else ""
        s.enterprise_object_id = registration.enterprise_object_id
        if (s.draft.tenant, s.draft.client_id, s.draft.authority) != before:
            self.panel.forget()

    def refresh(self) -> None:
        if self._loading:
            return
        from wizard.services.oauth import azure_guide

        self._store()
        s = self.state
        graph = s.draft.provider is ProviderKind.GRAPH
        scope = "https://graph.microsoft.com/.default" if graph else "https://outlook.office365.com/.default"
        d = s.draft
        consent_profile = Profile(name="consent", tenant=d.tenant, client_id=d.client_id, authority=d.authority)
        ids_valid = not (azure_guide.validate_tenant(d.tenant) or azure_guide.validate_client_id(d.client_id))
        self.consent_url.setText(azure_guide.admin_consent_url(consent_profile, scope) if ids_valid else "")
        self.consent_url.setCursorPosition(0)  # the host and tenant matter to the reader, not the query's tail
        self.open_consent_button.setEnabled(ids_valid)
        self.consent_copy.setEnabled(ids_valid)
        plan = azure_guide.powershell_for_app_only_smtp(d.client_id, d.from_address.strip(), s.enterprise_object_id)
        self.powershell.setPlainText(plan.text + "\n\n# RBAC for Applications (least privilege)\n"
                                     + "\n".join(plan.rbac_alternative))
        fit_to_lines(self.powershell)
        expiry = azure_guide.secret_expiry_warning(d.client_secret_expires, QDate.currentDate().startOfDay()
                                                   .toSecsSinceEpoch()) if d.client_secret_expires else None
        notes = [*self.shown_problems(), *([expiry] if expiry else [])]
        self.validation.setText("<br>".join(notes))
        self.validation.setVisible(bool(notes))
        self.completeChanged.emit()

    def _show_rows(self) -> None:
        s = self.state
        secret, certificate = s.draft.auth is AuthMode.CLIENT_SECRET, s.draft.auth is AuthMode.CLIENT_CERTIFICATE
        self.form.setRowVisible(self.secret, secret)
        self.form.setRowVisible(self.expires, secret)
        self.form.setRowVisible(self.certificate_row, certificate)
        self.form.setRowVisible(self.passphrase, certificate)
        self.form.setRowVisible(self.object_id, self.app_only() and s.draft.provider is ProviderKind.M365_SMTP)
        smtp_app_only = self.app_only() and s.draft.provider is ProviderKind.M365_SMTP
        for widget in (self.powershell_label, self.powershell, self.powershell_copy):
            widget.setVisible(smtp_app_only)
        self.panel.setVisible(not self.app_only())
        self.panel.sign_in_button.setVisible(s.draft.auth is AuthMode.OAUTH_INTERACTIVE)
        self.panel.device_button.setVisible(s.draft.auth is AuthMode.OAUTH_DEVICE)

    @override
    def initializePage(self) -> None:
        from wizard.services.oauth import azure_guide

        s = self.state
        steps = list(azure_guide.REGISTRATION_STEPS)
        if s.draft.provider is ProviderKind.GRAPH:
            steps = [step for step in steps if not step.startswith("API permissions")] + list(GRAPH_PERMISSION_STEPS)
        self.steps.set_steps(steps)
        self._loading = True
        self.tenant.setText(s.draft.tenant)
        self.client_id.setText(s.draft.client_id)
        self.object_id.setText(s.enterprise_object_id)
        self.certificate.setText(s.draft.certificate_path)
        if s.secrets.client_secret:
            self.secret.setText(s.secrets.client_secret)
        if s.draft.client_secret_expires:
            self.expires.setDate(QDate.fromString(s.draft.client_secret_expires, "yyyy-MM-dd"))
        index = next((i for i, (_title, authority) in enumerate(CLOUDS) if authority and
                      s.draft.authority.startswith(authority)), 0)
        if s.draft.authority and index == 0:  # a custom authority (another login host, or a test identity provider)
            index = self.cloud.findData(s.draft.authority)
            if index < 0:
                self.cloud.addItem(f"Other: {s.draft.authority}", s.draft.authority)
                index = self.cloud.count() - 1
        self.cloud.setCurrentIndex(index)
        self._loading = False
        self._show_rows()
        self.refresh()

    @override
    def isComplete(self) -> bool:
        if self.problems():
            return False
        return self.app_only() or self.panel.signed_in

    @override
    def cleanupPage(self) -> None:
        self.panel.tasks.cancel()
