"""The guided Entra app registration, as pure functions: values to copy, URLs, PowerShell lines, checks.

The wizard pages and the CLI show exactly these strings. Sources: ../shared/REFERENCE.md
(Microsoft 365 SMTP app-only: service principal + mailbox permission, or RBAC for Applications).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode, urlsplit

from wizard.services.model import Profile

APP_NAME = "Mailwright"
REDIRECT_URI = "http://localhost"
SECRET_WARNING_DAYS = 30
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", re.IGNORECASE)
# Entra secret values are 40 characters with a '~' in the 4th position (e.g. 'abC8Q~...'); secret IDs are GUIDs.
_SECRET_VALUE = re.compile(r"^[A-Za-z0-9._~-]{3}8Q~[A-Za-z0-9._~-]{34}$|^[A-Za-z0-9._~-]{3}7Q~[A-Za-z0-9._~-]{34}$")

REGISTRATION_STEPS = (
    "Open https://entra.microsoft.com and sign in as an administrator.",
    "Go to Identity > Applications > App registrations > New registration.",
    f"Name: {APP_NAME}. Supported account types: this organizational directory only.",
    f"Redirect URI: platform 'Public client/native (mobile & desktop)', value {REDIRECT_URI}. Register.",
    "Copy the Application (client) ID and the Directory (tenant) ID from the Overview page into Mailwright.",
    "Device code only: Authentication > Advanced settings > Allow public client flows = Yes > Save.",
    "App-only: Certificates & secrets > New client secret; copy the Value (not the Secret ID) and its expiry date.",
    "API permissions > Add a permission > APIs my organization uses > Office 365 Exchange Online > "
    "Application permissions > SMTP.SendAsApp (delegated: Microsoft Graph > SMTP.Send). Grant admin consent.",
)


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value.strip()))


def validate_tenant(value: str) -> str | None:
    """An error message, or None when the value is a tenant GUID, a verified domain or organizations/common."""
    text = value.strip()
    if is_guid(text) or text.lower() in {"organizations", "common", "consumers"} or _DOMAIN.match(text):
        return None
    return "The tenant is the Directory (tenant) ID (a GUID like 72f988bf-...) or a verified domain (contoso.com)."


def validate_client_id(value: str) -> str | None:
    if is_guid(value):
        return None
    return "The Application (client) ID is a GUID like 1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d (Overview page)."


def secret_warning(value: str) -> str | None:
    """Heuristic: a pasted GUID is almost always the secret's ID, not its Value."""
    text = value.strip()
    if not text:
        return "Paste the client secret's Value."
    if is_guid(text):
        return ("This looks like the Secret ID (a GUID). Mailwright needs the secret's Value: the other column, "
                "shown only right after you create the secret. Create a new secret if it is hidden now.")
    if len(text) < 30 or " " in text:
        return "This does not look like a client secret Value (usually 40 characters, e.g. 'abC8Q~...')."
    return None


def looks_like_secret_value(value: str) -> bool:
    return bool(_SECRET_VALUE.match(value.strip()))


def secret_expiry_warning(expires: str, now_epoch: float) -> str | None:
    """Warn from 30 days before the recorded expiry date (ISO date) of the client secret."""
    try:
        expiry = date.fromisoformat(expires[:10])
    except ValueError:
        return None
    days = (expiry - datetime.fromtimestamp(now_epoch, UTC).date()).days
    if days < 0:
        return f"The client secret expired on {expiry.isoformat()}: create a new one in Certificates & secrets."
    if days <= SECRET_WARNING_DAYS:
        return f"The client secret expires in {days} days ({expiry.isoformat()}): create a new one before then."
    return None


def login_host(profile: Profile) -> str:
    if profile.authority:
        parts = urlsplit(profile.authority)
        return f"{parts.scheme}://{parts.netloc}"
    return "https://login.microsoftonline.com"


def admin_consent_url(profile: Profile, scope: str = "https://outlook.office365.com/.default") -> str:
    tenant = profile.tenant or "organizations"
    query = urlencode({"client_id": profile.client_id, "scope": scope, "redirect_uri": REDIRECT_URI})
    return f"{login_host(profile)}/{tenant}/v2.0/adminconsent?{query}"


@dataclass(frozen=True)
class PowerShellPlan:
    """Exchange Online PowerShell for app-only SMTP; values the admin must look up stay as <placeholders>."""

    lines: tuple[str, ...]
    rbac_alternative: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def powershell_for_app_only_smtp(app_id: str, mailbox: str, enterprise_object_id: str = "",
                                 send_as: str = "") -> PowerShellPlan:
    object_id = enterprise_object_id or "<Object ID from Enterprise applications > Mailwright (not App registrations)>"
    app = app_id or "<Application (client) ID>"
    lines = [
        "Install-Module -Name ExchangeOnlineManagement -Scope CurrentUser",
        "Connect-ExchangeOnline",
        f"New-ServicePrincipal -AppId {app} -ObjectId {object_id} -DisplayName '{APP_NAME}'",
        f"Add-MailboxPermission -Identity '{mailbox}' -User {object_id} -AccessRights FullAccess",
    ]
    if send_as and send_as.lower() != mailbox.lower():
        lines.append(f"Add-RecipientPermission -Identity '{send_as}' -Trustee {object_id} -AccessRights SendAs")
    scope_name = f"{APP_NAME} sender {mailbox}"
    rbac = (
        f"New-ManagementScope -Name '{scope_name}' -RecipientRestrictionFilter \"PrimarySmtpAddress -eq '{mailbox}'\"",
        f"New-ManagementRoleAssignment -App {object_id} -Role 'Application SMTP.SendAsApp' "
        f"-CustomResourceScope '{scope_name}'",
        f"Test-ServicePrincipalAuthorization -Identity {object_id} -Resource '{mailbox}'",
    )
    return PowerShellPlan(tuple(lines), rbac)


def smtp_auth_enable_line(mailbox: str) -> str:
    return f"Set-CASMailbox -Identity '{mailbox}' -SmtpClientAuthenticationDisabled $false"


def revoke_instructions(profile: Profile) -> str:
    """What 'Remove access' cannot do locally: the grant stays in the tenant until an admin removes it."""
    if profile.auth.is_app_only:
        return ("The stored tokens were deleted. The app itself keeps its permission: to revoke it, delete the "
                "client secret or certificate under Entra admin center > App registrations > "
                f"{APP_NAME} > Certificates & secrets, and run Remove-MailboxPermission / Remove-ServicePrincipal "
                "in Exchange Online PowerShell.")
    return ("The stored tokens were deleted from this computer. To revoke the grant itself: the user opens "
            "https://myapps.microsoft.com > their apps (or https://myaccount.microsoft.com > Apps) and removes "
            f"{APP_NAME}; an admin can use Entra admin center > Enterprise applications > {APP_NAME} > "
            "Permissions (or Users and groups) and 'Revoke sessions' on the user.")
