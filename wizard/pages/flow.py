"""Which page follows which: a pure function of the page and the shared state, so the branching is
read and tested without a window. The wizard's `nextId()` asks it.

    welcome -> sender -> provider -> (authentication) -> check -> sender settings -> delivery -> dns
            -> test mail -> summary

Authentication per provider: SMTP (preset or other) -> smtp; Gmail -> gmail_auth; Microsoft 365 SMTP
and Graph -> m365_auth -> m365_setup ("Set it up for me": one admin sign-in does everything), or (the manual
way: mode; sign-in when the registration exists) -> azure_registration (when the
admin has no registration yet, or app-only credentials are to be entered) -> for Graph app-only
graph_permissions (application Mail.Send covers every mailbox; delegated sign-in needs no scoping).
"""

from __future__ import annotations

from collections.abc import Collection

from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.services.model import ProviderKind

FINAL = -1
_AFTER_CHECK = (PageId.SENDER_SETTINGS, PageId.DELIVERY, PageId.DNS, PageId.TEST_MAIL, PageId.SUMMARY)
_AUTH_PAGE = {ProviderKind.SMTP: PageId.SMTP, ProviderKind.GMAIL: PageId.GMAIL_AUTH,
              ProviderKind.M365_SMTP: PageId.M365_AUTH, ProviderKind.GRAPH: PageId.M365_AUTH}


def is_microsoft(state: WizardState) -> bool:
    return state.draft.provider in {ProviderKind.M365_SMTP, ProviderKind.GRAPH}


def is_app_only(state: WizardState) -> bool:
    return state.draft.auth.is_app_only


def needs_registration_page(state: WizardState) -> bool:
    """App-only credentials are entered on the registration page; without a registration it guides one."""
    return is_app_only(state) or not state.has_app_registration


def needs_graph_permissions(state: WizardState) -> bool:
    return state.draft.provider is ProviderKind.GRAPH and is_app_only(state)


def next_page(current: PageId, state: WizardState, registered: Collection[PageId] = tuple(PageId)) -> int:
    """The page after `current` for this state (FINAL after the summary); pages not registered are skipped."""
    if current is PageId.WELCOME:
        return int(PageId.SENDER)
    if current is PageId.SENDER:
        return int(PageId.PROVIDER)
    if current is PageId.PROVIDER:
        return int(_AUTH_PAGE[state.draft.provider])
    if current is PageId.M365_AUTH and state.m365_setup_mode:
        return int(PageId.M365_SETUP)
    if current is PageId.M365_AUTH and needs_registration_page(state):
        return int(PageId.AZURE_REGISTRATION)
    if current in {PageId.M365_AUTH, PageId.AZURE_REGISTRATION} and needs_graph_permissions(state):
        return int(PageId.GRAPH_PERMISSIONS)
    if current in {PageId.SMTP, PageId.GMAIL_AUTH, PageId.M365_AUTH, PageId.AZURE_REGISTRATION,
                   PageId.GRAPH_PERMISSIONS, PageId.M365_SETUP}:
        return int(PageId.CHECK)
    later = _AFTER_CHECK[_AFTER_CHECK.index(current) + 1:] if current in _AFTER_CHECK else _AFTER_CHECK
    return next((int(page) for page in later if page in registered), FINAL)
