"""`set_up`: one administrator sign-in -> a registered app, its certificate, its grants, a saved profile, a check.

Steps (names are stable; the wizard shows them as a checklist, the CLI prints them as they go):
sign_in, tenant, certificate, application, grants, profile, replication, exchange, owner_sign_in, check.
Whatever exists in the tenant is recorded (record.py) the moment it exists, so a failure half-way can still be
undone with `teardown`.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from wizard.services import accounts, oauth, secrets
from wizard.services.check import CheckReport
from wizard.services.config import ConfigStore
from wizard.services.m365 import exchange, keypair, record
from wizard.services.m365.admin_sign_in import AdminSession, AdminSignIn
from wizard.services.m365.diagnosis import GRANT_ROLES, REGISTER_ROLES, M365Error
from wizard.services.m365.directory import Directory, DirectoryError, ResourcePrincipal
from wizard.services.m365.endpoints import Endpoints
from wizard.services.m365.modes import SetupMode
from wizard.services.m365.probe import app_is_known, check_with_retry
from wizard.services.m365.record import Grant, Registration
from wizard.services.m365.replication import (
    NotReadyError,
    ReplicationTimeoutError,
    WaitCallback,
    WaitPolicy,
    wait_until_ready,
)
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.oauth.loopback import BrowserOpener, open_system_browser
from wizard.services.oauth.microsoft import DeviceCodeCallback
from wizard.services.validation import validate_address

STEPS = ("sign_in", "tenant", "certificate", "application", "grants", "profile", "replication", "exchange",
         "owner_sign_in", "check")
StepCallback = Callable[[str, str], None]  # (step name, what happened) — called when a step starts and ends


@dataclass(frozen=True)
class SetupRequest:
    profile: str
    sender: str
    mode: SetupMode
    endpoints: Endpoints = field(default_factory=Endpoints)
    admin_client_id: str = ""
    device: bool = False
    cert_months: int = keypair.DEFAULT_MONTHS
    base: Profile | None = None  # connection settings to keep (an existing profile of that name)
    wait: WaitPolicy = field(default_factory=WaitPolicy)


@dataclass
class Progress:
    on_step: StepCallback = lambda _name, _text: None
    on_wait: WaitCallback | None = None
    on_device_code: DeviceCodeCallback | None = None
    open_browser: BrowserOpener = open_system_browser


@dataclass(frozen=True)
class SetupResult:
    registration: Registration
    profile: Profile
    report: CheckReport | None
    exchange_ran: bool = False
    exchange_output: str = ""

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok


def validate_request(request: SetupRequest) -> str:
    """'' or what is wrong with the input, in words (bad input: exit 2, before anyone signs in)."""
    problem = request.endpoints.validate()
    if problem:
        return problem
    try:
        validate_address(request.sender, "from address")
    except ValueError as exc:
        return str(exc)
    if not 1 <= request.cert_months <= keypair.MAX_MONTHS:
        return f"--cert-months is 1 to {keypair.MAX_MONTHS}, not {request.cert_months}."
    try:
        Profile(name=request.profile, from_address=request.sender, host="smtp.office365.com").validated()
    except ValueError as exc:
        return str(exc)
    return ""


async def admin_sign_in(request: SetupRequest, progress: Progress) -> AdminSession:
    signer = AdminSignIn(request.endpoints, request.mode.admin_scopes, request.admin_client_id)
    if request.device:
        return await signer.device(progress.on_device_code or (lambda _code: None))
    return await signer.interactive(progress.open_browser)


def _directory_failure(exc: DirectoryError, roles: str, action: str) -> M365Error:
    if exc.status == 403 or exc.code == "Authorization_RequestDenied":
        return M365Error("admin_role_required", detail=f"{exc.status} {exc.code}: {exc.message}", action=action,
                         roles=roles)
    return M365Error("directory_error", detail=f"{exc.status} {exc.code}: {exc.message}", step=exc.step)


async def set_up(request: SetupRequest, progress: Progress | None = None) -> SetupResult:
    """Raises M365Error (with a diagnosis), OAuthError or SignInCancelledError; otherwise the result (check inside)."""
    progress = progress or Progress()
    mode = request.mode
    existing = await asyncio.to_thread(record.load, request.profile)
    if existing is not None:
        raise M365Error("exists", profile=request.profile, app_id=existing.app_id)
    say = progress.on_step
    say("sign_in", "Waiting for the administrator to sign in" + (" with a device code" if request.device
                                                                  else " in the browser") + "…")
    session = await admin_sign_in(request, progress)
    say("sign_in", f"Signed in as {session.account or 'the administrator'}.")
    endpoints = request.endpoints
    async with Directory(endpoints, session.access_token) as directory:
        say("tenant", "Reading the tenant…")
        try:
            tenant = await directory.tenant()
            resources = await _resources(directory, mode)
        except DirectoryError as exc:
            raise _directory_failure(exc, REGISTER_ROLES, "read the tenant") from None
        domain = request.sender.rsplit("@", 1)[-1].lower()
        if domain not in tenant.verified_domains:
            raise M365Error("domain_not_verified", domain=domain, from_address=request.sender,
                            domains=", ".join(tenant.verified_domains) or "none")
        endpoints = endpoints.with_tenant(tenant.id or session.tenant_id or endpoints.tenant)
        say("tenant", f"Tenant {tenant.name or tenant.id}: {domain} is verified.")
        pair = None
        display_name = f"Mailwright \u2013 {request.profile} ({request.sender})"
        if mode.app_only:
            say("certificate", "Making a key and a certificate on this computer…")
            pair = await asyncio.to_thread(keypair.generate, display_name, request.cert_months)
            try:
                await asyncio.to_thread(keypair.save, request.profile, pair)
            except secrets.KeyringUnavailableError as exc:  # nothing was created in the tenant yet
                raise M365Error("keyring_unavailable", detail=str(exc)) from None
            say("certificate", f"Certificate {pair.thumbprint}, valid until {pair.not_after:%Y-%m-%d}.")
        say("application", "Registering the app…")
        try:
            created = await directory.create_application(_application_body(mode, display_name, request, resources,
                                                                            pair))
        except DirectoryError as exc:
            await asyncio.to_thread(keypair.forget, request.profile)
            raise _directory_failure(exc, REGISTER_ROLES, "register applications") from None
        keys = created.get("keyCredentials") or [{}]
        registration = Registration(
            profile=request.profile, mode=mode.value, tenant_id=endpoints.tenant, display_name=display_name,
            application_id=str(created["id"]), app_id=str(created["appId"]), service_principal_id="",
            sender=request.sender, authority=endpoints.authority, graph_endpoint=endpoints.graph_endpoint,
            key_id=str(keys[0].get("keyId", "")) if pair else "", thumbprint=pair.thumbprint if pair else "",
            not_after=pair.not_after.isoformat() if pair else "",
            created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            pending=("grants", "check"))
        await asyncio.to_thread(record.save, registration)
        say("application", f"App \u201c{display_name}\u201d registered (client id {registration.app_id}).")
        say("grants", "Granting the permissions…")
        try:
            principal = await wait_until_ready(lambda: _service_principal(directory, registration.app_id),
                                               request.wait, progress.on_wait)
            registration = replace(registration, service_principal_id=principal)
            await asyncio.to_thread(record.save, registration)
            grants = await _grant(directory, mode, principal, resources)
        except DirectoryError as exc:
            roles = GRANT_ROLES if mode.app_only else REGISTER_ROLES
            raise _directory_failure(exc, roles, "grant these permissions") from None
        except ReplicationTimeoutError as exc:
            raise M365Error("replication_timeout", detail=exc.reason, app_id=registration.app_id,
                            waited=f"{round(exc.waited_s)} s", profile=request.profile) from None
    registration = replace(registration, grants=grants, pending=("check",))
    say("grants", "Granted: " + ", ".join(g.permission for g in grants) + ".")
    profile = await _save_profile(request, endpoints, registration)
    say("profile", f"Profile \u201c{profile.name}\u201d saved.")
    return await finish(profile, registration, request.wait, progress, device=request.device)


async def finish(profile: Profile, registration: Registration, wait: WaitPolicy, progress: Progress, *,
                 device: bool = False) -> SetupResult:
    """Replication wait, the Exchange step, the owner's sign-in (delegated), the check. Also "Check again"."""
    say = progress.on_step
    mode = SetupMode(registration.mode)
    say("replication", "Waiting until Microsoft's sign-in service knows the new app…")
    try:
        await wait_until_ready(lambda: app_is_known(profile), wait, progress.on_wait)
    except ReplicationTimeoutError as exc:
        raise M365Error("replication_timeout", detail=exc.reason, app_id=registration.app_id,
                        waited=f"{round(exc.waited_s)} s", profile=profile.name) from None
    say("replication", "The app is known to the sign-in service.")
    ran, output = False, ""
    if mode.exchange_step:
        registration, ran, output = await _exchange(registration, say)
    if not mode.app_only:
        say("owner_sign_in", f"Now {registration.sender} signs in once (the mailbox owner; it may be you)…")
        signed = await oauth.login(profile, device=device, on_device_code=progress.on_device_code,
                                   open_browser=progress.open_browser)
        say("owner_sign_in", signed.message)
    say("check", "Checking the connection…")
    retry = not (mode.exchange_step and not ran)
    report = await check_with_retry(profile, wait if retry else None, progress.on_wait)
    pending = () if report.ok else registration.pending  # a passed check proves every earlier step
    registration = replace(registration, pending=pending)
    await asyncio.to_thread(record.save, registration)
    say("check", "The check passed." if report.ok else f"The check failed: {report.diagnosis.title}."
        if report.diagnosis else "The check failed.")
    return SetupResult(registration, profile, report, ran, output)


