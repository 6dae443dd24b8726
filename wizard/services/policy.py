"""Who may send through a profile: the authorised domains and senders (pure functions).

Domain semantics follow MailUp SMTP+: authorising a 2nd-level domain (example.com) authorises it and
every 3rd-level domain under it (news.example.com); authorising a 3rd-level domain authorises only
that one (and anything below it), never its parent. Both lists empty: everyone may send.

Which addresses are checked (the envelope sender and every From/Sender address) and what a refusal
does is decided once, in submission.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.services.model import Profile


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool  # False: the profile blocks this sender
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
    """The profile's verdict on one address: allowed, allowed with an alert, or blocked."""
    if sender_authorized(sender, profile):
        return PolicyDecision(True)
    if profile.unauthorized_action == "alert":
        return PolicyDecision(True, f"{sender or '<>'} is not an authorised sender for profile '{profile.name}'.")
    return PolicyDecision(False)
