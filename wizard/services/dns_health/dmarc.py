"""The `dmarc` check (RFC 7489): one valid record, a policy, and a forecast of this provider's alignment."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from wizard.services.dns_health.report import CheckResult, Recommendation, Status, worst
from wizard.services.dns_health.resolver import DnsResolver, Lookup
from wizard.services.providers import Provider

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = frozenset({"v", "p", "sp", "np", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri", "psd", "t"})
# Two-label public suffixes common enough to matter; without a PSL the organisational domain is a guess.
_TWO_LABEL_SUFFIXES = frozenset({"co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz",
                                 "co.jp", "ne.jp", "com.br", "com.mx", "co.za", "co.in", "com.cn", "com.tr",
                                 "co.kr", "com.sg", "com.hk", "com.ar"})
_MAILTO = re.compile(r"^mailto:[^@\s!]+@[^@\s!]+\.[^@\s!]+(![0-9]+[kmgt]?)?$", re.IGNORECASE)


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: tuple[tuple[str, str], ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def tag(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.tags if k == name), default)

    @property
    def policy(self) -> str:
        return self.tag("p").lower()


def organisational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    keep = 3 if ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def is_dmarc(text: str) -> bool:
    return re.match(r"^v\s*=\s*DMARC1\s*(;|$)", text.strip(), re.IGNORECASE) is not None


def parse_dmarc(text: str) -> DmarcRecord:
    """Every tag validated; `errors` make the record unusable or wrong, `warnings` are worth a look."""
    tags: list[tuple[str, str]] = []
    errors: list[str] = []
    warnings: list[str] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            errors.append(f"'{part}' is not a tag=value pair")
            continue
        tags.append((name.strip().lower(), value.strip()))
    record = DmarcRecord(text, tuple(tags))
    names = [k for k, _ in tags]
    if not names or names[0] != "v" or record.tag("v") != "DMARC1":
        errors.append("the record must start with v=DMARC1")
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"tag {duplicate}= appears more than once")
    if "p" not in names:
        errors.append("p= (the policy) is required and must come right after v=DMARC1")
    for name in ("p", "sp", "np"):
        value = record.tag(name).lower()
        if name in names and value not in POLICIES:
            errors.append(f"{name}={record.tag(name)} is not none, quarantine or reject")
    if "pct" in names:
        pct = record.tag("pct")
        if not pct.isdigit() or not 0 <= int(pct) <= 100:
            errors.append(f"pct={pct} is not a whole number from 0 to 100")
        elif int(pct) < 100:
            warnings.append(f"pct={pct}: the policy applies to {pct}% of failing mail only")
    for name in ("adkim", "aspf"):
        if name in names and record.tag(name).lower() not in ("r", "s"):
            errors.append(f"{name}={record.tag(name)} is not r (relaxed) or s (strict)")
    for name in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in record.tag(name).split(","))):
            if uri.lower().startswith("mailto:") and not _MAILTO.match(uri):
                errors.append(f"{name}: '{uri}' is not a valid mailto: address")
            elif not re.match(r"^[a-z][a-z0-9+.\-]*:", uri, re.IGNORECASE):
                errors.append(f"{name}: '{uri}' is not a URI (use mailto:address)")
    if "fo" in names and not all(o in ("0", "1", "d", "s") for o in record.tag("fo").split(":")):
        errors.append(f"fo={record.tag('fo')} must be 0, 1, d or s (colon separated)")
    if "ri" in names and not record.tag("ri").isdigit():
        errors.append(f"ri={record.tag('ri')} is not a number of seconds")
    warnings.extend(f"unknown tag {n}=" for n in names if n not in KNOWN_TAGS)
    return DmarcRecord(text, tuple(tags), tuple(errors), tuple(warnings))


@dataclass(frozen=True)
class AlignmentInputs:
    """What the other checks found out, for the forecast."""

    provider: Provider | None
    spf_authorises_provider: bool
    dkim_selectors: tuple[str, ...]  # usable keys in the domain: the provider can sign with d=<domain>


def forecast(record: DmarcRecord, inputs: AlignmentInputs, subdomain: bool) -> tuple[Status, str]:
    """Will the provider's mail pass DMARC? Fail before the first send when the policy would reject it."""
    provider = inputs.provider
    spf_aligns = inputs.spf_authorises_provider and (provider is None or provider.return_path_aligned)
    dkim_aligns = bool(inputs.dkim_selectors)
    who = provider.name if provider else "your server"
    policy = (record.tag("sp") or record.policy).lower() if subdomain else record.policy
    if spf_aligns or dkim_aligns:
        through = " and ".join(n for n, ok in (("SPF", spf_aligns), ("DKIM", dkim_aligns)) if ok)
        return Status.PASS, f"Forecast: mail sent through {who} aligns through {through} and passes DMARC."
    message = (f"Forecast: mail sent through {who} will FAIL DMARC: neither its SPF (Return-Path) nor a DKIM key "
               f"for your domain aligns with the From domain.")
    if policy in ("quarantine", "reject"):
        return Status.FAIL, f"{message} With p={policy} it will be {'rejected' if policy == 'reject' else 'junked'}."
    return Status.WARN, f"{message} p=none only reports it for now."