async def _exchange(registration: Registration, say: StepCallback) -> tuple[Registration, bool, str]:
    script = exchange.smtp_app_script(registration.app_id, registration.service_principal_id,
                                      registration.display_name, registration.sender)
    registration = replace(registration, exchange_script=script)
    shell = await exchange.find_powershell()
    if shell is None or not shell.has_exchange_module:
        registration = replace(registration, pending=("exchange", *[p for p in registration.pending
                                                                     if p != "exchange"]))
        await asyncio.to_thread(record.save, registration)
        missing = "PowerShell 7 (pwsh)" if shell is None else "the ExchangeOnlineManagement module"
        say("exchange", f"Exchange Online must allow the app; {missing} is not installed here, so run this "
            f"PowerShell as an Exchange administrator:\n{script}")
        return registration, False, ""
    say("exchange", "Running the Exchange Online step in PowerShell (sign in as an Exchange administrator)…")
    result = await exchange.run(shell, script)
    if result.exit_code != 0:
        say("exchange", f"PowerShell failed (exit {result.exit_code}); run the script yourself:\n{script}")
        return replace(registration, pending=("exchange", *registration.pending)), False, result.output
    say("exchange", "Exchange Online now allows the app.")
    return replace(registration, pending=tuple(p for p in registration.pending if p != "exchange")), True, \
        result.output


