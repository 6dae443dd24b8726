"""The `mx` check: the sender's domain receives mail (replies, bounces, DMARC reports) at hosts that resolve."""

from __future__ import annotations

import asyncio

from wizard.services import providers
from wizard.services.dns_health.report import CheckResult, Status, worst
from wizard.services.dns_health.resolver import DnsResolver, LookupStatus
from wizard.services.wording import plural


async def check_mx(resolver: DnsResolver, domain: str) -> CheckResult:
    mx = await resolver.lookup(domain, "MX")
    if mx.failed:
        return CheckResult("mx", Status.ERROR, "Could not read the MX records (dns_failed)", f"MX {domain}: {mx.error}",
                           "Check again later.")
    if mx.status is LookupStatus.NXDOMAIN:
        return CheckResult("mx", Status.FAIL, f"{domain} does not exist in DNS",
                           "The domain's name server says there is no such name (NXDOMAIN): receivers reject "
                           "mail from domains that do not exist.",
                           "Check the spelling of the sender address, or register and publish the domain.")
    if not mx.records:
        return CheckResult("mx", Status.WARN, "No MX record",
                           f"{domain} publishes no MX: replies, bounces and DMARC reports fall back to its A record.",
                           "Publish MX records for the mailbox service that receives this domain's mail.")
    entries = sorted((int(r.split()[0]), r.split()[-1]) for r in mx.records)
    if entries == [(0, "")] or entries == [(0, ".")]:
        return CheckResult("mx", Status.WARN, "Null MX: the domain receives no mail",
                           f"{domain} publishes a null MX (RFC 7505): replies and bounces are lost, and some receivers "
                           "reject senders whose domain cannot receive.", "Use a sender domain that receives mail.",
                           mx.ttl)
    hosts = [h for _, h in entries]
    answers = await asyncio.gather(*(asyncio.gather(resolver.lookup(h, "A"), resolver.lookup(h, "AAAA"))
                                     for h in hosts))
    details, statuses = [], [Status.PASS]
    for (preference, host), (a, aaaa) in zip(entries, answers, strict=True):
        addresses = [*a.records, *aaaa.records]
        if a.failed and aaaa.failed:
            statuses.append(Status.ERROR)
            details.append(f"{preference} {host}: could not resolve ({a.error})")
        elif not addresses:
            statuses.append(Status.WARN)
            details.append(f"{preference} {host}: has no address (A/AAAA)")
        else:
            cname = " (a CNAME: not allowed for MX targets, RFC 2181 10.3)" if a.cname else ""
            if cname:
                statuses.append(Status.WARN)
            details.append(f"{preference} {host} -> {', '.join(addresses)}{cname}")
    detected = providers.by_mx(hosts)
    if detected is not None:
        details.append(f"Incoming mail is handled by {detected.name}.")
    status = worst(statuses)
    resolve = "1 MX host resolves" if len(hosts) == 1 else f"{plural(len(hosts), 'MX host')} resolve"
    summary = {Status.PASS: resolve, Status.WARN: "MX records need attention",
               Status.ERROR: "MX hosts could not be resolved (dns_failed)", Status.FAIL: "MX broken"}[status]
    fix = "Every MX host needs an A or AAAA record (not a CNAME)." if status is Status.WARN else ""
    return CheckResult("mx", status, summary, "\n".join(details), fix, mx.ttl)
