"""The guided Entra app registration: numbered steps, values to copy, pasted IDs validated, the client
secret checked (Value, not Secret ID) with its expiry, the admin-consent link, and for app-only SMTP the
Exchange Online PowerShell filled in. All text comes from services/oauth/azure_guide.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QDate, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
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

from wizard.pages.oauth_sign_in import copy_button
from wizard.services.config import Profile
from wizard.services.oauth import azure_guide

CLOUDS = (("Worldwide", ""), ("US Government", "https://login.microsoftonline.us"),
          ("China (21Vianet)", "https://login.chinacloudapi.cn"))


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


class AzureRegistrationPage(QWizardPage):
    def __init__(self, profile: Callable[[], Profile], app_only: Callable[[], bool] = lambda: False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile_source = profile
        self.app_only = app_only
        self.setTitle("Register Mailwright in your Microsoft Entra tenant")
        self.setSubTitle("Once per tenant, about five minutes. Copy the values with the buttons.")

        steps = QLabel("<ol>" + "".join(f"<li>{step}</li>" for step in azure_guide.REGISTRATION_STEPS) + "</ol>")
        steps.setObjectName("registrationSteps")
        steps.setWordWrap(True)
        steps.setOpenExternalLinks(True)

        self.tenant = self._edit("tenantId", "Directory (tenant) ID", "72f988bf-... or contoso.com")
        self.client_id = self._edit("clientId", "Application (client) ID", "1b2c3d4e-...")
        self.secret = self._edit("clientSecret", "Client secret value", "Value column, e.g. abC8Q~...")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.object_id = self._edit("enterpriseObjectId", "Enterprise application Object ID",
                                    "Enterprise applications > Mailwright > Object ID")
        self.expires = QDateEdit(QDate.currentDate().addMonths(6))
        self.expires.setObjectName("secretExpires")
        self.expires.setAccessibleName("Client secret expiry date")
        self.expires.setCalendarPopup(True)
        self.cloud = QComboBox()
        self.cloud.setObjectName("cloud")
        self.cloud.setAccessibleName("Microsoft cloud")
        for title, authority in CLOUDS:
            self.cloud.addItem(title, authority)
        self.validation = QLabel()
        self.validation.setObjectName("registrationValidation")
        self.validation.setWordWrap(True)
        self.validation.setStyleSheet("QLabel { color: #a33; }")

        form = QFormLayout()
        form.addRow("App name:", self._with_copy("appName", QLabel(azure_guide.APP_NAME), azure_guide.APP_NAME))
        form.addRow("Redirect URI:", self._with_copy("redirectUri", QLabel(azure_guide.REDIRECT_URI),
                                                     azure_guide.REDIRECT_URI))
        form.addRow("Cloud:", self.cloud)
        form.addRow("Tenant ID:", self.tenant)
        form.addRow("Client ID:", self.client_id)
        form.addRow("Client secret:", self.secret)
        form.addRow("Secret expires:", self.expires)
        form.addRow("Enterprise app Object ID:", self.object_id)

        self.consent_url = QLineEdit()
        self.consent_url.setObjectName("adminConsentUrl")
        self.consent_url.setAccessibleName("Admin consent link")
        self.consent_url.setReadOnly(True)
        open_consent = QPushButton("Open")
        open_consent.setObjectName("openAdminConsent")
        open_consent.setAccessibleName("Open the admin consent link")
        open_consent.clicked.connect(self.open_consent)
        consent_row = QHBoxLayout()
        consent_row.addWidget(self.consent_url, 1)
        consent_row.addWidget(open_consent)
        consent_row.addWidget(copy_button("adminConsentUrl", self.consent_url.text, "Copy the admin consent link"))

        self.powershell = QPlainTextEdit()
        self.powershell.setObjectName("powershell")
        self.powershell.setAccessibleName("Exchange Online PowerShell")
        self.powershell.setReadOnly(True)
        self.powershell.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.powershell_copy = copy_button("powershell", self.powershell.toPlainText, "Copy the PowerShell")

        layout = QVBoxLayout(self)
        layout.addWidget(steps)
        layout.addLayout(form)
        layout.addWidget(self.validation)
        layout.addWidget(QLabel("Admin consent (a Global or Privileged Role Administrator opens it once):"))
        layout.addLayout(consent_row)
        layout.addWidget(QLabel("App-only: run in Exchange Online PowerShell (RBAC for Applications alternative "
                                "below the line):"))
        layout.addWidget(self.powershell, 1)
        layout.addWidget(self.powershell_copy)

        for edit in (self.tenant, self.client_id, self.secret, self.object_id):
            edit.textChanged.connect(self.refresh)
        self.cloud.currentIndexChanged.connect(self.refresh)
        self.expires.dateChanged.connect(self.refresh)

    def open_consent(self) -> None:
        QDesktopServices.openUrl(QUrl(self.consent_url.text()))

    def _edit(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        return edit

    def _with_copy(self, name: str, label: QLabel, value: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label, 1)
        layout.addWidget(copy_button(name, lambda: value, f"Copy {value}"))
        return row

    def registration(self) -> AppRegistration:
        return AppRegistration(self.tenant.text().strip(), self.client_id.text().strip(),
                               str(self.cloud.currentData() or ""), self.secret.text().strip(),
                               self.expires.date().toString("yyyy-MM-dd") if self.app_only() else "",
                               self.object_id.text().strip())

    def problems(self) -> list[str]:
        registration = self.registration()
        found = [azure_guide.validate_tenant(registration.tenant), azure_guide.validate_client_id(
            registration.client_id)]
        if self.app_only():
            found.append(azure_guide.secret_warning(registration.client_secret))
        return [problem for problem in found if problem]

    def refresh(self) -> None:
        registration = self.registration()
        profile = self.profile_source()
        consent_profile = Profile(name="consent", tenant=registration.tenant, client_id=registration.client_id,
                                  authority=registration.authority)
        self.consent_url.setText(azure_guide.admin_consent_url(consent_profile))
        plan = azure_guide.powershell_for_app_only_smtp(registration.client_id, profile.from_address,
                                                        registration.enterprise_object_id)
        self.powershell.setPlainText(plan.text + "\n\n# RBAC for Applications (least privilege)\n"
                                     + "\n".join(plan.rbac_alternative))
        notes = self.problems()
        expiry = azure_guide.secret_expiry_warning(registration.client_secret_expires, QDate.currentDate()
                                                   .startOfDay().toSecsSinceEpoch()) if self.app_only() else None
        self.validation.setText("<br>".join([*notes, *([expiry] if expiry else [])]))
        self.completeChanged.emit()

    @override
    def initializePage(self) -> None:
        profile = self.profile_source()
        self.tenant.setText(self.tenant.text() or profile.tenant)
        self.client_id.setText(self.client_id.text() or profile.client_id)
        for index, (_title, authority) in enumerate(CLOUDS):
            if authority and profile.authority.startswith(authority):
                self.cloud.setCurrentIndex(index)
        self.secret.setVisible(self.app_only())
        self.expires.setVisible(self.app_only())
        self.refresh()

    @override
    def isComplete(self) -> bool:
        return not self.problems()
