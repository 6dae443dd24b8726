"""SPF over DNS: the whole include/redirect tree fetched concurrently, and RFC 7208 check_host() on top.

`expand_spf` walks every include and redirect in parallel (one gather per record) and counts the
DNS-querying terms and void lookups the way a receiver would meet them. `check_host` is the
sequential RFC 7208 section 4 algorithm; after `expand_spf` its lookups come from the run's cache.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from wizard.services.dns_health.resolver import DnsResolver, Lookup, LookupStatus, reverse_name
from wizard.services.dns_health.spf import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    SpfRecord,
    Term,
    expand_macros,
    is_spf,
    parse_spf,
)

MAX_TREE_RECORDS = 40  # a tree this size is far past the 10-lookup limit: stop fetching


class SpfResult(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


QUALIFIER_RESULT = {"+": SpfResult.PASS, "-": SpfResult.FAIL, "~": SpfResult.SOFTFAIL, "?": SpfResult.NEUTRAL}


@dataclass(frozen=True)
class SpfNode:
    """One domain's SPF record in the tree, with its include/redirect children in record order."""

    domain: str
    via: str  # "", "include" or "redirect"
    lookup: Lookup
    spf_texts: tuple[str, ...] = ()
    record: SpfRecord | None = None
    children: tuple[SpfNode, ...] = ()
    lookups: int = 0  # DNS-querying terms in this record
    voids: int = 0  # void lookups caused by this record's terms (a, mx, exists, include targets)
    problems: tuple[str, ...] = ()  # permerror causes found at this node
    failures: tuple[str, ...] = ()  # DNS failures (temperror) at this node


@dataclass(frozen=True)
class SpfTree:
    root: SpfNode
    lookup_count: int
    void_count: int
    problems: tuple[str, ...]
    failures: tuple[str, ...]
    domains: frozenset[str]  # every domain reached by include or redirect (root excluded)
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    max_ttl: int | None

    def nodes(self) -> list[SpfNode]:
        out: list[SpfNode] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


@dataclass
class _Budget:
    records: int = 0
    ttls: list[int] = field(default_factory=list)


def _network(term: Term) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    prefix = term.cidr4 if term.name == "ip4" else term.cidr6
    suffix = f"/{prefix}" if prefix is not None else ""
    return ipaddress.ip_network(f"{term.value}{suffix}", strict=False)


async def _host_lookups(resolver: DnsResolver, term: Term, domain: str) -> tuple[int, list[str]]:
    """Resolve an a/mx/exists/ptr term as a receiver might, for void accounting. -> (voids, failures)."""
    target = term.value or domain
    if "%" in target or term.name == "ptr":
        return 0, []  # depends on the connecting IP: nothing to resolve statically
    if not _usable(target):
        return 1, []
    if term.name == "mx":
        mx = await resolver.lookup(target, "MX")
        if mx.failed:
            return 0, [f"MX {target}: {mx.error}"]
        if mx.void:
            return 1, []
        hosts = [r.split()[-1] for r in mx.records if r.split()[-1] not in ("", ".")]
        answers = await asyncio.gather(*(resolver.lookup(h, "A") for h in hosts[:10]))
        return 0, [f"A {a.name}: {a.error}" for a in answers if a.failed]
    a, aaaa = await asyncio.gather(resolver.lookup(target, "A"), resolver.lookup(target, "AAAA"))
    failures = [f"{x.rdtype} {target}: {x.error}" for x in (a, aaaa) if x.failed]
    return (1 if a.void and aaaa.void else 0), failures


async def _expand(resolver: DnsResolver, domain: str, via: str, ancestors: frozenset[str],
                  budget: _Budget) -> SpfNode:
    budget.records += 1
    lookup = await resolver.lookup(domain, "TXT")
    return await _expand_lookup(resolver, domain, via, lookup, ancestors, budget)


