"""Every way the admin set-up fails, through the real msal/httpx code, in plain words naming what to do."""

from __future__ import annotations

import pytest

from tests.gui.conftest import no_keyring
from tests.m365.conftest import Tenant
from wizard.services import m365
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair
from wizard.services.m365.diagnosis import GRANT_ROLES, REGISTER_ROLES

__all__ = ["no_keyring"]

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]


async def _fails(tenant: Tenant, name: str, mode: m365.SetupMode = m365.SetupMode.GRAPH_APP,
                 **values: object) -> m365.M365Error:
    with pytest.raises(m365.M365Error) as caught:
        await m365.set_up(tenant.request(name, mode, **values))
    return caught.value


async def test_a_user_without_a_directory_role_is_told_which_roles_can_register(tenant: Tenant,
                                                                               profile_name: str) -> None:
    tenant.directory.admin_roles = set()

    error = await _fails(tenant, profile_name)

    assert error.diagnosis.code == "admin_role_required"
    assert REGISTER_ROLES in error.diagnosis.explanation and "manual guide" in error.diagnosis.fix
    assert "Authorization_RequestDenied" in error.diagnosis.detail
    assert tenant.directory.applications == {} and not keypair.key_path(profile_name).exists()
    assert m365.registration(profile_name) is None and profile_name not in ConfigStore().load().profiles


async def test_an_application_administrator_cannot_grant_app_roles_and_the_app_stays_recorded(
        tenant: Tenant, profile_name: str) -> None:
    tenant.directory.admin_roles = {"Application Administrator"}

    error = await _fails(tenant, profile_name)

    assert error.diagnosis.code == "admin_role_required" and GRANT_ROLES in error.diagnosis.explanation
    registration = m365.registration(profile_name)
    assert registration is not None and registration.application_id in tenant.directory.applications
    assert "grants" in registration.pending


@pytest.mark.parametrize(("error", "description", "code"), [
    ("consent_required", "AADSTS65001: The user or administrator has not consented to use the application.",
     "admin_consent_required"),
    ("invalid_request", "AADSTS90094: The grant requires admin permission.", "admin_consent_required"),
    ("access_denied", "AADSTS65004: User declined to consent to access the app.", "consent_declined"),
    ("invalid_client", "AADSTS65002: Consent between first party application and first party resource must be "
                       "configured via preauthorization.", "client_not_authorized"),
])
async def test_sign_in_refusals_are_each_explained(tenant: Tenant, profile_name: str, error: str,
                                                   description: str, code: str) -> None:
    tenant.idp.authorize_error = (error, description)

    caught = await _fails(tenant, profile_name)

    assert caught.diagnosis.code == code
    assert description.split(":")[0] in caught.diagnosis.detail
    assert tenant.directory.calls == []


async def test_a_non_admin_is_told_the_roles_that_can_consent(tenant: Tenant, profile_name: str) -> None:
    tenant.idp.authorize_error = ("invalid_request", "AADSTS90094: The grant requires admin permission.")

    caught = await _fails(tenant, profile_name)

    assert REGISTER_ROLES in caught.diagnosis.explanation and GRANT_ROLES in caught.diagnosis.explanation
    assert "AppRoleAssignment.ReadWrite.All" in caught.diagnosis.explanation


async def test_conditional_access_at_the_token_endpoint(tenant: Tenant, profile_name: str) -> None:
    tenant.idp.fail_next_token(400, "invalid_grant", 53003, "Access has been blocked by Conditional Access policies.")

    caught = await _fails(tenant, profile_name)

    assert caught.diagnosis.code == "conditional_access" and "Device-code" in caught.diagnosis.explanation


async def test_a_sender_outside_the_tenants_verified_domains(tenant: Tenant, profile_name: str) -> None:
    caught = await _fails(tenant, profile_name, sender="news@elsewhere.example")

    assert caught.diagnosis.code == "domain_not_verified"
    assert "elsewhere.example" in caught.diagnosis.title and "example.com" in caught.diagnosis.explanation
    assert not any(call.startswith("POST") for call in tenant.directory.calls)


async def test_an_unknown_tenant_points_at_national_clouds(tenant: Tenant, profile_name: str) -> None:
    endpoints = m365.Endpoints("no-such-tenant.example", tenant.idp.url, tenant.graph.url, tenant.ca_file)

    caught = await _fails(tenant, profile_name, endpoints=endpoints)

    assert caught.diagnosis.code == "tenant_not_found" and "login.microsoftonline.us" in caught.diagnosis.fix


async def test_a_tenant_without_exchange_online_cannot_do_smtp(tenant: Tenant, profile_name: str) -> None:
    del tenant.directory.principals[tenant.directory.resource(m365.modes.EXCHANGE_APP_ID).id]

    caught = await _fails(tenant, profile_name, m365.SetupMode.SMTP_APP)

    assert caught.diagnosis.code == "resource_missing" and "Exchange Online" in caught.diagnosis.title


async def test_replication_that_outlasts_the_bound_ends_with_what_to_run_later(tenant: Tenant,
                                                                              profile_name: str) -> None:
    tenant.directory.replication_delay = 10_000

    caught = await _fails(tenant, profile_name, wait=m365.WaitPolicy(limit_s=0.3, first_delay_s=0.05,
                                                                     max_delay_s=0.1))

    assert caught.diagnosis.code == "replication_timeout"
    assert "700016" in caught.diagnosis.explanation and f"check --profile {profile_name}" in caught.diagnosis.fix
    # The profile exists (the app does too): nothing has to be created again.
    assert profile_name in ConfigStore().load().profiles


async def test_the_service_principal_is_retried_while_the_application_replicates(tenant: Tenant,
                                                                                 profile_name: str) -> None:
    tenant.directory.sp_replication_delay = 2

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP))

    assert result.ok
    assert tenant.directory.calls.count("POST /servicePrincipals") == 3


async def test_a_second_setup_of_the_same_profile_is_refused(tenant: Tenant, profile_name: str) -> None:
    await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP))

    caught = await _fails(tenant, profile_name)

    assert caught.diagnosis.code == "exists" and "teardown" in caught.diagnosis.fix
    assert len(tenant.directory.applications) == 1



async def test_without_a_keyring_nothing_is_created(tenant: Tenant, profile_name: str, no_keyring: None) -> None:
    caught = await _fails(tenant, profile_name)

    assert caught.diagnosis.code == "keyring_unavailable"
    assert tenant.directory.applications == {} and not keypair.key_path(profile_name).exists()
