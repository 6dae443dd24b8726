"""The four set-up modes: what each asks of the admin, what the new application gets, how the profile sends.

Pure data. Permission *names* live here; their ids are read from the tenant's resource service principals at
set-up time (`appRoles` / `oauth2PermissionScopes` by `value`), never hard-coded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.services.model import AuthMode, ProviderKind

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
RESOURCE_NAMES = {GRAPH_APP_ID: "Microsoft Graph", EXCHANGE_APP_ID: "Office 365 Exchange Online"}

# The admin's sign-in: only what the mode needs (never Directory.ReadWrite.All or role management).
REGISTER_SCOPES = ("Application.ReadWrite.All",)
APP_ROLE_SCOPES = ("AppRoleAssignment.ReadWrite.All",)
DELEGATED_GRANT_SCOPES = ("DelegatedPermissionGrant.ReadWrite.All",)
# GET /organization (tenant id, verified domains): User.Read is its least-privileged delegated permission.
TENANT_SCOPES = ("User.Read",)


class SetupMode(StrEnum):
    GRAPH_APP = "graph-app"
    GRAPH_DELEGATED = "graph-delegated"
    SMTP_DELEGATED = "smtp-delegated"
    SMTP_APP = "smtp-app"

    @property
    def app_only(self) -> bool:
        return self in {SetupMode.GRAPH_APP, SetupMode.SMTP_APP}

    @property
    def provider(self) -> ProviderKind:
        graph = self in {SetupMode.GRAPH_APP, SetupMode.GRAPH_DELEGATED}
        return ProviderKind.GRAPH if graph else ProviderKind.M365_SMTP

    @property
    def auth(self) -> AuthMode:
        return AuthMode.CLIENT_CERTIFICATE if self.app_only else AuthMode.OAUTH_INTERACTIVE

    @property
    def permissions(self) -> tuple[Permission, ...]:
        return _PERMISSIONS[self]

    @property
    def admin_scopes(self) -> tuple[str, ...]:
        """What the admin's sign-in requests (Graph delegated permissions of the admin client)."""
        grant = APP_ROLE_SCOPES if self.app_only else DELEGATED_GRANT_SCOPES
        return (*TENANT_SCOPES, *REGISTER_SCOPES, *grant)

    @property
    def exchange_step(self) -> bool:
        """Exchange Online must act too (New-ServicePrincipal + mailbox permission) before SMTP.SendAsApp works."""
        return self is SetupMode.SMTP_APP

    @property
    def label(self) -> str:
        return _LABELS[self]


@dataclass(frozen=True)
class Permission:
    resource_app_id: str
    value: str  # e.g. "Mail.Send"
    application: bool  # True: an app role (Role); False: a delegated scope (Scope)
    why: str

    @property
    def resource_name(self) -> str:
        return RESOURCE_NAMES[self.resource_app_id]

    def describe(self) -> str:
        kind = "application" if self.application else "delegated"
        return f"{self.resource_name} {self.value} ({kind})"


_OFFLINE = Permission(GRAPH_APP_ID, "offline_access", False, "keeps the mailbox owner's sign-in alive without asking "
                      "again")
_PERMISSIONS: dict[SetupMode, tuple[Permission, ...]] = {
    SetupMode.GRAPH_APP: (Permission(GRAPH_APP_ID, "Mail.Send", True,
                                     "sends as the sender mailbox without anyone signed in (allows every mailbox "
                                     "unless Exchange scopes it)"),),
    SetupMode.GRAPH_DELEGATED: (Permission(GRAPH_APP_ID, "Mail.Send", False,
                                           "sends as the mailbox owner who signs in"), _OFFLINE),
    SetupMode.SMTP_DELEGATED: (Permission(EXCHANGE_APP_ID, "SMTP.Send", False,
                                          "sends through smtp.office365.com as the mailbox owner who signs in"),
                               _OFFLINE),
    SetupMode.SMTP_APP: (Permission(EXCHANGE_APP_ID, "SMTP.SendAsApp", True,
                                    "sends through smtp.office365.com without anyone signed in, only as the "
                                    "mailboxes Exchange allows"),),
}
_LABELS = {
    SetupMode.GRAPH_APP: "Microsoft Graph, no one signed in (recommended for servers)",
    SetupMode.GRAPH_DELEGATED: "Microsoft Graph, as the signed-in mailbox owner",
    SetupMode.SMTP_DELEGATED: "SMTP (smtp.office365.com), as the signed-in mailbox owner",
    SetupMode.SMTP_APP: "SMTP (smtp.office365.com), no one signed in (needs an Exchange step)",
}
