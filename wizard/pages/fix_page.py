"""Which wizard page fixes an account's problem: the main window's Fix… opens the wizard there.

A pure function of the profile's provider and sign-in and the problem's diagnosis code, so the choice is read
and tested without a window.
"""

from __future__ import annotations

from wizard.pages.ids import PageId
from wizard.services.model import Profile, ProviderKind

# The sender address itself was refused: the sender page changes it.
SENDER_CODES = frozenset({"send_as_denied", "sender_rejected", "relay_denied", "dmarc_rejected"})
# Graph's application permission or its scoping refuses the mailbox.
GRAPH_PERMISSION_CODES = frozenset({"access_denied", "send_as_denied", "mailbox_not_enabled"})
# The app registration's values or secret are wrong or expired.
REGISTRATION_CODES = frozenset({"invalid_client_secret", "client_secret_expired", "app_not_found",
                                "tenant_not_found", "secret_missing"})


def fix_page(profile: Profile, code: str) -> PageId:
    """The page where the setting behind `code` is entered for this kind of account."""
    microsoft = profile.provider in {ProviderKind.M365_SMTP, ProviderKind.GRAPH}
    if microsoft and profile.auth.is_app_only and code in REGISTRATION_CODES:
        return PageId.AZURE_REGISTRATION
    if profile.provider is ProviderKind.GRAPH and profile.auth.is_app_only and code in GRAPH_PERMISSION_CODES:
        return PageId.GRAPH_PERMISSIONS
    if code in SENDER_CODES:
        return PageId.SENDER
    if microsoft:
        return PageId.M365_AUTH
    if profile.provider is ProviderKind.GMAIL:
        return PageId.GMAIL_AUTH
    return PageId.SMTP  # server, port, security, CA file, user name and password are all there
