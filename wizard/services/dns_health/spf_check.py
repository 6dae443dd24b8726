"""The `spf` check: one valid record, within RFC 7208's limits, that authorises the chosen provider.

When the provider (or a sending IP) is not authorised, the fix is one merged record: every existing
mechanism and the existing `all` qualifier kept, the provider's include added before the `all`,
merged into the redirect target when the record delegates, re-counted before it is shown.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.services.dns_health.report import CheckResult, Recommendation, Status, worst
from wizard.services.dns_health.resolver import DnsResolver
from wizard.services.dns_health.spf import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    SIZE_FAIL,
    SIZE_WARN,
    SpfRecord,
    merge_records,
    merge_terms,
    parse_spf,
)
from wizard.services.dns_health.spf_eval import SpfNode, SpfResult, SpfTree, check_host, expand_spf
from wizard.services.providers import Provider

INTERMEDIATE_LABEL = "_spf-ips"


@dataclass(frozen=True)
class SenderCoverage:
    """Is one sending IP or range authorised by the domain's SPF?"""

    source: str  # "192.0.2.1" or "smtp.example.com (192.0.2.1)"
    network: str
    result: SpfResult | None  # check_host result for single addresses, None for ranges

    @property
    def covered(self) -> bool:
        return self.result is SpfResult.PASS


@dataclass(frozen=True)
class SpfInputs:
    """Everything `assess_spf` needs, gathered by `gather_spf` (so the assessment stays pure)."""

    domain: str
    tree: SpfTree
    provider: Provider | None = None
    include_trees: tuple[SpfTree, ...] = ()  # the provider's includes, for re-counting a merge
    senders: tuple[SenderCoverage, ...] = ()
    folded: SpfTree | None = None  # when several records are published: the tree of their merge


def _term_for(network: str) -> str:
    net = ipaddress.ip_network(network, strict=False)
    plain = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    return f"ip{net.version}:{plain}"


async def _coverage(resolver: DnsResolver, domain: str, tree: SpfTree, sending_ips: Sequence[str],
                    smtp_host: str | None) -> list[SenderCoverage]:
    sources: list[tuple[str, str]] = []
    for item in sending_ips:
        sources.append((item, str(ipaddress.ip_network(item.strip(), strict=False))))
    if smtp_host:
        try:
            sources.append((smtp_host, str(ipaddress.ip_address(smtp_host))))
        except ValueError:
            a, aaaa = await asyncio.gather(resolver.lookup(smtp_host, "A"), resolver.lookup(smtp_host, "AAAA"))
            sources.extend((f"{smtp_host} ({ip})", ip) for ip in (*a.records, *aaaa.records))

    async def one(source: str, network: str) -> SenderCoverage:
        net = ipaddress.ip_network(network, strict=False)
        if net.num_addresses == 1:
            return SenderCoverage(source, network, await check_host(resolver, str(net.network_address), domain))
        covered = any(net.version == n.version and net.subnet_of(n) for n in tree.networks)  # type: ignore[arg-type]
        return SenderCoverage(source, network, SpfResult.PASS if covered else None)

    return list(await asyncio.gather(*(one(s, n) for s, n in sources)))


async def gather_spf(resolver: DnsResolver, domain: str, provider: Provider | None, *,
                     sending_ips: Sequence[str] = (), smtp_host: str | None = None) -> SpfInputs:
    """Fetch the domain's SPF tree and the provider's include trees concurrently, then test the senders."""
    includes = provider.spf_includes[:1] if provider else ()
    trees = await asyncio.gather(expand_spf(resolver, domain), *(expand_spf(resolver, i) for i in includes))
    tree = trees[0]
    folded = None
    if len(tree.root.spf_texts) > 1:
        merged = merge_records([parse_spf(t) for t in tree.root.spf_texts]).text
        folded = await expand_spf(resolver, domain, merged)
    senders = await _coverage(resolver, domain, tree, sending_ips, smtp_host if provider is None else None)
    return SpfInputs(domain, tree, provider, tuple(trees[1:]), tuple(senders), folded)


def _redirect_target(root: SpfNode) -> SpfNode:
    node = root
    while node.record is not None and node.record.redirect:
        child = next((c for c in node.children if c.via == "redirect"), None)
        if child is None or child.record is None:
            break
        node = child
    return node


