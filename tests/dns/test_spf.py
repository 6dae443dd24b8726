"""SPF parsing, merging and RFC 7208 evaluation: pure functions, and check_host over an injected fake resolver."""

from __future__ import annotations

import pytest

from wizard.services.dns_health.resolver import Lookup, LookupStatus
from wizard.services.dns_health.spf import expand_macros, merge_records, merge_terms, parse_spf
from wizard.services.dns_health.spf_eval import SpfResult, check_host, expand_spf


@pytest.mark.parametrize("record", [
    "v=spf1 -all",
    "v=spf1 a mx/24 a:mail.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com ~all",
    "v=spf1 exists:%{i}._spf.%{d} ?all",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 ip4:192.0.2.1 unknown-modifier=whatever -all",
])
def test_valid_records_parse_without_errors(record: str) -> None:
    assert parse_spf(record).errors == ()


@pytest.mark.parametrize(("record", "error"), [
    ("v=spf1 inlcude:example.com -all", "'inlcude:example.com' is not an SPF mechanism"),
    ("v=spf1 ip4:300.1.1.1 -all", "'300.1.1.1' is not an IPv4 address"),
    ("v=spf1 ip4:192.0.2.0/33 -all", "/33 is not a prefix length from 0 to 32"),
    ("v=spf1 ip6:192.0.2.1 -all", "is not an IPv6 address"),
    ("v=spf1 redirect=a.example redirect=b.example", "'redirect=' appears twice"),
    ("v=spf1 include: -all", "include needs a domain"),
    ("v=spf1 include:nodot -all", "'nodot' is not a valid domain"),
    ("v=spf1 all:x", "all takes no value"),
    ("spf1 -all", "does not start with v=spf1"),
])
def test_syntax_errors_are_named(record: str, error: str) -> None:
    errors = parse_spf(record).errors
    assert any(error in e for e in errors), errors


def test_redirect_is_ignored_when_all_is_present() -> None:
    assert parse_spf("v=spf1 -all redirect=x.example").redirect is None
    assert parse_spf("v=spf1 mx redirect=x.example").redirect == "x.example"


def test_merge_keeps_terms_and_qualifier_and_adds_before_all() -> None:
    record = parse_spf("v=spf1 mx include:_spf.google.com ?all")
    assert merge_terms(record, ["include:spf.protection.outlook.com"]) == (
        "v=spf1 mx include:_spf.google.com include:spf.protection.outlook.com ?all")


def test_merge_never_adds_a_term_twice() -> None:
    record = parse_spf("v=spf1 +include:spf.protection.outlook.com -all")
    assert merge_terms(record, ["include:spf.protection.outlook.com", "include:spf.protection.outlook.com"]) == (
        "v=spf1 +include:spf.protection.outlook.com -all")


def test_merge_without_all_goes_before_the_modifiers() -> None:
    assert merge_terms(parse_spf("v=spf1 mx redirect=x.example"), ["ip4:192.0.2.1"]) == (
        "v=spf1 mx ip4:192.0.2.1 redirect=x.example")


def test_two_records_fold_into_one() -> None:
    folded = merge_records([parse_spf("v=spf1 mx ~all"), parse_spf("v=spf1 mx ip4:192.0.2.1 -all")])
    assert folded.text == "v=spf1 mx ip4:192.0.2.1 ~all"


def test_macro_expansion_rfc_7208_examples() -> None:
    # RFC 7208 7.4, sender strong-bad@email.example.com from 192.0.2.3
    sender, domain, ip = "strong-bad@email.example.com", "email.example.com", "192.0.2.3"
    assert expand_macros("%{s}", sender=sender, domain=domain, ip=ip) == sender
    assert expand_macros("%{d4}", sender=sender, domain=domain, ip=ip) == "email.example.com"
    assert expand_macros("%{d2}", sender=sender, domain=domain, ip=ip) == "example.com"
    assert expand_macros("%{dr}", sender=sender, domain=domain, ip=ip) == "com.example.email"
    assert expand_macros("%{l-}", sender=sender, domain=domain, ip=ip) == "strong.bad"
    assert expand_macros("%{ir}.%{v}._spf.%{d2}", sender=sender, domain=domain, ip=ip) == (
        "3.2.0.192.in-addr._spf.example.com")


