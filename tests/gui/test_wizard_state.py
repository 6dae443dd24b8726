"""The wizard's state: what it builds from a saved profile keeps the settings no page shows."""

from __future__ import annotations

from dataclasses import fields, replace

from wizard.pages.state import SHARED_PROFILE_FIELDS, WizardState
from wizard.services.model import AuthMode, Profile, ProviderKind, Security

SAVED = Profile(name="erp", provider=ProviderKind.M365_SMTP, from_address="erp@contoso.com", display_name="ERP",
                host="smtp.office365.com", port=587, security=Security.STARTTLS, username="erp@contoso.com",
                auth=AuthMode.CLIENT_SECRET, tenant="contoso.onmicrosoft.com",
                client_id="0a1b2c3d-0000-4000-8000-000000000001", priority=2, authorized_domains=("contoso.com",),
                postmaster="postmaster@contoso.com", timeout_s=12.0, sending_ips=("192.0.2.10",),
                fallback=("backup",))


def test_editing_a_profile_keeps_what_the_wizard_does_not_show() -> None:
    state = WizardState()
    state.load_profile(SAVED)
    assert state.profile() == SAVED  # fallback, sending_ips and timeout_s survive an edit
    state.display_name = "  ERP notifications "
    assert state.profile() == replace(SAVED, display_name="ERP notifications")


def test_every_field_both_have_is_carried_both_ways() -> None:
    profile_fields = {f.name for f in fields(Profile)}
    state_fields = {f.name for f in fields(WizardState)}
    assert set(SHARED_PROFILE_FIELDS) == (profile_fields & state_fields)
    state = WizardState()
    state.load_profile(SAVED)
    assert all(getattr(state, name) == getattr(SAVED, name) for name in SHARED_PROFILE_FIELDS)


def test_a_new_account_starts_from_the_defaults() -> None:
    state = WizardState()
    state.load_profile(SAVED)
    state.start_new()
    assert state.profile() == Profile(name=state.profile_name)


def test_entered_text_is_trimmed_and_choices_stay_enums() -> None:
    state = WizardState(host=" smtp.example.com ", security=Security.TLS, auth=AuthMode.PASSWORD)
    profile = state.profile()
    assert profile.host == "smtp.example.com"
    assert type(profile.security) is Security and type(profile.auth) is AuthMode
