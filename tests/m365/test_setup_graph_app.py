"""graph-app set up end to end through msal, httpx and the local tenant: one admin sign-in -> a passing check."""

from __future__ import annotations

import stat

import pytest

from tests.m365.conftest import SENDER, Tenant
from wizard.services import m365, secrets
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair
from wizard.services.model import AuthMode, ProviderKind
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]


async def test_graph_app_setup_registers_grants_saves_and_passes_the_check(tenant: Tenant,
                                                                          profile_name: str) -> None:
    steps: list[tuple[str, str]] = []
    ticks: list[m365.WaitTick] = []

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP),
                               m365.Progress(on_step=lambda n, t: steps.append((n, t)), on_wait=ticks.append))

    assert result.ok, result.report
    application = tenant.directory.only_application()
    assert profile_name in application["displayName"] and SENDER in application["displayName"]
    assert "Mailwright" in application["displayName"]
    assert application["signInAudience"] == "AzureADMyOrg"
    assert "passwordCredentials" not in application and "publicClient" not in application
    graph = tenant.directory.resource(m365.modes.GRAPH_APP_ID)
    assert application["requiredResourceAccess"] == [{"resourceAppId": m365.modes.GRAPH_APP_ID, "resourceAccess": [
        {"id": graph.app_roles["Mail.Send"], "type": "Role"}]}]
    assert [a["value"] for a in tenant.directory.role_assignments] == ["Mail.Send"]
    assert tenant.directory.delegated_grants == []
    # The admin was asked for exactly what graph-app needs.
    scopes = tenant.idp.authorize_requests[0]["scope"].split()
    assert {s.rsplit("/", 1)[-1] for s in scopes} >= {"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
    assert not any("Directory." in s or "RoleManagement" in s or "DelegatedPermissionGrant" in s for s in scopes)
    # Replication: the first token request met AADSTS700016, Mailwright waited visibly, then went on.
    assert ticks and ticks[0].reason.startswith("unauthorized_client")
    assert [name for name, _ in steps if name == "replication"]
    # The profile sends app-only with the certificate; the key is encrypted at rest, its passphrase in the keyring.
    profile = ConfigStore().load().profile(profile_name)
    assert (profile.provider, profile.auth) == (ProviderKind.GRAPH, AuthMode.CLIENT_CERTIFICATE)
    assert profile.client_id == application["appId"] and profile.tenant == result.registration.tenant_id
    pem = keypair.key_path(profile_name).read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem and b"BEGIN PRIVATE KEY" not in pem
    assert stat.S_IMODE(keypair.key_path(profile_name).stat().st_mode) == 0o600
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE)
    assert keypair.load(profile_name).key.key_size >= 2048
    # What was created is recorded with the profile.
    registration = m365.registration(profile_name)
    assert registration is not None and registration.application_id == application["id"]
    assert registration.thumbprint == profile.certificate_thumbprint
    assert registration.key_id == application["keyCredentials"][0]["keyId"]
    assert registration.pending == ()
    # The check's sendMail probe used the new app's own token.
    assert tenant.graph.requests[-1].path == f"/v1.0/users/{SENDER}/sendMail"
