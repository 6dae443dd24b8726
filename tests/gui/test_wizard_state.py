"""The wizard's state: a Profile draft and the typed secrets, nothing copied field by field."""

from __future__ import annotations

from dataclasses import fields, replace
from enum import Enum

import pytest

from wizard.pages.state import WizardState
from wizard.services.model import AuthMode, Profile, ProviderKind, Security
from wizard.services.secret_source import DraftSecrets

SAVED = Profile(name="erp", provider=ProviderKind.M365_SMTP, from_address="erp@contoso.com", display_name="ERP",
                host="smtp.office365.com", port=587, security=Security.STARTTLS, username="erp@contoso.com",
                auth=AuthMode.CLIENT_SECRET, tenant="contoso.onmicrosoft.com",
                client_id="0a1b2c3d-0000-4000-8000-000000000001", priority=2, authorized_domains=("contoso.com",),
                postmaster="postmaster@contoso.com", timeout_s=12.0, sending_ips=("192.0.2.10",),
                fallback=("backup",))


def other_value(value: object) -> object:
    """A value of the same type that differs from `value`."""
    if isinstance(value, Enum):
        return next(member for member in type(value) if member is not value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, tuple):
        return (*value, "changed.example")
    raise AssertionError(f"no other value for {value!r}")


@pytest.mark.parametrize("name", [f.name for f in fields(Profile)])
def test_every_profile_setting_a_page_changes_is_what_the_wizard_saves(name: str) -> None:
    state = WizardState()
    state.load_profile(SAVED)
    changed = other_value(getattr(SAVED, name))
    state.draft = replace(state.draft, **{name: changed})
    assert getattr(state.profile(), name) == changed
    assert replace(state.profile(), **{name: getattr(SAVED, name)}) == SAVED  # and nothing else changed


def test_the_state_declares_no_copy_of_a_profile_setting() -> None:
    copies = {f.name for f in fields(WizardState)} & {f.name for f in fields(Profile)}
    assert not copies, f"WizardState re-declares Profile fields {sorted(copies)}: keep them in state.draft"


def test_editing_a_profile_keeps_what_the_wizard_does_not_show() -> None:
    state = WizardState()
    state.load_profile(SAVED)
    assert state.profile() == SAVED  # fallback, sending_ips and timeout_s survive an edit
    state.draft = replace(state.draft, display_name="  ERP notifications ")
    assert state.profile() == replace(SAVED, display_name="ERP notifications")


def test_editing_a_profile_starts_with_no_typed_secret_and_falls_back_to_the_saved_one() -> None:
    state = WizardState(secrets=DraftSecrets(client_secret="typed before"))
    state.load_profile(SAVED)
    assert state.secrets.fingerprint() == ("", "", "")
    assert state.secrets.saved_name == "erp"


def test_a_new_account_starts_from_the_defaults() -> None:
    state = WizardState()
    state.load_profile(SAVED)
    state.secrets.password = "typed"
    state.start_new()
    assert state.profile() == Profile(name=state.draft.name)
    assert (state.editing, state.secrets.fingerprint(), state.secrets.saved_name) == ("", ("", "", ""), "")


def test_entered_text_is_trimmed_and_choices_stay_enums() -> None:
    state = WizardState(
        draft=Profile(name=" erp ", host=" smtp.example.com ", security=Security.TLS, auth=AuthMode.PASSWORD))
    profile = state.profile()
    assert (profile.name, profile.host) == ("erp", "smtp.example.com")
    assert type(profile.security) is Security and type(profile.auth) is AuthMode


def test_a_changed_secret_makes_a_passed_check_stale() -> None:
    from wizard.services.check import CheckReport

    state = WizardState(draft=SAVED, secrets=DraftSecrets(client_secret="first"))
    state.record_check(CheckReport([], None))
    assert state.check_passed()
    state.secrets.client_secret = "second"
    assert not state.check_passed()


def test_no_secret_shows_in_the_state_repr() -> None:
    state = WizardState(draft=SAVED, secrets=DraftSecrets(password="hunter2", client_secret="s3cret"))
    assert "hunter2" not in repr(state) and "s3cret" not in repr(state)
    assert sorted(state.secret_values()) == ["hunter2", "s3cret"]