def _flatten(target: SpfNode, record_text: str, count: int, domain: str) -> tuple[str, str, int] | None:
    """Replace includes that hold only IP ranges by one intermediate record; None if that cannot help."""
    flat = [c for c in target.children if c.via == "include" and c.record is not None and c.lookups == 0
            and not c.children and c.record.valid]
    if len(flat) < 2:
        return None
    intermediate = f"{INTERMEDIATE_LABEL}.{domain}"
    names = {f"include:{c.domain}" for c in flat}
    record = parse_spf(record_text)
    kept = [t.raw for t in record.terms if t.key not in names]
    main = merge_terms(parse_spf(" ".join(["v=spf1", *kept])), [f"include:{intermediate}"])
    ips = [t.raw.lstrip("+") for c in flat if c.record for t in c.record.mechanisms if t.name in ("ip4", "ip6")]
    return main, " ".join(["v=spf1", *ips, "-all"]), count - len(flat) + 1


def _sender_lines(inputs: SpfInputs) -> tuple[list[str], list[str]]:
    lines, missing = [], []
    for sender in inputs.senders:
        state = "authorised" if sender.covered else f"NOT authorised ({sender.result or 'range not listed'})"
        lines.append(f"Sending IP {sender.source}: {state}")
        if not sender.covered:
            missing.append(_term_for(sender.network))
    return lines, missing


def assess_spf(inputs: SpfInputs) -> CheckResult:
    """The verdict on a fetched SPF tree (pure)."""
    domain, tree, provider = inputs.domain, inputs.tree, inputs.provider
    root = tree.root
    ttl = tree.max_ttl
    if root.lookup.failed:
        return CheckResult("spf", Status.ERROR, "Could not read the SPF record (dns_failed)",
                           f"TXT {domain}: {root.lookup.error}", "Check again later or ask the DNS host why "
                           "the domain's name servers do not answer.")
    statuses: list[Status] = []
    details: list[str] = []
    fixes: list[str] = []
    sender_lines, missing_ips = _sender_lines(inputs)
    include = provider.spf_include if provider else None
    authorised = provider is None or not provider.spf_includes or any(
        i in tree.domains for i in provider.spf_includes)
    additions = ([f"include:{include}"] if include and not authorised else []) + missing_ips
    if not root.spf_texts:
        value = " ".join(["v=spf1", *(additions or ["mx"]), "~all"])
        why = "Publishes SPF so receivers know which servers may send for the domain."
        return CheckResult("spf", Status.FAIL, "No SPF record",
                           "\n".join([f"No TXT record at {domain} starts with v=spf1.", *sender_lines]),
                           "Publish the SPF record shown (one record only).", ttl,
                           (Recommendation("TXT", domain, value, why),))
    base: SpfRecord
    if len(root.spf_texts) > 1:
        statuses.append(Status.FAIL)
        details.append(f"{len(root.spf_texts)} SPF records are published: receivers treat SPF as broken "
                       "(permerror, RFC 7208 4.5): " + " | ".join(root.spf_texts))
        fixes.append("Replace them by the single merged record shown.")
        base = merge_records([parse_spf(t) for t in root.spf_texts])
    else:
        assert root.record is not None
        base = root.record
        details.append(f"Record: {base.text} ({base.size} bytes)")
    if base.errors:
        statuses.append(Status.FAIL)
        details.extend(f"Syntax: {e}" for e in base.errors)
        fixes.append("Correct the invalid terms.")
    # the root's own syntax / duplicate problems are reported above; the rest are permerrors too
    details.extend(f"Problem: {p}" for p in tree.problems if p not in root.problems or "loop" in p)
    if tree.problems:
        statuses.append(Status.FAIL)
    count = tree.lookup_count if inputs.folded is None else inputs.folded.lookup_count
    count_status = Status.PASS if count <= 8 else Status.WARN if count <= MAX_LOOKUPS else Status.FAIL
    statuses.append(count_status)
    details.append(f"DNS lookups: {count} of {MAX_LOOKUPS} allowed; names that answered nothing (void lookups): "
                   f"{tree.void_count} of {MAX_VOID_LOOKUPS} allowed")
    if count > MAX_LOOKUPS:
        fixes.append("Remove includes of services you no longer use, or replace IP-only includes by their ranges.")
    elif count_status is Status.WARN:
        fixes.append("Close to the 10-lookup limit: one more include will break SPF.")
    if base.size > SIZE_FAIL:
        statuses.append(Status.FAIL)
        details.append(f"The record is {base.size} bytes: over {SIZE_FAIL}, some receivers cannot fetch it over UDP")
    elif base.size > SIZE_WARN:
        statuses.append(Status.WARN)
        details.append(f"The record is {base.size} bytes: over {SIZE_WARN}, close to the 512-byte DNS limit")
    all_term = base.all_term
    if all_term is not None and all_term.qualifier == "+":
        statuses.append(Status.FAIL)
        details.append("'+all' authorises every server on the internet to send as this domain")
        fixes.append("End the record with -all or ~all.")
    elif all_term is not None and all_term.qualifier == "?":
        statuses.append(Status.WARN)
        details.append("'?all' makes every other server 'neutral': SPF protects nothing")
        fixes.append("End the record with ~all (or -all once everything is authorised).")
    elif all_term is None and not base.redirect:
        statuses.append(Status.WARN)
        details.append("The record has no 'all' and no redirect: unlisted servers get 'neutral'")
    if any(t.name == "ptr" for t in base.mechanisms):
        statuses.append(Status.WARN)
        details.append("'ptr' is deprecated (RFC 7208 5.5): slow, unreliable, ignored by some receivers")
    if tree.failures:
        statuses.append(Status.ERROR)
        details.extend(f"Could not follow (dns_failed): {f}" for f in tree.failures)
    details.extend(sender_lines)
    if missing_ips:
        statuses.append(Status.FAIL)
    recommendations: list[Recommendation] = []
    if provider is not None:
        if not provider.spf_includes:
            details.append(f"{provider.name} needs no SPF include in your domain.")
        elif authorised:
            details.append(f"{provider.name} is authorised (include:{include} or an equivalent).")
        else:
            statuses.append(Status.FAIL if provider.return_path_aligned else Status.WARN)
            details.append(f"{provider.name} is NOT authorised: include:{include} is missing.")
        if not provider.return_path_aligned:
            details.append(f"{provider.name} sends with its own Return-Path domain: an SPF include will not help "
                           "DMARC; DKIM alignment (your domain's DKIM records) is what matters.")
    if additions or len(root.spf_texts) > 1:
        recommendations.extend(_merged(inputs, base, additions, details, fixes))
    status = worst(statuses)
    summary = {Status.PASS: "SPF is valid" + (f" and authorises {provider.name}" if provider else ""),
               Status.WARN: "SPF works but needs attention", Status.FAIL: "SPF is broken or incomplete",
               Status.ERROR: "SPF could not be fully checked (dns_failed)"}[status]
    return CheckResult("spf", status, summary, "\n".join(details), " ".join(fixes), ttl, tuple(recommendations))


