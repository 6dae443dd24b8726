"""`mailwright m365 show NAME` reads the tenant as it is now (an administrator signs in, read-only, through $BROWSER)
and names where it differs from this computer's record; --offline and a sign-in that cannot happen show the record."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.m365.conftest import Tenant
from wizard.services import m365

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]
GRAPH_MAIL_SEND = "Microsoft Graph Mail.Send (application)"


async def _set_up(tenant: Tenant, name: str, mode: m365.SetupMode = m365.SetupMode.GRAPH_APP) -> m365.Registration:
    result = await m365.set_up(tenant.request(name, mode))
    assert result.ok, result.report
    return result.registration


async def _show(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(mailwright, "m365", "show", *args)


async def _show_json(name: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = await _show(name, "--json", *args)
    return result.returncode, as_json(result)


async def test_an_intact_app_is_read_from_the_tenant_and_matches(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    sign_ins = len(tenant.idp.authorize_requests)

    code, shown = await _show_json(profile_name)

    assert code == 0 and shown["ok"] and not shown["offline"] and shown["differences"] == []
    live = shown["live"]
    assert live["app_exists"] and live["app_id"] == registration.app_id
    assert live["display_name"] == registration.display_name
    assert live["service_principal_id"] == registration.service_principal_id
    [key] = live["keys"]
    assert key["in_use"] and key["thumbprint"] == registration.thumbprint and key["key_id"] == registration.key_id
    assert key["not_after"][:10] == registration.not_after[:10]
    assert [p["permission"] for p in live["permissions"]] == [GRAPH_MAIL_SEND]
    assert "every mailbox" in shown["exchange"]
    # One more administrator sign-in, asking only to read.
    [request] = tenant.idp.authorize_requests[sign_ins:]
    scopes = {s.rsplit("/", 1)[-1] for s in request["scope"].split()}
    assert "Application.Read.All" in scopes and not any("ReadWrite" in s for s in scopes)
    text = await _show(profile_name)
    assert text.returncode == 0, text.stderr
    assert "In the tenant now (read as app@example.com):" in text.stdout
    assert f"{registration.thumbprint}, expires {registration.not_after[:10]} (the one this computer signs in with)" \
        in text.stdout
    assert f"Granted:           {GRAPH_MAIL_SEND}" in text.stdout
    assert text.stdout.rstrip().endswith("The tenant matches this computer's record.")


async def test_a_key_deleted_in_the_tenant_is_named(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    tenant.directory.delete_key_credential(registration.application_id, registration.key_id)

    code, shown = await _show_json(profile_name)

    assert code == 1 and not shown["ok"] and shown["differences"] == ["key_missing"]
    assert shown["live"]["keys"] == [] and shown["diagnosis"]["code"] == "tenant_changed"
    text = await _show(profile_name)
    assert text.returncode == 1
    assert "Certificates:      none" in text.stdout
    assert f"The certificate this computer signs in with ({registration.thumbprint}" in text.stdout
    assert "is no longer on the app" in text.stdout


async def test_a_revoked_permission_is_named(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    [grant] = registration.grants
    tenant.directory.revoke_app_role(grant.id)

    code, shown = await _show_json(profile_name)

    assert code == 1 and shown["differences"] == ["permission_revoked"]
    assert shown["live"]["permissions"] == [] and [k["in_use"] for k in shown["live"]["keys"]] == [True]
    assert f"{GRAPH_MAIL_SEND} is no longer granted" in shown["diagnosis"]["explanation"]


async def test_a_deleted_app_is_named(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    tenant.directory.delete_application_in_portal(registration.application_id)

    code, shown = await _show_json(profile_name)

    assert code == 1 and shown["differences"] == ["app_deleted"] and not shown["live"]["app_exists"]
    text = await _show(profile_name)
    assert "App:               none: it was deleted from the tenant" in text.stdout
    assert f"mailwright m365 teardown {profile_name} --keep-profile" in text.stdout
    assert f"Client id:         {registration.app_id}" in text.stdout  # the record is still shown


async def test_delegated_grants_are_read_with_their_own_read_scope(tenant: Tenant, profile_name: str) -> None:
    await _set_up(tenant, profile_name, m365.SetupMode.GRAPH_DELEGATED)

    code, shown = await _show_json(profile_name)

    assert code == 0 and shown["differences"] == [], shown
    assert [p["permission"] for p in shown["live"]["permissions"]] == [
        "Microsoft Graph Mail.Send offline_access (delegated, AllPrincipals)"]
    assert shown["live"]["keys"] == []
    scopes = tenant.idp.authorize_requests[-1]["scope"]
    assert "DelegatedPermissionGrant.Read.All" in scopes and "ReadWrite" not in scopes


async def test_offline_prints_the_record_without_signing_in(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    tenant.directory.delete_application_in_portal(registration.application_id)
    sign_ins = len(tenant.idp.authorize_requests)

    code, shown = await _show_json(profile_name, "--offline")
    text = await _show(profile_name, "--offline")

    assert code == 0 and shown["ok"] and shown["offline"] and "live" not in shown
    assert shown["registration"]["app_id"] == registration.app_id
    assert text.returncode == 0 and f"Client id:         {registration.app_id}" in text.stdout
    assert len(tenant.idp.authorize_requests) == sign_ins


async def test_without_a_possible_sign_in_the_record_is_shown_with_a_note(tenant: Tenant, profile_name: str,
                                                                          system_browser: Path) -> None:
    registration = await _set_up(tenant, profile_name)
    await asyncio.to_thread(system_browser.write_text, "#!/bin/sh\nexit 1\n")  # no browser can start here

    text = await _show(profile_name)
    code, shown = await _show_json(profile_name)

    assert text.returncode == 1
    assert "No administrator could sign in" in text.stderr and "No web browser could be started" in text.stderr
    assert "The tenant could not be read, so this is only this computer's record" in text.stderr
    assert "This computer's record (not checked against the tenant):" in text.stdout
    assert f"Client id:         {registration.app_id}" in text.stdout
    assert code == 1 and not shown["ok"] and shown["offline"] and shown["live"] is None
    assert shown["diagnosis"]["code"] == "sign_in_impossible" and shown["registration"]["app_id"] == registration.app_id


async def test_a_refused_sign_in_shows_the_record_with_the_reason(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    tenant.idp.authorize_error = ("access_denied", "AADSTS65004: User declined to consent to access the app.")

    code, shown = await _show_json(profile_name)

    assert code == 1 and not shown["ok"] and shown["live"] is None and shown["offline"]
    assert shown["diagnosis"]["code"] == "consent_declined"
    assert "could not be read" in shown["note"] and shown["registration"]["key_id"] == registration.key_id
