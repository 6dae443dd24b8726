"""Microsoft Graph facts the wizard shows: national clouds and least-privilege PowerShell, filled in.

Pure functions only. The application permission Mail.Send lets an app send as *any* mailbox in the
tenant; Exchange Online can narrow that to the sender mailbox in two ways (REFERENCE.md):

- RBAC for Applications (current): a management scope that matches the mailbox, and a role
  assignment 'Application Mail.Send' limited to that scope. It is additive to Entra consent, so the
  tenant-wide Mail.Send consent on the app registration must be removed, or the scope narrows nothing.
- Application access policies (legacy, being replaced by RBAC for Applications): a mail-enabled
  security group holding the mailbox, and `New-ApplicationAccessPolicy -AccessRight RestrictAccess`.

`Test-ServicePrincipalAuthorization` / `Test-ApplicationAccessPolicy` prove the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from wizard.services.model import Profile, ProviderKind, Security

GLOBAL_GRAPH = "https://graph.microsoft.com"
SCOPE_NAME_PREFIX = "Mailwright sender"
# A message whose base64 body is over this size does not fit Graph's ~4 MB request limit.
REQUEST_LIMIT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class NationalCloud:
    key: str
    title: str
    login_host: str
    graph_endpoint: str

    @property
    def authority_base(self) -> str:
        return f"https://{self.login_host}"

    @property
    def scope(self) -> str:
        """The app-only scope: the cloud's Graph resource + /.default."""
        return f"{self.graph_endpoint}/.default"


CLOUDS: tuple[NationalCloud, ...] = (
    NationalCloud("global", "Microsoft 365 (worldwide)", "login.microsoftonline.com", GLOBAL_GRAPH),
    NationalCloud("usgov", "US Government L4 (GCC High)", "login.microsoftonline.us", "https://graph.microsoft.us"),
    NationalCloud("usgov-dod", "US Government L5 (DoD)", "login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    NationalCloud("china", "China (operated by 21Vianet)", "login.chinacloudapi.cn",
                  "https://microsoftgraph.chinacloudapi.cn"),
)


def cloud_by_key(key: str) -> NationalCloud:
    for cloud in CLOUDS:
        if cloud.key == key:
            return cloud
    raise KeyError(f"Unknown cloud '{key}'; choose one of {', '.join(c.key for c in CLOUDS)}.")


def cloud_for_authority(authority: str) -> NationalCloud:
    """The cloud whose login host the authority URL uses; worldwide when empty or unknown.

    US Gov L4 and L5 share a login host; L4 is the common case, L5 is chosen through graph_endpoint.
    """
    host = (urlsplit(authority).hostname or "").lower() if authority else ""
    for cloud in CLOUDS:
        if host == cloud.login_host:
            return cloud
    return CLOUDS[0]


def graph_endpoint_for(graph_endpoint: str, authority: str) -> str:
    """The Graph base URL a profile sends to: its explicit setting (tests, L5), else its cloud's."""
    if graph_endpoint:
        return graph_endpoint.rstrip("/")
    return cloud_for_authority(authority).graph_endpoint


def graph_scope_for(graph_endpoint: str, authority: str) -> str:
    """The client-credentials scope for a profile's Graph resource.

    A custom graph_endpoint (a test endpoint, a proxy) still asks for the cloud's resource: the token's
    audience is the Graph service, not the URL the request travels to.
    """
    endpoint = graph_endpoint_for(graph_endpoint, authority)
    for cloud in CLOUDS:
        if endpoint == cloud.graph_endpoint:
            return cloud.scope
    return cloud_for_authority(authority).scope


def _ps(value: str, placeholder: str) -> str:
    """A PowerShell single-quoted literal (no interpolation); ' is doubled."""
    text = value.strip() or placeholder
    return "'" + text.replace("'", "''") + "'"


def _opath_equals(attribute: str, value: str, placeholder: str) -> str:
    # The OPATH filter goes inside a PowerShell single-quoted string; its value uses double quotes.
    text = (value.strip() or placeholder).replace('"', "")
    return _ps(f'{attribute} -eq "{text}"', placeholder)


def scope_name(mailbox: str) -> str:
    return f"{SCOPE_NAME_PREFIX} {mailbox.strip() or 'mailbox'}"


APP_ID = "<Application (client) ID>"
OBJECT_ID = "<Enterprise application Object ID>"
MAILBOX = "<sender mailbox>"


