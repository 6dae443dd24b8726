"""The smaller checks: TLS-RPT, BIMI, DNSSEC (informational) and forward-confirmed reverse DNS (MTA-STS: mta_sts.py)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

from wizard.services.dns_health.report import CheckResult, Status, worst
from wizard.services.dns_health.resolver import DnsResolver, Lookup, reverse_name
from wizard.services.wording import plural


def _tagged(lookup: Lookup, prefix: str) -> list[str]:
    return [r for r in lookup.records if r.replace(" ", "").lower().startswith(prefix.lower())]


def _error(check_id: str, what: str, lookup: Lookup) -> CheckResult:
    return CheckResult(check_id, Status.ERROR, f"Could not read {what} (dns_failed)", f"{lookup.name}: {lookup.error}")


async def check_tls_rpt(resolver: DnsResolver, domain: str) -> CheckResult:
    lookup = await resolver.lookup(f"_smtp._tls.{domain}", "TXT")
    if lookup.failed:
        return _error("tls_rpt", "the TLS-RPT record", lookup)
    records = _tagged(lookup, "v=TLSRPTv1")
    if not records:
        return CheckResult("tls_rpt", Status.INFO, "No TLS-RPT (optional)",
                           "TLS-RPT (RFC 8460) sends you reports about TLS failures delivering to your domain.",
                           "", lookup.ttl)
    if "rua=" not in records[0].replace(" ", ""):
        return CheckResult("tls_rpt", Status.WARN, "TLS-RPT record has no rua=", records[0],
                           "Add rua=mailto:<address> so reports have a destination.", lookup.ttl)
    return CheckResult("tls_rpt", Status.PASS, "TLS-RPT reports are requested", records[0], "", lookup.ttl)


async def check_bimi(resolver: DnsResolver, domain: str) -> CheckResult:
    lookup = await resolver.lookup(f"default._bimi.{domain}", "TXT")
    if lookup.failed:
        return _error("bimi", "the BIMI record", lookup)
    records = _tagged(lookup, "v=BIMI1")
    if not records:
        return CheckResult("bimi", Status.INFO, "No BIMI logo (optional)",
                           "BIMI shows your logo in some inboxes; it needs DMARC at quarantine or reject.", "",
                           lookup.ttl)
    return CheckResult("bimi", Status.INFO, "BIMI logo published", records[0], "", lookup.ttl)


async def check_dnssec(resolver: DnsResolver, domain: str) -> CheckResult:
    lookup = await resolver.lookup(domain, "DNSKEY")
    if lookup.failed:
        return _error("dnssec", "DNSSEC keys", lookup)
    if lookup.records:
        return CheckResult("dnssec", Status.INFO, "The zone is signed (DNSSEC)",
                           f"{plural(len(lookup.records), 'DNSKEY record')} at {domain}.", "", lookup.ttl)
    return CheckResult("dnssec", Status.INFO, "The zone is not signed (DNSSEC, optional)",
                       "No DNSKEY at the domain: its records can be spoofed by an on-path resolver attack.", "",
                       lookup.ttl)


async def _fcrdns(resolver: DnsResolver, ip: str) -> tuple[Status, str, int | None]:
    ptr = await resolver.lookup(reverse_name(ip), "PTR")
    if ptr.failed:
        return Status.ERROR, f"{ip}: reverse lookup failed ({ptr.error})", None
    if not ptr.records:
        return Status.WARN, f"{ip}: no PTR record (many receivers reject mail from IPs without reverse DNS)", ptr.ttl
    rdtype = "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
    forwards = await asyncio.gather(*(resolver.lookup(name, rdtype) for name in ptr.records[:10]))
    for name, forward in zip(ptr.records, forwards, strict=False):
        if ip in forward.records:
            return Status.PASS, f"{ip} -> {name} -> {ip} (forward-confirmed)", ptr.ttl
    return Status.WARN, f"{ip} -> {', '.join(ptr.records)}, which does not resolve back to {ip}", ptr.ttl


async def check_ptr(resolver: DnsResolver, sending_ips: Sequence[str]) -> CheckResult | None:
    """Forward-confirmed reverse DNS of each single sending IP; None when there is nothing to check."""
    ips = []
    for item in sending_ips:
        network = ipaddress.ip_network(item.strip(), strict=False)
        if network.num_addresses == 1:
            ips.append(str(network.network_address))
    if not ips:
        return None
    results = await asyncio.gather(*(_fcrdns(resolver, ip) for ip in ips))
    status = worst([s for s, _, _ in results])
    summary = {Status.PASS: "Sending IPs have forward-confirmed reverse DNS", Status.WARN: "Reverse DNS is incomplete",
               Status.ERROR: "Reverse DNS could not be checked (dns_failed)", Status.FAIL: ""}[status]
    fix = "Ask whoever runs the sending IPs (hosting provider) to set a PTR name that resolves back to the IP." \
        if status is Status.WARN else ""
    ttl = max((t for _, _, t in results if t is not None), default=None)
    return CheckResult("ptr", status, summary, "\n".join(line for _, line, _ in results), fix, ttl)