def assess_dmarc(domain: str, lookup: Lookup, org_lookup: Lookup | None, inputs: AlignmentInputs) -> CheckResult:
    used, at = lookup, f"_dmarc.{domain}"
    texts = [t for t in lookup.records if is_dmarc(t)]
    if not texts and org_lookup is not None and not lookup.failed:
        used, at = org_lookup, f"_dmarc.{organisational_domain(domain)}"
        texts = [t for t in org_lookup.records if is_dmarc(t)]
    start = f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"
    starter = Recommendation("TXT", f"_dmarc.{domain}", start,
                             "Starts DMARC in monitoring mode with aggregate reports; move to p=quarantine, then "
                             "p=reject once the reports show all your mail passing.")
    if used.failed or lookup.failed:
        error = (lookup if lookup.failed else used).error
        return CheckResult("dmarc", Status.ERROR, "Could not read the DMARC record (dns_failed)", f"TXT {at}: {error}",
                           "Check again later.")
    if not texts:
        return CheckResult("dmarc", Status.FAIL, "No DMARC record",
                           f"Nothing at _dmarc.{domain}. Google, Yahoo and Microsoft require DMARC from bulk senders.",
                           "Publish the starting DMARC record shown.", None, (starter,))
    if len(texts) > 1:
        return CheckResult("dmarc", Status.FAIL, f"{len(texts)} DMARC records at {at}",
                           "Receivers ignore DMARC when more than one record is published: " + " | ".join(texts),
                           "Keep exactly one DMARC record.", used.ttl)
    record = parse_dmarc(texts[0])
    details = [f"Record at {at}: {record.text}"]
    details.extend(f"Invalid: {e}" for e in record.errors)
    details.extend(f"Note: {w}" for w in record.warnings)
    statuses = [Status.FAIL if record.errors else Status.PASS]
    fixes: list[str] = []
    if record.errors:
        fixes.append("Correct the invalid tags (p=none|quarantine|reject, pct=0-100, adkim/aspf=r|s, mailto: URIs).")
    elif record.policy == "none":
        statuses.append(Status.WARN)
        details.append("p=none only monitors: spoofed mail is still delivered. Watch the rua reports, then move to "
                       "p=quarantine and p=reject.")
        fixes.append("When the reports show your mail passing, set p=quarantine, later p=reject.")
    if record.warnings:
        statuses.append(Status.WARN)
    if not record.tag("rua"):
        details.append("No rua=: you receive no aggregate reports.")
    if not record.errors:
        status, line = forecast(record, inputs, subdomain=at != f"_dmarc.{domain}")
        statuses.append(status)
        details.append(line)
        if status is not Status.PASS and inputs.provider is not None:
            fixes.append(f"Set up DKIM for {inputs.provider.name}: {inputs.provider.dkim_setup}")
    status = worst(statuses)
    summary = {Status.PASS: f"DMARC p={record.policy}", Status.WARN: f"DMARC p={record.policy or '?'}: needs attention",
               Status.FAIL: "DMARC is invalid or will reject this provider's mail",
               Status.ERROR: "DMARC could not be checked"}[status]
    recommendations = (starter,) if record.errors else ()
    return CheckResult("dmarc", status, summary, "\n".join(details), " ".join(fixes), used.ttl, recommendations)


async def fetch_dmarc(resolver: DnsResolver, domain: str) -> tuple[Lookup, Lookup | None]:
    """The domain's record and the organisational domain's (RFC 7489 6.6.3), asked concurrently."""
    org = organisational_domain(domain)
    if org == domain:
        return await resolver.lookup(f"_dmarc.{domain}", "TXT"), None
    lookup, org_lookup = await asyncio.gather(resolver.lookup(f"_dmarc.{domain}", "TXT"),
                                              resolver.lookup(f"_dmarc.{org}", "TXT"))
    return lookup, org_lookup