def rbac_for_applications_lines(app_id: str, enterprise_object_id: str, mailbox: str,
                                large_messages: bool = False) -> list[str]:
    """Exchange Online PowerShell: allow the app to send only as `mailbox` (RBAC for Applications).

    `large_messages` adds Mail.ReadWrite on the same scope: messages over 4 MB go through a draft
    and an upload session, which Mail.Send alone does not allow.
    """
    scope = _ps(scope_name(mailbox), MAILBOX)
    lines = [
        "Connect-ExchangeOnline",
        f"New-ServicePrincipal -AppId {_ps(app_id, APP_ID)} -ObjectId {_ps(enterprise_object_id, OBJECT_ID)} "
        "-DisplayName 'Mailwright'",
        f"New-ManagementScope -Name {scope} "
        f"-RecipientRestrictionFilter {_opath_equals('PrimarySmtpAddress', mailbox, MAILBOX)}",
        f"New-ManagementRoleAssignment -App {_ps(app_id, APP_ID)} -Role 'Application Mail.Send' "
        f"-CustomResourceScope {scope}",
    ]
    if large_messages:
        lines.append(f"New-ManagementRoleAssignment -App {_ps(app_id, APP_ID)} -Role 'Application Mail.ReadWrite' "
                     f"-CustomResourceScope {scope}")
    lines.append(verify_line(app_id, mailbox))
    return lines


def verify_line(app_id: str, mailbox: str) -> str:
    return (f"Test-ServicePrincipalAuthorization -Identity {_ps(app_id, APP_ID)} "
            f"-Resource {_ps(mailbox, MAILBOX)}")


def application_access_policy_lines(app_id: str, mailbox: str, group: str = "") -> list[str]:
    """The older way: restrict the app to the members of a mail-enabled security group."""
    local = mailbox.strip().partition("@")[0].lower()
    # Never "mailwright-senders-mailwright": no mailbox yet, or one named mailwright, gets the plain name.
    default = "mailwright-senders" if local in {"", "mailwright"} else f"mailwright-senders-{local}"
    group_name = group.strip() or default
    return [
        "Connect-ExchangeOnline",
        f"New-DistributionGroup -Name {_ps(group_name, 'mailwright-senders')} -Type Security "
        f"-Members {_ps(mailbox, MAILBOX)}",
        f"New-ApplicationAccessPolicy -AppId {_ps(app_id, APP_ID)} -PolicyScopeGroupId {_ps(group_name, '')} "
        "-AccessRight RestrictAccess -Description 'Mailwright may send only as the members of this group'",
        f"Test-ApplicationAccessPolicy -Identity {_ps(mailbox, MAILBOX)} -AppId {_ps(app_id, APP_ID)}",
    ]


def admin_consent_url(tenant: str, client_id: str, cloud: NationalCloud = CLOUDS[0]) -> str:
    """The URL an admin opens to grant the app's configured application permissions."""
    return (f"{cloud.authority_base}/{tenant.strip() or 'organizations'}/v2.0/adminconsent"
            f"?client_id={client_id.strip()}&scope={cloud.scope}")


def least_privilege_warning(mailbox: str) -> str:
    who = mailbox.strip() or "the sender mailbox"
    return ("The application permission Mail.Send lets this app send as ANY mailbox in your organisation, "
            f"not only as {who}. Limit it to {who} with the PowerShell lines below (RBAC for Applications), "
            "and remove the tenant-wide Mail.Send consent from the app registration: Exchange adds the two "
            "grants together, so the consent would otherwise still allow every mailbox.")


def needed_permissions(app_only: bool, large_messages: bool, shared_mailbox: bool = False) -> tuple[str, ...]:
    """The Graph permissions a profile needs: application roles (app-only) or delegated scopes."""
    needed = ["Mail.Send"]
    if shared_mailbox and not app_only:
        needed.append("Mail.Send.Shared")
    if large_messages:
        # Delegated drafts live in the signed-in user's own mailbox (/me/messages), even for a shared From.
        needed.append("Mail.ReadWrite")
    return tuple(needed)


def graph_instead_of_smtp(profile: Profile) -> Profile:
    """The same account on Microsoft Graph: for an m365-smtp profile whose check found SMTP AUTH disabled.

    The app registration, tenant, authority, sign-in mode and the keyring secrets (same profile name) are
    reused; only the Graph permission must be added (`graph_permission_steps`).
    """
    return replace(profile, provider=ProviderKind.GRAPH, host="", port=443, security=Security.TLS)


def graph_permission_steps(profile: Profile) -> list[str]:
    """What the admin adds to the existing app registration before the Graph profile can send."""
    cloud = cloud_for_authority(profile.authority)
    if profile.auth.is_app_only:
        return [
            "Entra admin center > App registrations > your app > API permissions > Add a permission > "
            "Microsoft Graph > Application permissions > Mail.Send (and Mail.ReadWrite for messages over 4 MB).",
            f"Grant admin consent, or open: {admin_consent_url(profile.tenant, profile.client_id, cloud)}",
            "Then limit the app to the sender mailbox (next page): " + least_privilege_warning(profile.from_address),
        ]
    return [
        "Entra admin center > App registrations > your app > API permissions > Add a permission > "
        "Microsoft Graph > Delegated permissions > Mail.Send (Mail.Send.Shared to send as a shared mailbox).",
        "Sign in again: the consent screen asks for the new permission.",
    ]
