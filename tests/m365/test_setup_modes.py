"""The other three modes through the real msal/httpx/aiosmtplib code: delegated Graph, delegated SMTP, app-only
SMTP with its Exchange step (PowerShell absent: the script to copy; present: it runs)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.fixtures.xoauth2_smtp import XOAuth2Server
from tests.m365.conftest import FAST, SENDER, Tenant
from wizard.services import m365
from wizard.services.config import ConfigStore
from wizard.services.m365.modes import EXCHANGE_APP_ID, GRAPH_APP_ID
from wizard.services.model import AuthMode, Profile, ProviderKind

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]


def _smtp_base(name: str, server: XOAuth2Server, ca_file: str) -> Profile:
    return Profile(name=name, provider=ProviderKind.M365_SMTP, host=server.host, port=server.port, ca_file=ca_file)


async def test_graph_delegated_grants_for_all_users_and_the_owner_signs_in(tenant: Tenant, profile_name: str) -> None:
    steps: list[str] = []

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_DELEGATED),
                               m365.Progress(on_step=lambda name, _t: steps.append(name)))

    assert result.ok, result.report
    application = tenant.directory.only_application()
    assert application["publicClient"] == {"redirectUris": ["http://localhost"]}
    assert "keyCredentials" not in application or application["keyCredentials"] == []
    graph = tenant.directory.resource(GRAPH_APP_ID)
    assert application["requiredResourceAccess"] == [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
        {"id": graph.scopes["Mail.Send"], "type": "Scope"}, {"id": graph.scopes["offline_access"], "type": "Scope"}]}]
    [grant] = tenant.directory.delegated_grants
    assert (grant["consentType"], grant["scope"], grant["resourceId"]) == ("AllPrincipals", "Mail.Send offline_access",
                                                                            graph.id)
    assert tenant.directory.role_assignments == []
    admin_scopes = tenant.idp.authorize_requests[0]["scope"]
    assert "DelegatedPermissionGrant.ReadWrite.All" in admin_scopes and "AppRoleAssignment" not in admin_scopes
    owner = tenant.idp.authorize_requests[-1]
    assert owner["client_id"] == application["appId"] and "Mail.Send" in owner["scope"]
    assert "owner_sign_in" in steps and "certificate" not in steps
    profile = ConfigStore().load().profile(profile_name)
    assert (profile.provider, profile.auth, profile.certificate_path) == (ProviderKind.GRAPH,
                                                                         AuthMode.OAUTH_INTERACTIVE, "")


async def test_smtp_delegated_sends_through_xoauth2(tenant: Tenant, xoauth2_smtp_server: XOAuth2Server,
                                                   profile_name: str) -> None:
    base = _smtp_base(profile_name, xoauth2_smtp_server, tenant.ca_file)

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.SMTP_DELEGATED, base=base))

    assert result.ok, result.report
    exchange = tenant.directory.resource(EXCHANGE_APP_ID)
    scopes = {g["resourceId"]: g["scope"] for g in tenant.directory.delegated_grants}
    assert scopes == {exchange.id: "SMTP.Send", tenant.directory.resource(GRAPH_APP_ID).id: "offline_access"}
    assert xoauth2_smtp_server.handler.authenticated_as == [SENDER]
    profile = ConfigStore().load().profile(profile_name)
    assert (profile.provider, profile.host, profile.port) == (ProviderKind.M365_SMTP, xoauth2_smtp_server.host,
                                                              xoauth2_smtp_server.port)


async def test_smtp_app_without_powershell_shows_the_script_then_passes_once_exchange_allows_it(
        tenant: Tenant, xoauth2_smtp_server: XOAuth2Server, profile_name: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pwsh anywhere
    handler = xoauth2_smtp_server.handler
    handler.audience = "https://outlook.office365.com"
    handler.exchange_apps = {}
    steps: list[tuple[str, str]] = []

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.SMTP_APP,
                                              base=_smtp_base(profile_name, xoauth2_smtp_server, tenant.ca_file)),
                               m365.Progress(on_step=lambda n, t: steps.append((n, t))))

    assert not result.ok and result.report is not None and result.report.diagnosis is not None
    assert "5.7.3" in result.report.diagnosis.detail
    registration = result.registration
    assert registration.pending == ("exchange", "check")
    principal = tenant.directory.principal_of(registration.app_id)
    assert principal is not None
    assert f"New-ServicePrincipal -AppId '{registration.app_id}' -ObjectId '{principal.id}'" in \
        registration.exchange_script
    assert f"Add-MailboxPermission -Identity '{SENDER}' -User '{principal.id}'" in registration.exchange_script
    assert any(name == "exchange" and registration.exchange_script in text for name, text in steps)
    assert [a["value"] for a in tenant.directory.role_assignments] == ["SMTP.SendAsApp"]

    handler.exchange_apps = {registration.app_id: {SENDER}}  # the admin ran the lines
    again = await m365.finish(result.profile, registration, FAST, m365.Progress())

    assert again.ok, again.report
    assert m365.registration(profile_name).pending == ()  # type: ignore[union-attr]


_PWSH = """#!{python}
import pathlib, sys
if "-NonInteractive" in sys.argv:
    sys.exit(0)  # Get-Module -ListAvailable ExchangeOnlineManagement: installed
pathlib.Path({log!r}).write_text(sys.stdin.read())
print("ok")
"""


async def test_smtp_app_runs_the_exchange_step_when_powershell_is_installed(
        tenant: Tenant, xoauth2_smtp_server: XOAuth2Server, profile_name: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    log = tmp_path / "pwsh-stdin.txt"
    pwsh = tmp_path / "pwsh"
    pwsh.write_text(_PWSH.format(python=sys.executable, log=str(log)))
    pwsh.chmod(pwsh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.SMTP_APP,
                                              base=_smtp_base(profile_name, xoauth2_smtp_server, tenant.ca_file)))

    assert result.ok and result.exchange_ran, result.report
    assert log.read_text().startswith("Connect-ExchangeOnline\nNew-ServicePrincipal -AppId "
                                      f"'{result.registration.app_id}'")
    assert result.registration.pending == ()


async def test_the_admin_may_sign_in_with_a_device_code_instead(tenant: Tenant, profile_name: str) -> None:
    tenant.idp.auto_approve_devices_as = SENDER  # the admin signs in on another device as soon as the code exists
    shown: list[str] = []

    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP, device=True),
                               m365.Progress(on_device_code=lambda code: shown.append(code.user_code)))

    assert result.ok, result.report
    assert len(shown) == 1 and tenant.idp.authorize_requests == []  # no browser was involved
    assert tenant.idp.grant_types[0] == "urn:ietf:params:oauth:grant-type:device_code"