class FakeResolver:
    """A dict of answers; anything else is NXDOMAIN. Names in `broken` time out."""

    def __init__(self, records: dict[tuple[str, str], tuple[str, ...]], broken: frozenset[str] = frozenset()) -> None:
        self.records = records
        self.broken = broken
        self.asked: list[tuple[str, str]] = []

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        self.asked.append((name, rdtype))
        if name in self.broken:
            return Lookup(name, rdtype, LookupStatus.ERROR, error="timeout")
        found = self.records.get((name, rdtype))
        if found is None:
            exists = any(n == name for n, _ in self.records)
            return Lookup(name, rdtype, LookupStatus.NODATA if exists else LookupStatus.NXDOMAIN)
        return Lookup(name, rdtype, LookupStatus.OK, found, 300)


ZONE = {
    ("example.test", "TXT"): ("v=spf1 ip4:192.0.2.0/24 a:mail.example.test mx include:esp.test ~all",),
    ("mail.example.test", "A"): ("198.51.100.7",),
    ("example.test", "MX"): ("10 mx.example.test",),
    ("mx.example.test", "A"): ("198.51.100.25",),
    ("esp.test", "TXT"): ("v=spf1 ip4:203.0.113.0/24 -all",),
    ("neutral.test", "TXT"): ("v=spf1 ?all",),
    ("loop.test", "TXT"): ("v=spf1 include:loop.test -all",),
    ("redir.test", "TXT"): ("v=spf1 redirect=esp.test",),
    ("badinclude.test", "TXT"): ("v=spf1 include:nothing.test -all",),
    ("broken.test", "TXT"): ("v=spf1 include:down.test -all",),
}


@pytest.mark.asyncio
@pytest.mark.parametrize(("ip", "domain", "result"), [
    ("192.0.2.9", "example.test", SpfResult.PASS),      # ip4
    ("198.51.100.7", "example.test", SpfResult.PASS),   # a:
    ("198.51.100.25", "example.test", SpfResult.PASS),  # mx
    ("203.0.113.5", "example.test", SpfResult.PASS),    # include
    ("233.252.0.1", "example.test", SpfResult.SOFTFAIL),
    ("2001:db8::1", "example.test", SpfResult.SOFTFAIL),
    ("203.0.113.5", "redir.test", SpfResult.PASS),
    ("192.0.2.1", "redir.test", SpfResult.FAIL),
    ("192.0.2.1", "neutral.test", SpfResult.NEUTRAL),
    ("192.0.2.1", "nospf.test", SpfResult.NONE),
    ("192.0.2.1", "badinclude.test", SpfResult.PERMERROR),  # include target without a record
    ("192.0.2.1", "loop.test", SpfResult.PERMERROR),        # runs past 10 lookups
    ("192.0.2.1", "broken.test", SpfResult.TEMPERROR),
])
async def test_check_host(ip: str, domain: str, result: SpfResult) -> None:
    resolver = FakeResolver(ZONE, broken=frozenset({"down.test"}))
    assert await check_host(resolver, ip, domain) is result


@pytest.mark.asyncio
async def test_expansion_counts_lookups_and_detects_loops() -> None:
    tree = await expand_spf(FakeResolver(ZONE), "example.test")
    assert tree.lookup_count == 3  # a:, mx, include:
    assert tree.void_count == 0
    assert tree.domains == frozenset({"esp.test"})
    loop = await expand_spf(FakeResolver(ZONE), "loop.test")
    assert any("loop" in p for p in loop.problems)


@pytest.mark.asyncio
async def test_expansion_reports_failed_includes_as_failures_not_missing() -> None:
    tree = await expand_spf(FakeResolver(ZONE, broken=frozenset({"down.test"})), "broken.test")
    assert tree.failures == ("TXT down.test: timeout",)
    assert not any("no SPF record" in p for p in tree.problems)
