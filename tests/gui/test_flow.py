"""The wizard's branching as a pure function: which page follows which, per provider and sign-in mode."""

from __future__ import annotations

import pytest

from wizard.pages.flow import FINAL, next_page
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.services.model import AuthMode, Profile, ProviderKind


def path(state: WizardState, registered: set[PageId] | None = None) -> list[str]:
    """Every page from welcome to the end for this state."""
    pages, current = [], PageId.WELCOME
    while True:
        pages.append(current.cli_name)
        following = next_page(current, state, registered or set(PageId))
        if following == FINAL:
            return pages
        current = PageId(following)


AFTER_CHECK = ["check", "sender_settings", "delivery", "dns", "test_mail", "summary"]


@pytest.mark.parametrize(("provider", "auth", "has_registration", "auth_pages"), [
    (ProviderKind.SMTP, AuthMode.PASSWORD, True, ["smtp"]),
    (ProviderKind.GMAIL, AuthMode.PASSWORD, True, ["gmail_auth"]),
    (ProviderKind.GMAIL, AuthMode.OAUTH_INTERACTIVE, True, ["gmail_auth"]),
    (ProviderKind.M365_SMTP, AuthMode.OAUTH_INTERACTIVE, True, ["m365_auth"]),
    (ProviderKind.M365_SMTP, AuthMode.OAUTH_DEVICE, False, ["m365_auth", "azure_registration"]),
    (ProviderKind.M365_SMTP, AuthMode.CLIENT_SECRET, True, ["m365_auth", "azure_registration"]),
    (ProviderKind.M365_SMTP, AuthMode.CLIENT_CERTIFICATE, True, ["m365_auth", "azure_registration"]),
    (ProviderKind.GRAPH, AuthMode.OAUTH_INTERACTIVE, True, ["m365_auth"]),
    (ProviderKind.GRAPH, AuthMode.OAUTH_INTERACTIVE, False, ["m365_auth", "azure_registration"]),
    (ProviderKind.GRAPH, AuthMode.CLIENT_SECRET, True, ["m365_auth", "azure_registration", "graph_permissions"]),
    (ProviderKind.GRAPH, AuthMode.CLIENT_CERTIFICATE, False,
     ["m365_auth", "azure_registration", "graph_permissions"]),
])
def test_each_provider_and_mode_takes_its_authentication_pages(
        provider: ProviderKind, auth: AuthMode, has_registration: bool, auth_pages: list[str]) -> None:
    state = WizardState(
        draft=Profile(name="default", provider=provider, auth=auth), has_app_registration=has_registration)
    assert path(state) == ["welcome", "sender", "provider", *auth_pages, *AFTER_CHECK]


def test_pages_that_are_not_registered_are_skipped() -> None:
    registered = set(PageId) - {PageId.DNS, PageId.TEST_MAIL}
    assert path(WizardState(), registered)[-4:] == ["check", "sender_settings", "delivery", "summary"]


def test_the_summary_is_the_last_page() -> None:
    assert next_page(PageId.SUMMARY, WizardState()) == FINAL


@pytest.mark.parametrize("text", ["m365_auth", "M365-AUTH", "4"])
def test_page_ids_are_read_from_the_command_line(text: str) -> None:
    assert PageId.from_cli(text) is PageId.M365_AUTH
