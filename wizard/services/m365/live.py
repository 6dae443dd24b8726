"""What exists in the tenant now for a profile Mailwright set up, and where it differs from this computer's record.

`mailwright m365 show NAME` signs in as an administrator (the set-up's flow: browser or device code; read-only
scopes: Application.Read.All, and DelegatedPermissionGrant.Read.All for delegated modes) and reads the application
(its key credentials), its service principal and the permissions granted to it. `compare` is pure: it names each
way the tenant no longer matches the record (the app deleted, the key this computer signs in with removed, a
permission revoked), in words, with what to do. Exchange Online's part (New-ServicePrincipal, mailbox
permissions, RBAC scoping) is not visible through Graph: it is reported from the record, and said so.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import asdict, dataclass
from typing import Any

from wizard.services.config import ConfigStore
from wizard.services.m365 import record
from wizard.services.m365.admin_sign_in import AdminSignIn
from wizard.services.m365.diagnosis import M365Error
from wizard.services.m365.directory import Directory, DirectoryError
from wizard.services.m365.endpoints import Endpoints
from wizard.services.m365.modes import SetupMode
from wizard.services.m365.record import Registration
from wizard.services.m365.setup import Progress

READ_SCOPES = ("Application.Read.All",)  # the application, its service principal, its app role assignments
READ_GRANT_SCOPES = ("DelegatedPermissionGrant.Read.All",)  # oauth2PermissionGrants (delegated modes only)


@dataclass(frozen=True)
class LiveKey:
    key_id: str
    thumbprint: str  # SHA-1, hex upper case ('' if the tenant does not say)
    display_name: str
    not_after: str  # ISO 8601
    in_use: bool  # the certificate this computer signs in with


@dataclass(frozen=True)
class LivePermission:
    id: str  # appRoleAssignment id or oauth2PermissionGrant id
    permission: str  # "Microsoft Graph Mail.Send (application)"


@dataclass(frozen=True)
class Difference:
    code: str  # app_deleted, service_principal_missing, key_missing, permission_revoked
    text: str


@dataclass(frozen=True)
class TenantView:
    """The app as it is in the tenant now (as read by `account`), and how it differs from the record."""

    account: str
    app_exists: bool
    app_id: str = ""
    display_name: str = ""
    keys: tuple[LiveKey, ...] = ()
    service_principal_id: str = ""
    permissions: tuple[LivePermission, ...] = ()
    differences: tuple[Difference, ...] = ()

    @property
    def matches(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        for name in ("keys", "permissions", "differences"):
            payload[name] = [asdict(item) for item in getattr(self, name)]
        return payload


def thumbprint_of(custom_key_identifier: object) -> str:
    """keyCredential.customKeyIdentifier -> hex thumbprint. Graph returns Edm.Binary (base64 of the SHA-1)."""
    text = str(custom_key_identifier or "")
    if re.fullmatch(r"[0-9A-Fa-f]{40}", text):
        return text.upper()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex().upper() if len(raw) == 20 else ""


def exchange_state(registration: Registration) -> str:
    """Exchange Online's part, from the record (Graph cannot read it): '' when the mode has none."""
    mode = SetupMode(registration.mode) if registration.mode in {m.value for m in SetupMode} else None
    if mode is SetupMode.SMTP_APP:
        if "exchange" in registration.pending:
            return ("still to do: Exchange Online does not know the app yet (the PowerShell below); from this "
                    "computer's record, Graph cannot read Exchange's settings")
        return "done (recorded when the set-up's check passed; Graph cannot read Exchange's settings)"
    if mode is SetupMode.GRAPH_APP:
        return ("not scoped by Mailwright: the app may send as every mailbox unless an Exchange administrator ran "
                "the scoping lines the set-up offered (Graph cannot read Exchange's settings)")
    return ""


def compare(registration: Registration, keys: tuple[LiveKey, ...], principal_id: str,
            permissions: tuple[LivePermission, ...], app_exists: bool = True) -> tuple[Difference, ...]:
    name, app = registration.profile, f"\u201c{registration.display_name}\u201d ({registration.app_id})"
    again = (f"forget it with \u201cmailwright m365 teardown {name} --keep-profile\u201d, then run "
             f"\u201cmailwright m365 setup {name}\u201d again")
    if not app_exists:
        return (Difference("app_deleted", f"The app {app} no longer exists in the tenant, so this profile cannot "
                                          f"send. Someone deleted it; {again}."),)
    found: list[Difference] = []
    if not principal_id:
        found.append(Difference("service_principal_missing",
                                f"The app {app} has no service principal (enterprise application) in the tenant, so "
                                f"it cannot sign in; {again}."))
    if registration.thumbprint and not any(k.in_use for k in keys):
        found.append(Difference("key_missing",
                                f"The certificate this computer signs in with ({registration.thumbprint}, valid until "
                                f"{registration.not_after[:10]}) is no longer on the app, so this profile cannot send. "
                                "Without it the app cannot add a new one itself: an administrator uploads a "
                                f"certificate in the Entra admin center, or {again}."))
    granted = {p.id for p in permissions}
    for grant in registration.grants:
        if grant.id not in granted:
            found.append(Difference("permission_revoked",
                                    f"{grant.permission} is no longer granted, so sending fails. An administrator "
                                    "grants it again in the Entra admin center (App registrations > "
                                    f"{registration.display_name} > API permissions > Grant admin consent)."))
    return tuple(found)