def _merged(inputs: SpfInputs, base: SpfRecord, additions: list[str], details: list[str],
            fixes: list[str]) -> list[Recommendation]:
    domain, tree, provider = inputs.domain, inputs.tree, inputs.provider
    if inputs.folded is not None:
        tree = inputs.folded
    target = _redirect_target(tree.root)
    record = target.record if target is not tree.root and target.record is not None else base
    name = target.domain if target is not tree.root else domain
    value = merge_terms(record, additions)
    added_cost = sum(1 + t.lookup_count for t in inputs.include_trees if f"include:{t.root.domain}" in additions)
    count = tree.lookup_count + added_cost
    who = provider.name if provider else "your sending servers"
    where = f" (the record that {domain} redirects to)" if name != domain else ""
    why = (f"One SPF record that keeps every existing mechanism and authorises {who}{where}; "
           f"{count} of {MAX_LOOKUPS} DNS lookups.")
    if count <= MAX_LOOKUPS:
        details.append(f"Merged record for {name}: {value} ({count} lookups)")
        fixes.append(f"Replace the SPF record at {name} by the merged record (do not add a second one).")
        return [Recommendation("TXT", name, value, why)]
    flattened = _flatten(target, value, count, domain)
    if flattened is None:
        details.append(f"Merging {who} would need {count} DNS lookups (limit {MAX_LOOKUPS}); no include can be "
                       "flattened safely.")
        fixes.append("Remove includes of services you no longer use before adding this one.")
        return [Recommendation("TXT", name, value, why + " Over the limit: remove unused includes first.")]
    main, intermediate, new_count = flattened
    details.append(f"Merging {who} needs {count} lookups (limit {MAX_LOOKUPS}): IP-only includes are moved into "
                   f"the intermediate record {INTERMEDIATE_LABEL}.{domain} ({new_count} lookups).")
    fixes.append(f"Publish the intermediate record, then replace the SPF record at {name}.")
    note = " Ranges copied from includes must be updated when those providers change them."
    return [Recommendation("TXT", f"{INTERMEDIATE_LABEL}.{domain}", intermediate,
                           "Intermediate record holding the IP ranges of IP-only includes." + note),
            Recommendation("TXT", name, main, f"Merged SPF record; {new_count} of {MAX_LOOKUPS} DNS lookups.")]
