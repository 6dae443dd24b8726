"""MX lookup (dnspython's async resolver), optionally against one given name server (IP[:PORT], as `mailwright dns`).

Not dns_health's cached `Resolver`: its lookups are shielded so that concurrent checks can share them,
which would leave the query running after a cancelled detection, and it folds timeouts into errors.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.rdtypes.ANY.MX
import dns.resolver

from wizard.services.autodetect.catalogue import proposals_for_mx
from wizard.services.autodetect.model import SourceOutcome
from wizard.services.dns_health.resolver import parse_nameserver


def make_resolver(nameserver: str | None) -> dns.asyncresolver.Resolver:
    if nameserver is None:
        return dns.asyncresolver.Resolver()
    ip, port = parse_nameserver(nameserver)
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [ip]
    resolver.port = port
    return resolver


async def lookup_mx(domain: str, resolver: dns.asyncresolver.Resolver, timeout_s: float) -> list[str]:
    """MX hosts, most preferred first; [] for a domain without MX. dnspython errors propagate."""
    try:
        answer = await resolver.resolve(domain, "MX", lifetime=timeout_s, search=False)
    except dns.resolver.NoAnswer:
        return []
    records = [r for r in answer if isinstance(r, dns.rdtypes.ANY.MX.MX)]
    records.sort(key=lambda r: (r.preference, r.exchange.to_text().lower()))
    # A null MX (RFC 7505: preference 0, exchange ".") means the domain receives no mail.
    return [r.exchange.to_text(omit_final_dot=True).lower() for r in records if r.exchange.to_text() != "."]


async def detect_by_mx(address: str, domain: str, *, nameserver: str | None, timeout_s: float) -> SourceOutcome:
    resolver = make_resolver(nameserver)
    server = f" (asked {nameserver})" if nameserver else ""
    try:
        hosts = await lookup_mx(domain, resolver, timeout_s)
    except dns.exception.Timeout:
        return SourceOutcome(detail=f"No DNS answer for the MX records of {domain}{server}", timed_out=True)
    except dns.resolver.NXDOMAIN:
        return SourceOutcome(detail=f"The domain {domain} does not exist in DNS{server}", failed=True)
    except dns.exception.DNSException as exc:
        return SourceOutcome(detail=f"MX lookup for {domain} failed{server}: {exc}", failed=True)
    if not hosts:
        return SourceOutcome(detail=f"{domain} has no MX records{server}")
    return proposals_for_mx(hosts, address, domain)
