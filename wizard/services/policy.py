"""Who may send through a profile: the authorised domains and senders (pure functions).

Domain semantics follow MailUp SMTP+: authorising a 2nd-level domain (example.com) authorises it and
every 3rd-level domain under it (news.example.com); authorising a 3rd-level domain authorises only
that one (and anything below it), never its parent. Both lists empty: everyone may send.

Which addresses are checked (the envelope sender and every From/Sender address) and what a refusal
does is decided once, in submission.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Protocol

from wizard.services.model import Profile
from wizard.services.validation import InvalidInputError, validate_address, validate_host

UNAUTHORIZED_ACTIONS = ("block", "alert")


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


class SenderRules(Protocol):
    """Who may send: a profile's policy, or a relay user's own (both must allow)."""

    @property
    def name(self) -> str: ...
    @property
    def authorized_domains(self) -> tuple[str, ...]: ...
    @property
    def authorized_senders(self) -> tuple[str, ...]: ...
    @property
    def unauthorized_action(self) -> str: ...


def sender_authorized(sender: str, profile: SenderRules) -> bool:
    if not profile.authorized_domains and not profile.authorized_senders:
        return True
    address = sender.strip().lower()
    if address in {s.strip().lower() for s in profile.authorized_senders}:
        return True
    return domain_authorized(address.rpartition("@")[2], profile.authorized_domains)


def check_sender(sender: str, profile: SenderRules, owner: str = "profile") -> PolicyDecision:
    """The profile's (or relay user's) verdict on one address: allowed, allowed with an alert, or blocked."""
    if sender_authorized(sender, profile):
        return PolicyDecision(True)
    if profile.unauthorized_action == "alert":
        return PolicyDecision(True, f"{sender or '<>'} is not an authorised sender for {owner} '{profile.name}'.")
    return PolicyDecision(False)


def normalise_authorized_domain(text: str) -> str:
    """A domain as `domain_authorized` matches it: example.com (and everything under it) or news.example.com."""
    value = text.strip().lower().rstrip(".")
    value = value.removeprefix("@")
    if value.startswith("*."):
        raise InvalidInputError("authorised domain", f"Enter {value[2:]} without '*.': a domain already includes "
                                                     "the domains under it.")
    if "@" in value:
        raise InvalidInputError("authorised domain", f"'{text.strip()}' is an address: add it to the authorised "
                                                     "senders instead.")
    host = validate_host(value, "authorised domain")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise InvalidInputError("authorised domain", f"'{host}' is an IP address, not a domain.")
    if "." not in host:
        raise InvalidInputError("authorised domain", f"'{host}' is not a domain: enter one like example.com.")
    return host


def normalise_authorized_sender(text: str) -> str:
    return validate_address(text, "authorised sender").lower()


def validated_sender_settings(profile: Profile) -> Profile:
    """The profile's sender settings normalised (lists lower-cased, without duplicates), or `InvalidInputError`:
    what the sender settings page enforces, for every other writer (`mailwright profile set`)."""
    if profile.unauthorized_action not in UNAUTHORIZED_ACTIONS:
        raise InvalidInputError("unauthorized_action", "What happens to other senders is 'block' or 'alert'.")
    if profile.force_postmaster_sender and not profile.postmaster.strip():
        raise InvalidInputError("postmaster", "Always sending as the postmaster needs a postmaster address.")
    domains = tuple(dict.fromkeys(normalise_authorized_domain(d) for d in profile.authorized_domains))
    senders = tuple(dict.fromkeys(normalise_authorized_sender(s) for s in profile.authorized_senders))
    return replace(profile, authorized_domains=domains, authorized_senders=senders)