async def read_tenant(name: str, *, device: bool = False, admin_client_id: str = "",
                      progress: Progress | None = None) -> tuple[Registration, TenantView]:
    """Signs in as an administrator and reads the profile's app as it is now. Raises M365Error (not set up, the
    directory refused or failed) or the sign-in's own errors (OAuthError, SignInCancelledError, OSError: no
    browser); the caller falls back to the record alone."""
    progress = progress or Progress()
    registration = await asyncio.to_thread(record.load, name)
    if registration is None:
        raise M365Error("not_set_up", profile=name)
    profile = (await asyncio.to_thread(ConfigStore().load)).profiles.get(name)
    endpoints = Endpoints(registration.tenant_id, registration.authority, registration.graph_endpoint,
                          profile.ca_file if profile else "")
    delegated = not registration.thumbprint
    signer = AdminSignIn(endpoints, READ_SCOPES + (READ_GRANT_SCOPES if delegated else ()), admin_client_id)
    progress.on_step("sign_in", "Waiting for an administrator to sign in (read-only)…")
    session = await (signer.device(progress.on_device_code or (lambda _c: None)) if device
                     else signer.interactive(progress.open_browser))
    progress.on_step("application", "Reading the app in the tenant…")
    try:
        async with Directory(endpoints, session.access_token) as directory:
            view = await _read(directory, registration, delegated)
    except DirectoryError as exc:
        if exc.status == 403:
            raise M365Error("admin_role_required", detail=f"{exc.status} {exc.code}: {exc.message}",
                            action="read applications", roles="Global Reader, Application Administrator or "
                                                                "Cloud Application Administrator") from None
        raise M365Error("directory_error", detail=f"{exc.status} {exc.code}: {exc.message}", step=exc.step) from None
    return registration, TenantView(session.account, **view)


async def _read(directory: Directory, registration: Registration, delegated: bool) -> dict[str, Any]:
    application = await directory.application(registration.application_id)
    if application is None:
        return {"app_exists": False, "differences": compare(registration, (), "", (), app_exists=False)}
    keys = tuple(_key(k, registration) for k in application.get("keyCredentials") or [])
    app_id = str(application.get("appId", ""))
    principal = await directory.service_principal(app_id)
    principal_id = str(principal.get("id", "")) if principal else ""
    permissions: tuple[LivePermission, ...] = ()
    if principal_id:
        permissions = await _permissions(directory, principal_id, delegated)
    return {"app_exists": True, "app_id": app_id, "display_name": str(application.get("displayName", "")),
            "keys": keys, "service_principal_id": principal_id, "permissions": permissions,
            "differences": compare(registration, keys, principal_id, permissions)}


def _key(credential: dict[str, Any], registration: Registration) -> LiveKey:
    thumbprint = thumbprint_of(credential.get("customKeyIdentifier"))
    key_id = str(credential.get("keyId", ""))
    in_use = key_id == registration.key_id or bool(thumbprint and thumbprint == registration.thumbprint.upper())
    return LiveKey(key_id, thumbprint, str(credential.get("displayName") or ""),
                   str(credential.get("endDateTime", "")), in_use)


async def _permissions(directory: Directory, principal_id: str, delegated: bool) -> tuple[LivePermission, ...]:
    found: list[LivePermission] = []
    resources: dict[str, dict[str, Any] | None] = {}
    for assignment in await directory.app_role_assignments(principal_id):
        resource_id = str(assignment.get("resourceId", ""))
        if resource_id not in resources:
            resources[resource_id] = await directory.principal(resource_id)
        resource = resources[resource_id] or {}
        roles = {str(r.get("id")): str(r.get("value")) for r in resource.get("appRoles", [])}
        value = roles.get(str(assignment.get("appRoleId")), str(assignment.get("appRoleId", "")))
        name = str(assignment.get("resourceDisplayName") or resource.get("displayName") or resource_id)
        found.append(LivePermission(str(assignment.get("id", "")), f"{name} {value} (application)"))
    if delegated:
        for grant in await directory.delegated_grants(principal_id):
            resource_id = str(grant.get("resourceId", ""))
            if resource_id not in resources:
                resources[resource_id] = await directory.principal(resource_id)
            name = str((resources[resource_id] or {}).get("displayName") or resource_id)
            found.append(LivePermission(str(grant.get("id", "")),
                                        f"{name} {grant.get('scope', '')} (delegated, {grant.get('consentType', '')})"))
    return tuple(found)
