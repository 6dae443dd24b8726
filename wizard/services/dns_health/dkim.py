"""The `dkim` check: the provider's selectors (and any the admin names) publish a usable key.

checkdmarc does no DKIM at all. Selectors cannot be listed through DNS, so we probe the provider's
known ones, the admin's, and use `_domainkey.<domain>` (NXDOMAIN vs NOERROR, RFC 8020) as a hint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.services.dns_health.dkim_signature import MessageSignatures
from wizard.services.dns_health.report import CheckResult, Recommendation, Status, worst
from wizard.services.dns_health.resolver import DnsResolver, Lookup, LookupStatus
from wizard.services.providers import Provider

# How the admin names a selector, said the same way by the DNS page and `mailwright dns`.
GIVE_SELECTOR = ("enter it as the DKIM selector (the field on the DNS page, or --selector for mailwright dns); it is "
                 "the s= tag of the DKIM-Signature header in a message your service sent")
COMMON_SELECTORS = ("default", "selector1", "selector2", "google", "k1", "s1", "s2", "dkim", "mail")


@dataclass(frozen=True)
class DkimKey:
    tags: tuple[tuple[str, str], ...]
    key_type: str = "rsa"
    bits: int | None = None
    revoked: bool = False
    testing: bool = False
    errors: tuple[str, ...] = ()


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def parse_dkim_key(text: str) -> DkimKey:
    """RFC 6376 3.6.1 key record: v, k, p (empty = revoked), t flags; the key size from p."""
    tags = _tags(text)
    errors: list[str] = []
    if "v" in tags and tags["v"] != "DKIM1":
        errors.append(f"v={tags['v']} (must be DKIM1)")
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        errors.append(f"unknown key type k={key_type}")
    if "p" not in tags:
        errors.append("no p= tag (public key)")
    revoked = tags.get("p", None) == ""
    testing = "y" in tags.get("t", "").split(":")
    bits: int | None = None
    if tags.get("p") and not errors:
        # Imported here: most selectors looked up publish nothing, and `mailwright dns` should start fast.
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        try:
            der = base64.b64decode(tags["p"], validate=True)
            if key_type == "ed25519":
                ed25519.Ed25519PublicKey.from_public_bytes(der)
                bits = 256
            else:
                key = load_der_public_key(der)
                if not isinstance(key, rsa.RSAPublicKey):
                    raise ValueError("not an RSA key")
                bits = key.key_size
        except (binascii.Error, ValueError) as exc:
            errors.append(f"p= is not a valid {key_type} public key ({exc})")
    return DkimKey(tuple(tags.items()), key_type, bits, revoked, testing, tuple(errors))


@dataclass(frozen=True)
class SelectorResult:
    selector: str
    lookup: Lookup
    key: DkimKey | None
    status: Status | None  # None: nothing published at this selector
    note: str


def assess_selector(selector: str, lookup: Lookup, domain: str, provider: Provider | None) -> SelectorResult:
    name = f"{selector}._domainkey.{domain}"
    via = f" (CNAME to {lookup.cname})" if lookup.cname else ""
    if lookup.failed:
        return SelectorResult(selector, lookup, None, Status.ERROR, f"{name}: could not look up ({lookup.error})")
    records = [r for r in lookup.records if "p=" in r or r.startswith("v=DKIM1")]
    if not records:
        if lookup.cname:
            return SelectorResult(selector, lookup, None, Status.FAIL,
                                  f"{name}{via}: the CNAME target has no key yet (DKIM not enabled at the provider?)")
        return SelectorResult(selector, lookup, None, None, f"{name}: nothing published")
    key = parse_dkim_key(records[0])
    status, notes = Status.PASS, []
    if key.errors:
        status, notes = Status.FAIL, [*key.errors]
    elif key.revoked:
        status, notes = Status.FAIL, ["key revoked (empty p=): mail signed with it fails DKIM"]
    elif key.bits is not None and key.bits < 1024:
        status, notes = Status.FAIL, [f"{key.bits}-bit key: too weak, receivers ignore it"]
    elif key.bits == 1024:
        status, notes = Status.WARN, ["1024-bit key: rotate to 2048 bits"]
    else:
        notes.append(f"{key.key_type} {key.bits}-bit key")
    if key.testing and status is Status.PASS:
        status = Status.WARN
        notes.append("t=y (testing): receivers may treat signatures as unsigned")
    if len(records) > 1:
        status = worst([status, Status.WARN])
        notes.append(f"{len(records)} key records at one selector")
    if (lookup.cname and provider is not None and provider.dkim_cname_targets and selector in provider.dkim_selectors
            and not provider.matches_dkim_target(domain, lookup.cname)):
        status = worst([status, Status.WARN])
        expected = " or ".join(provider.dkim_target_patterns(domain))
        notes.append(f"CNAME target matches neither expected form ({expected})")
    return SelectorResult(selector, lookup, key, status, f"{name}{via}: " + "; ".join(notes))


def _suggested_target(provider: Provider, selector: str, domain: str) -> str | None:
    """The CNAME value to publish, with the account-specific part left as a placeholder."""
    for pattern in provider.dkim_target_patterns(domain):
        first = pattern.split(".")[0]
        if "?" in first and selector[-1:].isdigit():
            value = pattern.replace("?", selector[-1], 1)
        elif "?" not in first and first.rstrip("*") and selector.startswith(first.rstrip("*")):
            value = selector + pattern[len(first):]
        else:
            continue
        return value.replace("*", "<value shown by the provider>")
    return None


@dataclass(frozen=True)
class DkimOutcome:
    result: CheckResult
    valid_selectors: tuple[str, ...]  # selectors with a usable key: DMARC can align through DKIM


def _message_notes(signed: MessageSignatures | None) -> list[str]:
    if signed is None:
        return []
    if signed.selectors:
        names = ", ".join(signed.selectors)
        which = "selector" if len(signed.selectors) == 1 else "selectors"
        return [f"The sample message is signed for {signed.domain} with {which} {names} (the s= tag of its "
                "DKIM-Signature): checked those instead of guessing."]
    others = f" (signed only by {', '.join(signed.other_domains)}, which cannot align with DMARC)" \
        if signed.other_domains else ""
    return [f"The sample message carries no DKIM signature for {signed.domain}{others}: receivers see it as "
            "unsigned for your domain."]


async def check_dkim(resolver: DnsResolver, domain: str, provider: Provider | None,
                     selectors: Sequence[str] = (), message: MessageSignatures | None = None) -> DkimOutcome:
    """Probe the selectors: those a sample message was signed with (`message`), else the provider's known ones
    (or common ones without a provider), plus the admin's `selectors`."""
    user = tuple(dict.fromkeys(s.strip().lower() for s in selectors if s.strip()))
    from_message = message.selectors if message is not None else ()
    guessable = provider.dkim_selectors if provider and provider.dkim_selectors_guessable and not from_message \
        else ()
    user = tuple(dict.fromkeys((*from_message, *user)))
    probe = tuple(dict.fromkeys((*guessable, *user))) or (COMMON_SELECTORS if provider is None else ())
    lookups = await asyncio.gather(resolver.lookup(f"_domainkey.{domain}", "TXT"),
                                   *(resolver.lookup(f"{s}._domainkey.{domain}", "TXT") for s in probe))
    parent, results = lookups[0], [assess_selector(s, lk, domain, provider) for s, lk in zip(probe, lookups[1:],
                                                                                              strict=True)]
    found = [r for r in results if r.status is not None]
    valid = tuple(r.selector for r in found if r.status in (Status.PASS, Status.WARN))
    details = [*_message_notes(message), *(r.note for r in results)]
    if parent.status is LookupStatus.NXDOMAIN:
        details.append(f"{domain} publishes no signing key at all: the name _domainkey.{domain} does not exist "
                       "(NXDOMAIN)")
    elif not found and parent.status is LookupStatus.NODATA:
        details.append(f"{domain} publishes signing keys, but under names (DKIM selectors) not checked here: "
                       f"{GIVE_SELECTOR}.")
    ttl = max((r.lookup.ttl for r in found if r.lookup.ttl is not None), default=None)
    statuses = [r.status for r in found if r.status is not None]
    statuses += [Status.FAIL for r in results if r.status is None and r.selector in user]
    if message is not None and not message.signed_for_domain:
        statuses.append(Status.WARN)
    recommendations: list[Recommendation] = []
    fix = ""
    who = provider.name if provider else "your mail service"
    if provider is not None and not provider.dkim_custom_domain:
        summary = f"{provider.name} signs its own addresses: nothing to publish"
        return DkimOutcome(CheckResult("dkim", Status.INFO, summary, "\n".join(details), "", ttl), valid)
    if not found and guessable:
        statuses.append(Status.FAIL)
        fix = provider.dkim_setup if provider else ""
        for selector in guessable:
            target = _suggested_target(provider, selector, domain) if provider else None
            if target:
                recommendations.append(Recommendation("CNAME", f"{selector}._domainkey.{domain}", target,
                                                      f"DKIM for {who}: copy the exact value from its console."))
    elif not found and not user:
        statuses.append(Status.WARN)
        if provider is not None:
            fix = (f"{provider.name} names its signing keys (DKIM selectors) differently for each account: "
                   f"{GIVE_SELECTOR}. " + provider.dkim_setup)
        else:
            fix = f"No signing key was found under the usual names (DKIM selectors): {GIVE_SELECTOR}."
    elif unpublished := [r.selector for r in results if r.status is None and r.selector in from_message]:
        fix = (f"Messages are signed with selector {', '.join(unpublished)}, but no key is published at "
               f"{unpublished[0]}._domainkey.{domain}: publish the record {who} shows for it. "
               + (provider.dkim_setup if provider else ""))
    elif found and any(s is Status.FAIL for s in statuses):
        fix = provider.dkim_setup if provider else "Publish a valid 2048-bit key at the selector your server uses."
    status = worst(statuses)
    names = ", ".join(valid) or "none"
    summary = {Status.PASS: f"DKIM key published (selectors: {names})",
               Status.WARN: f"DKIM needs attention (usable selectors: {names})",
               Status.FAIL: f"DKIM is missing or broken for {who}",
               Status.ERROR: "DKIM could not be checked (dns_failed)"}[status]
    return DkimOutcome(CheckResult("dkim", status, summary, "\n".join(details), fix, ttl, tuple(recommendations)),
                       valid)
