"""Pure parts: the Azure registration guide, diagnosis mapping, authority and scope selection."""

from __future__ import annotations

import time

import pytest

from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.oauth import azure_guide
from wizard.services.oauth.errors import diagnose_token_response
from wizard.services.oauth.microsoft import authority_for, scopes_for

APP = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def test_powershell_uses_enterprise_object_id_and_mailbox() -> None:
    plan = azure_guide.powershell_for_app_only_smtp(APP, "app@contoso.com", "99999999-8888-4777-8666-555555555555",
                                                    send_as="info@contoso.com")
    assert f"New-ServicePrincipal -AppId {APP} -ObjectId 99999999-8888-4777-8666-555555555555" in plan.text
    assert "Add-MailboxPermission -Identity 'app@contoso.com'" in plan.text
    assert "Add-RecipientPermission -Identity 'info@contoso.com'" in plan.text and "SendAs" in plan.text
    assert any("Application SMTP.SendAsApp" in line for line in plan.rbac_alternative)


def test_admin_consent_url() -> None:
    profile = Profile(name="p", tenant="contoso.com", client_id=APP)
    url = azure_guide.admin_consent_url(profile)
    assert url.startswith("https://login.microsoftonline.com/contoso.com/v2.0/adminconsent?client_id=" + APP)
    assert "scope=https%3A%2F%2Foutlook.office365.com%2F.default" in url


def test_secret_id_pasted_instead_of_value_is_warned() -> None:
    assert "Secret ID" in (azure_guide.secret_warning("0f9e8d7c-6b5a-4948-8372-615e4d3c2b1a") or "")
    assert azure_guide.secret_warning("abC8Q~" + "x" * 34) is None


def test_secret_expiry_warned_30_days_ahead() -> None:
    now = time.mktime((2026, 11, 24, 12, 0, 0, 0, 0, 0))
    assert azure_guide.secret_expiry_warning("2027-06-01", now) is None
    assert "expires in 20 days" in (azure_guide.secret_expiry_warning("2026-12-14", now) or "")
    assert "expired" in (azure_guide.secret_expiry_warning("2026-01-01", now) or "")


@pytest.mark.parametrize(("value", "ok"), [(APP, True), ("contoso.com", True), ("organizations", True),
                                          ("not a tenant", False), ("1234", False)])
def test_tenant_validation(value: str, ok: bool) -> None:
    assert (azure_guide.validate_tenant(value) is None) is ok


@pytest.mark.parametrize(("description", "code"), [
    ("AADSTS7000215: Invalid client secret provided.", "invalid_client_secret"),
    ("AADSTS7000222: The provided client secret keys are expired.", "client_secret_expired"),
    ("AADSTS700016: Application not found.", "app_not_found"),
    ("AADSTS90002: Tenant not found.", "tenant_not_found"),
    ("AADSTS65001: The user has not consented.", "consent_required"),
    ("AADSTS50076: Due to a configuration change ... must use multi-factor", "mfa_required"),
    ("AADSTS50020: User account from identity provider does not exist", "personal_account"),
    ("AADSTS7000218: The request body must contain client_assertion", "public_client_disabled"),
    ("AADSTS700082: The refresh token has expired due to inactivity.", "token_expired"),
    ("AADSTS530035: Access has been blocked by security defaults.", "security_defaults"),
])
def test_aadsts_codes_become_diagnoses(description: str, code: str) -> None:
    diagnosis = diagnose_token_response({"error": "invalid_grant", "error_description": description + " Trace ID: x"})
    assert diagnosis.code == code
    assert "Trace ID" not in diagnosis.detail and diagnosis.fix


def test_plain_oauth_invalid_grant_without_aadsts_is_token_expired() -> None:
    assert diagnose_token_response({"error": "invalid_grant", "error_description": "Token has been expired"}
                                   ).code == "token_expired"


def test_authority_and_scopes_per_cloud_and_mode() -> None:
    gov = Profile(name="p", tenant="t", authority="https://login.microsoftonline.us")
    assert authority_for(gov).url == "https://login.microsoftonline.us/t" and authority_for(gov).instance_discovery
    local = Profile(name="p", authority="https://127.0.0.1:8443/t2")
    assert authority_for(local).url == "https://127.0.0.1:8443/t2" and not authority_for(local).instance_discovery
    assert scopes_for(Profile(name="p", provider=ProviderKind.M365_SMTP)) == ["https://outlook.office.com/SMTP.Send"]
    assert scopes_for(Profile(name="p", auth=AuthMode.CLIENT_SECRET)) == ["https://outlook.office365.com/.default"]
    graph_gov = Profile(name="p", provider=ProviderKind.GRAPH, auth=AuthMode.CLIENT_SECRET, authority=gov.authority)
    assert scopes_for(graph_gov) == ["https://graph.microsoft.us/.default"]
