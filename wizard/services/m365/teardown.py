"""Undoing a set-up: the administrator signs in, the app is deleted (its service principal and grants go with
it), and this computer forgets the key, the record and, unless kept, the profile."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from wizard.services import accounts, oauth
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair, record
from wizard.services.m365.admin_sign_in import AdminSignIn
from wizard.services.m365.diagnosis import REGISTER_ROLES, M365Error
from wizard.services.m365.directory import Directory, DirectoryError
from wizard.services.m365.endpoints import Endpoints
from wizard.services.m365.modes import REGISTER_SCOPES
from wizard.services.m365.setup import Progress


@dataclass(frozen=True)
class TeardownResult:
    profile: str
    app_deleted: bool  # False: it was already gone from the tenant
    profile_removed: bool


async def tear_down(name: str, *, keep_profile: bool = False, device: bool = False, admin_client_id: str = "",
                    progress: Progress | None = None) -> TeardownResult:
    progress = progress or Progress()
    registration = await asyncio.to_thread(record.load, name)
    if registration is None:
        raise M365Error("not_set_up", profile=name)
    profile = ConfigStore().load().profiles.get(name)
    endpoints = Endpoints(registration.tenant_id, registration.authority, registration.graph_endpoint,
                          profile.ca_file if profile else "")
    signer = AdminSignIn(endpoints, REGISTER_SCOPES, admin_client_id)
    progress.on_step("sign_in", "Waiting for the administrator to sign in…")
    session = await (signer.device(progress.on_device_code or (lambda _c: None)) if device
                     else signer.interactive(progress.open_browser))
    progress.on_step("application", f"Deleting \u201c{registration.display_name}\u201d…")
    try:
        async with Directory(endpoints, session.access_token) as directory:
            deleted = await directory.delete_application(registration.application_id)
    except DirectoryError as exc:
        if exc.status == 403:
            raise M365Error("admin_role_required", detail=f"{exc.status} {exc.code}: {exc.message}",
                            action="delete applications", roles=REGISTER_ROLES) from None
        raise M365Error("directory_error", detail=f"{exc.status} {exc.code}: {exc.message}", step=exc.step) from None
    await asyncio.to_thread(keypair.forget, name)
    await asyncio.to_thread(record.delete, name)
    removed = False
    if not keep_profile and profile is not None:
        await asyncio.to_thread(accounts.remove_profile, name)
        await asyncio.to_thread(oauth.forget_profile, name)
        removed = True
    progress.on_step("application", "The app was deleted." if deleted else "The app was already gone.")
    return TeardownResult(name, deleted, removed)