async def _resources(directory: Directory, mode: SetupMode) -> dict[str, ResourcePrincipal]:
    found: dict[str, ResourcePrincipal] = {}
    for permission in mode.permissions:
        if permission.resource_app_id not in found:
            principal = await directory.resource(permission.resource_app_id)
            if principal is None:
                raise M365Error("resource_missing", resource=permission.resource_name, permission=permission.value)
            found[permission.resource_app_id] = principal
        principal = found[permission.resource_app_id]
        if permission.value not in (principal.app_roles if permission.application else principal.scopes):
            raise M365Error("resource_missing", resource=permission.resource_name, permission=permission.value)
    return found


def _application_body(mode: SetupMode, display_name: str, request: SetupRequest,
                      resources: dict[str, ResourcePrincipal], pair: keypair.KeyPair | None) -> dict[str, object]:
    access: dict[str, list[dict[str, str]]] = {}
    for permission in mode.permissions:
        principal = resources[permission.resource_app_id]
        if permission.application:
            access.setdefault(permission.resource_app_id, []).append(
                {"id": principal.app_roles[permission.value], "type": "Role"})
        else:
            access.setdefault(permission.resource_app_id, []).append(
                {"id": principal.scopes[permission.value], "type": "Scope"})
    body: dict[str, object] = {
        "displayName": display_name,
        "description": f"Created by Mailwright for its profile {request.profile}: sends mail as {request.sender}.",
        "signInAudience": "AzureADMyOrg",
        "requiredResourceAccess": [{"resourceAppId": app_id, "resourceAccess": items}
                                   for app_id, items in access.items()],
    }
    if pair is not None:
        body["keyCredentials"] = [pair.key_credential(f"Mailwright {request.profile}")]
    if not mode.app_only:
        body["publicClient"] = {"redirectUris": ["http://localhost"]}
        body["isFallbackPublicClient"] = True  # device-code sign-in for a mailbox owner without a browser here
    return body


async def _service_principal(directory: Directory, app_id: str) -> str:
    try:
        return await directory.create_service_principal(app_id)
    except DirectoryError as exc:
        if exc.status in {400, 404} and exc.code != "Authorization_RequestDenied":
            raise NotReadyError(f"{exc.status} {exc.code}: {exc.message}") from None  # the app is replicating
        raise


async def _grant(directory: Directory, mode: SetupMode, principal: str,
                 resources: dict[str, ResourcePrincipal]) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    delegated: dict[str, list[str]] = {}
    for permission in mode.permissions:
        resource = resources[permission.resource_app_id]
        if permission.application:
            assignment = await directory.assign_app_role(principal, resource.id, resource.app_roles[permission.value])
            grants.append(Grant(permission.describe(), assignment))
        else:
            delegated.setdefault(permission.resource_app_id, []).append(permission.value)
    for app_id, values in delegated.items():
        grant_id = await directory.grant_delegated(principal, resources[app_id].id, " ".join(values))
        names = ", ".join(values)
        grants.append(Grant(f"{resources[app_id].name or app_id} {names} (delegated, all users)", grant_id))
    return tuple(grants)


async def _save_profile(request: SetupRequest, endpoints: Endpoints, registration: Registration) -> Profile:
    mode = request.mode
    base = request.base or Profile(name=request.profile)
    values: dict[str, object] = {
        "provider": mode.provider, "auth": mode.auth, "from_address": request.sender, "username": request.sender,
        "tenant": endpoints.tenant, "client_id": registration.app_id, "authority": endpoints.authority,
        "graph_endpoint": endpoints.graph_endpoint, "ca_file": endpoints.ca_file or base.ca_file,
        "certificate_path": str(keypair.key_path(request.profile)) if mode.app_only else "",
        "certificate_thumbprint": registration.thumbprint, "client_secret_expires": ""}
    if mode.provider is ProviderKind.M365_SMTP and (base.provider is not ProviderKind.M365_SMTP or not base.host):
        values.update(host="smtp.office365.com", port=587, security=Security.STARTTLS)
    profile = replace(base, **values)  # type: ignore[arg-type]
    await asyncio.to_thread(accounts.save_profile, profile, None, ConfigStore())
    return profile.validated()