async def _expand_lookup(resolver: DnsResolver, domain: str, via: str, lookup: Lookup, ancestors: frozenset[str],
                         budget: _Budget) -> SpfNode:
    if lookup.failed:
        return SpfNode(domain, via, lookup, failures=(f"TXT {domain}: {lookup.error}",))
    if lookup.ttl is not None:
        budget.ttls.append(lookup.ttl)
    texts = tuple(t for t in lookup.records if is_spf(t))
    if not texts:
        cause = f"{domain} has no SPF record" + (f" ({via} target)" if via else "")
        return SpfNode(domain, via, lookup, problems=(cause,) if via else (), voids=1 if lookup.void and via else 0)
    if len(texts) > 1:
        return SpfNode(domain, via, lookup, texts, problems=(f"{domain} publishes {len(texts)} SPF records",))
    record = parse_spf(texts[0])
    problems = [f"{domain}: {e}" for e in record.errors]
    lookups = sum(1 for t in record.terms if t.costs_lookup and (not t.modifier or record.redirect))
    targets = [t for t in record.mechanisms if t.name == "include"]
    hosts = [t for t in record.mechanisms if t.name in ("a", "mx", "exists", "ptr")]
    child_specs = [(t.value.lower().rstrip("."), "include") for t in targets]
    if record.redirect:
        child_specs.append((record.redirect.lower().rstrip("."), "redirect"))
    children: list[SpfNode] = []
    failures: list[str] = []
    voids = 0
    runnable = []
    for target, kind in child_specs:
        if "%" in target:
            continue  # macro targets depend on the sender: counted, not followed
        if target in ancestors or target == domain:
            problems.append(f"{domain}: {kind} loop back to {target}")
        elif budget.records < MAX_TREE_RECORDS:
            runnable.append((target, kind))
    results = await asyncio.gather(
        *(_expand(resolver, target, kind, ancestors | {domain}, budget) for target, kind in runnable),
        *(_host_lookups(resolver, term, domain) for term in hosts),
    )
    for item in results[: len(runnable)]:
        assert isinstance(item, SpfNode)
        children.append(item)
    for item in results[len(runnable):]:
        assert isinstance(item, tuple)
        voids += item[0]
        failures.extend(item[1])
    return SpfNode(domain, via, lookup, texts, record, tuple(children), lookups, voids, tuple(problems),
                   tuple(failures))


async def expand_spf(resolver: DnsResolver, domain: str, record_text: str | None = None) -> SpfTree:
    """Fetch the SPF tree of `domain` (concurrently) and total what RFC 7208 4.6.4 limits.

    With `record_text`, that record stands in for the published one (to count a proposed record).
    """
    budget = _Budget()
    domain = domain.lower().rstrip(".")
    if record_text is None:
        root = await _expand(resolver, domain, "", frozenset(), budget)
    else:
        stand_in = Lookup(domain, "TXT", LookupStatus.OK, (record_text,))
        root = await _expand_lookup(resolver, domain, "", stand_in, frozenset(), budget)
    nodes: list[SpfNode] = []
    stack = [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children)
    networks = tuple(_network(t) for n in nodes if n.record for t in n.record.mechanisms if t.name in ("ip4", "ip6")
                     if t.qualifier == "+")
    lookups = sum(n.lookups for n in nodes)
    voids = sum(n.voids for n in nodes)
    problems = [p for n in nodes for p in n.problems]
    if lookups > MAX_LOOKUPS:
        problems.append(f"{lookups} DNS-querying terms: more than the {MAX_LOOKUPS} RFC 7208 allows")
    if voids > MAX_VOID_LOOKUPS:
        problems.append(f"{voids} names in the record answered nothing (void lookups): more than the "
                        f"{MAX_VOID_LOOKUPS} RFC 7208 allows")
    return SpfTree(root, lookups, voids, tuple(problems), tuple(f for n in nodes for f in n.failures),
                   frozenset(n.domain for n in nodes if n.via), networks, max(budget.ttls, default=None))


class _Limits:
    """One check_host() evaluation: the RFC 7208 4.6.4 counters, and the HELO name for %{h}."""

    def __init__(self, helo: str = "") -> None:
        self.lookups = 0
        self.voids = 0
        self.helo = helo

    def spend(self) -> bool:
        self.lookups += 1
        return self.lookups <= MAX_LOOKUPS

    def void(self, lookup: Lookup) -> bool:
        if lookup.void:
            self.voids += 1
        return self.voids <= MAX_VOID_LOOKUPS


class _PermError(Exception):
    pass


class _TempError(Exception):
    pass


def _checked(lookup: Lookup, limits: _Limits) -> Lookup:
    if lookup.failed:
        raise _TempError(lookup.error)
    if not limits.void(lookup):
        raise _PermError("more than 2 void lookups")
    return lookup


def _in(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, address: str, term: Term) -> bool:
    prefix = term.cidr4 if ip.version == 4 else term.cidr6
    try:
        candidate = ipaddress.ip_address(address)
    except ValueError:
        return False
    if candidate.version != ip.version:
        return False
    return ip in ipaddress.ip_network(f"{candidate}/{prefix if prefix is not None else ip.max_prefixlen}",
                                      strict=False)


def _usable(name: str) -> bool:
    """A name a DNS query can be built from (RFC 1035 labels); others are treated as non-existent (RFC 7208 4.3)."""
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and all(0 < len(label) <= 63 for label in labels)


def _same_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


