"""Fix… on an account card: the wizard page that fixes each kind of problem, per provider and sign-in."""

from __future__ import annotations

import pytest

from wizard.pages.fix_page import fix_page
from wizard.pages.ids import PageId
from wizard.services.model import AuthMode, Profile, ProviderKind

SMTP = Profile(name="smtp", from_address="app@example.com", host="smtp.example.com")
GMAIL = Profile(name="gmail", provider=ProviderKind.GMAIL, from_address="app@gmail.com")
M365 = Profile(name="m365", provider=ProviderKind.M365_SMTP, from_address="app@contoso.com",
               auth=AuthMode.OAUTH_INTERACTIVE)
GRAPH_APP = Profile(name="graph", provider=ProviderKind.GRAPH, from_address="app@contoso.com",
                    auth=AuthMode.CLIENT_SECRET, tenant="contoso.onmicrosoft.com",
                    client_id="11111111-2222-3333-4444-555555555555")


@pytest.mark.parametrize(("profile", "code", "page"), [
    (SMTP, "auth_failed", PageId.SMTP),
    (SMTP, "tls_certificate", PageId.SMTP),
    (SMTP, "tls_mode_mismatch", PageId.SMTP),
    (SMTP, "send_as_denied", PageId.SENDER),
    (SMTP, "", PageId.SMTP),
    (GMAIL, "app_password_required", PageId.GMAIL_AUTH),
    (M365, "basic_auth_disabled", PageId.M365_AUTH),
    (M365, "not_signed_in", PageId.M365_AUTH),
    (GRAPH_APP, "client_secret_expired", PageId.AZURE_REGISTRATION),
    (GRAPH_APP, "access_denied", PageId.GRAPH_PERMISSIONS),
    (GRAPH_APP, "auth_failed", PageId.M365_AUTH),
])
def test_each_problem_opens_the_page_where_its_setting_is_entered(profile: Profile, code: str, page: PageId) -> None:
    assert fix_page(profile, code) is page
