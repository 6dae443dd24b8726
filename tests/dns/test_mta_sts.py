"""MTA-STS: the announced policy is fetched over HTTPS (local server, trustme CA) and checked against the MX."""

from __future__ import annotations

import pytest

from tests.dns.mta_sts_server import PolicyServer
from tests.dns.zones import STS_DOMAINS
from wizard.services.dns_health import check_domain
from wizard.services.dns_health.mta_sts import mx_matches, parse_policy
from wizard.services.dns_health.report import CheckResult, Status


async def mta_sts(nameserver: str, server: PolicyServer, ca_file: str, domain: str) -> CheckResult:
    report = await check_domain(domain, nameserver=nameserver, timeout_s=2.0, ca_file=ca_file,
                                connect_to=server.connect_to(STS_DOMAINS))
    return report.check("mta_sts")


@pytest.mark.parametrize(("pattern", "host", "matches"), [
    ("mx1.example.com", "MX1.example.com.", True), ("*.example.com", "mx.example.com", True),
    ("*.example.com", "a.b.example.com", False), ("*.example.com", "example.com", False),
    ("mx1.example.com", "mx2.example.com", False),
])
def test_mx_patterns_follow_rfc_8461(pattern: str, host: str, matches: bool) -> None:
    assert mx_matches(pattern, host) is matches


def test_policy_parsing_lists_every_problem() -> None:
    good = parse_policy("version: STSv1\r\nmode: enforce\r\nmx: MX1.example.com.\r\nmax_age: 86400\r\n")
    assert (good.mode, good.mx, good.max_age, good.errors) == ("enforce", ("mx1.example.com",), 86400, ())
    bad = parse_policy("version: STSv2\nmode: strict\nmax_age: 99999999999\ngarbage\n")
    assert len(bad.errors) == 4, bad.errors  # line 4, version, mode, max_age


@pytest.mark.asyncio
async def test_a_policy_covering_every_mx_passes(nameserver: str, mta_sts_server: PolicyServer, ca_file: str) -> None:
    result = await mta_sts(nameserver, mta_sts_server, ca_file, "sts.test")

    assert result.status is Status.PASS, result.details
    assert "mode enforce, max_age 604800, mx mx1.sts.test, *.backup.sts.test" in result.details
    assert ("mta-sts.sts.test", "/.well-known/mta-sts.txt") in mta_sts_server.requests


@pytest.mark.asyncio
async def test_an_enforced_policy_missing_an_mx_host_fails_naming_it(nameserver: str, mta_sts_server: PolicyServer,
                                                                     ca_file: str) -> None:
    result = await mta_sts(nameserver, mta_sts_server, ca_file, "stsgap.test")

    assert result.status is Status.FAIL
    assert result.summary == "The MTA-STS policy does not cover the MX host mx2.backup.stsgap.test"
    assert "mail to this domain is lost" in result.details


@pytest.mark.asyncio
async def test_the_same_gap_in_testing_mode_is_a_warning(nameserver: str, mta_sts_server: PolicyServer,
                                                         ca_file: str) -> None:
    result = await mta_sts(nameserver, mta_sts_server, ca_file, "ststesting.test")

    assert result.status is Status.WARN and "only report" in result.details


@pytest.mark.asyncio
@pytest.mark.parametrize(("domain", "problem"), [
    ("stsmissing.test", "HTTP 404"),
    ("stsredirect.test", "HTTP 301 (redirects are not allowed)"),
    ("stsuntrusted.test", "the certificate is not valid for mta-sts.stsuntrusted.test"),
])
async def test_an_announced_policy_that_cannot_be_fetched_fails(nameserver: str, mta_sts_server: PolicyServer,
                                                                ca_file: str, domain: str, problem: str) -> None:
    result = await mta_sts(nameserver, mta_sts_server, ca_file, domain)

    assert result.status is Status.FAIL
    assert result.summary == "MTA-STS is announced but its policy cannot be fetched"
    assert problem in result.details


@pytest.mark.asyncio
async def test_an_invalid_policy_fails_with_its_errors(nameserver: str, mta_sts_server: PolicyServer,
                                                       ca_file: str) -> None:
    result = await mta_sts(nameserver, mta_sts_server, ca_file, "stsbad.test")

    assert result.status is Status.FAIL and result.summary == "The MTA-STS policy is invalid"
    assert "mode must be enforce, testing or none, not 'bogus'" in result.details
    assert "no 'max_age:' line" in result.details


@pytest.mark.asyncio
async def test_without_the_announcement_nothing_is_fetched(nameserver: str, mta_sts_server: PolicyServer,
                                                          ca_file: str) -> None:
    before = len(mta_sts_server.requests)
    result = await mta_sts(nameserver, mta_sts_server, ca_file, "contoso.test")

    assert result.status is Status.INFO and len(mta_sts_server.requests) == before