async def _validated_names(resolver: DnsResolver, ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                           limits: _Limits) -> list[str]:
    """RFC 7208 5.5: the PTR names of `ip` whose forward lookup contains `ip` (at most 10 are tried)."""
    ptr = _checked(await resolver.lookup(reverse_name(str(ip)), "PTR"), limits)
    rdtype = "A" if ip.version == 4 else "AAAA"
    names = [n.lower().rstrip(".") for n in ptr.records[:10]]
    forwards = await asyncio.gather(*(resolver.lookup(name, rdtype) for name in names))
    return [name for name, forward in zip(names, forwards, strict=True)
            if any(_same_address(ip, a) for a in forward.records)]


async def _expand_spec(resolver: DnsResolver, spec: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                  domain: str, sender: str, limits: _Limits) -> str:
    validated = "unknown"
    if "%{p" in spec.lower():
        names = await _validated_names(resolver, ip, limits)
        validated = next((n for n in names if n == domain or n.endswith("." + domain)), names[0] if names else
                         "unknown")
    return expand_macros(spec, sender=sender, domain=domain, ip=str(ip), helo=limits.helo, validated=validated)


async def _matches(resolver: DnsResolver, term: Term, ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                   domain: str, sender: str, limits: _Limits) -> bool:
    target = await _expand_spec(resolver, term.value, ip, domain, sender, limits) if term.value else domain
    target = target.lower().rstrip(".")
    rdtype = "A" if ip.version == 4 else "AAAA"
    if term.name == "all":
        return True
    if term.name in ("ip4", "ip6"):
        return ip.version == (4 if term.name == "ip4" else 6) and ip in _network(term)
    if not limits.spend():
        raise _PermError("more than 10 DNS-querying terms")
    if not _usable(target):
        if term.name == "include":
            raise _PermError(f"include:{target} is not a usable domain name")
        return False
    if term.name == "include":
        result = await _check(resolver, ip, target, sender, limits)
        if result in (SpfResult.TEMPERROR, SpfResult.PERMERROR):
            raise _TempError(target) if result is SpfResult.TEMPERROR else _PermError(target)
        if result is SpfResult.NONE:
            raise _PermError(f"include:{target} has no SPF record")
        return result is SpfResult.PASS
    if term.name == "a":
        return any(_in(ip, a, term) for a in _checked(await resolver.lookup(target, rdtype), limits).records)
    if term.name == "mx":
        mx = _checked(await resolver.lookup(target, "MX"), limits)
        hosts = [r.split()[-1] for r in mx.records]
        if len(hosts) > 10:
            raise _PermError(f"mx:{target} has more than 10 MX hosts")
        answers = await asyncio.gather(*(resolver.lookup(h, rdtype) for h in hosts))
        return any(_in(ip, a, term) for answer in answers for a in _checked(answer, limits).records)
    if term.name == "exists":
        return _checked(await resolver.lookup(target, "A"), limits).ok
    # ptr (deprecated): a validated name of the IP that is the target domain or below it
    return any(name == target or name.endswith("." + target) for name in await _validated_names(resolver, ip, limits))


async def _check(resolver: DnsResolver, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, domain: str,
                 sender: str, limits: _Limits) -> SpfResult:
    lookup = await resolver.lookup(domain, "TXT")
    if lookup.failed:
        return SpfResult.TEMPERROR
    texts = [t for t in lookup.records if is_spf(t)]
    if not texts:
        return SpfResult.NONE
    if len(texts) > 1:
        return SpfResult.PERMERROR
    record = parse_spf(texts[0])
    if record.errors:
        return SpfResult.PERMERROR
    try:
        for term in record.mechanisms:
            if await _matches(resolver, term, ip, domain, sender, limits):
                return QUALIFIER_RESULT[term.qualifier]
        if record.redirect:
            if not limits.spend():
                return SpfResult.PERMERROR
            target = await _expand_spec(resolver, record.redirect, ip, domain, sender, limits)
            result = await _check(resolver, ip, target, sender, limits)
            return SpfResult.PERMERROR if result is SpfResult.NONE else result
    except _PermError:
        return SpfResult.PERMERROR
    except _TempError:
        return SpfResult.TEMPERROR
    return SpfResult.NEUTRAL


async def check_host(resolver: DnsResolver, ip: str, domain: str, sender: str = "", *, helo: str = "") -> SpfResult:
    """RFC 7208 check_host(): what a receiver concludes for mail from `ip` with MAIL FROM in `domain`."""
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or not all(0 < len(label) <= 63 for label in labels):
        return SpfResult.NONE  # RFC 7208 4.3: not a usable domain name
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # RFC 7208 5: IPv4-mapped IPv6 connections are treated as IPv4
    return await _check(resolver, address, domain, sender or f"postmaster@{domain}", _Limits(helo))
