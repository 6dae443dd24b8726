"""Sender authorisation and the forced postmaster sender, per profile (pure functions).

Domain semantics follow MailUp SMTP+: authorising a 2nd-level domain (example.com) authorises it and
every 3rd-level domain under it (news.example.com); authorising a 3rd-level domain authorises only
that one (and anything below it), never its parent.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import SMTP

from wizard.services.model import Profile


class SenderNotAuthorizedError(Exception):
    """The profile's policy blocks this sender; the relay answers 550 5.7.1 with this text."""

    def __init__(self, sender: str, profile: str) -> None:
        super().__init__(f"{sender or '<>'} is not an authorised sender for profile '{profile}'.")
        self.sender = sender
        self.profile = profile


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    alert: str = ""  # non-empty when unauthorized_action = "alert" let an unauthorised sender through


def domain_authorized(domain: str, authorized_domains: tuple[str, ...]) -> bool:
    domain = domain.lower().rstrip(".")
    for entry in authorized_domains:
        entry = entry.lower().strip().lstrip("@").rstrip(".")
        if entry and (domain == entry or domain.endswith("." + entry)):
            return True
    return False


def sender_authorized(sender: str, profile: Profile) -> bool:
    if not profile.authorized_domains and not profile.authorized_senders:
        return True
    address = sender.strip().lower()
    if address in {s.strip().lower() for s in profile.authorized_senders}:
        return True
    return domain_authorized(address.rpartition("@")[2], profile.authorized_domains)


def check_sender(sender: str, profile: Profile) -> PolicyDecision:
    """Apply the profile's policy; raises SenderNotAuthorizedError when the action is block."""
    if sender_authorized(sender, profile):
        return PolicyDecision(True)
    if profile.unauthorized_action == "alert":
        return PolicyDecision(True, f"{sender} is not an authorised sender for profile '{profile.name}'.")
    raise SenderNotAuthorizedError(sender, profile.name)


def apply_postmaster(raw: bytes, envelope_from: str, profile: Profile) -> tuple[bytes, str]:
    """With force_postmaster_sender, From and the envelope sender become the postmaster and the original
    From moves to Reply-To (unless the application already set one), so replies still reach the author."""
    if not (profile.force_postmaster_sender and profile.postmaster):
        return raw, envelope_from
    message = BytesParser(policy=SMTP).parsebytes(raw)
    original_from = message.get("From")
    if original_from is not None and message.get("Reply-To") is None:
        message["Reply-To"] = str(original_from)
    del message["From"]
    name = profile.display_name
    message["From"] = email.utils.formataddr((name, profile.postmaster)) if name else profile.postmaster
    return message.as_bytes(policy=SMTP), profile.postmaster
