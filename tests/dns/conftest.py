"""One real DNS server for the whole DNS test package, plus a SERVFAIL server and a silent one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme
from dnslib import RCODE

from tests.dns.mta_sts_server import PolicyServer, policy_server
from tests.dns.server import dns_server, silent_server
from tests.dns.zones import STS_DOMAINS, ZONE


@pytest.fixture(scope="session")
def nameserver() -> Iterator[str]:
    with dns_server(ZONE) as (address, _resolver):
        yield address


@pytest.fixture(scope="session")
def servfail_nameserver() -> Iterator[str]:
    with dns_server({}, rcode=RCODE.SERVFAIL) as (address, _resolver):
        yield address


@pytest.fixture(scope="session")
def silent_nameserver() -> Iterator[str]:
    with silent_server() as address:
        yield address


POLICIES = {
    "sts.test": "version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmx: *.backup.sts.test\r\nmax_age: 604800\r\n",
    "stsgap.test": "version: STSv1\nmode: enforce\nmx: mx1.stsgap.test\nmax_age: 604800\n",
    "ststesting.test": "version: STSv1\nmode: testing\nmx: mx1.ststesting.test\nmax_age: 86400\n",
    "stsbad.test": "version: STSv1\nmode: bogus\nmx: mx1.stsbad.test\n",
    "stsuntrusted.test": "version: STSv1\nmode: enforce\nmx: *.stsuntrusted.test\nmax_age: 86400\n",
}


@pytest.fixture(scope="session")
def mta_sts_server(trusted_ca: trustme.CA) -> Iterator[PolicyServer]:
    """HTTPS policies for the STS_DOMAINS zones; stsmissing.test 404s, stsuntrusted.test's name is not certified."""
    answers = {f"mta-sts.{domain}": (200, body) for domain, body in POLICIES.items()}
    answers["mta-sts.stsredirect.test"] = (301, "https://elsewhere.example/.well-known/mta-sts.txt")
    names = tuple(f"mta-sts.{d}" for d in STS_DOMAINS if d != "stsuntrusted.test")
    with policy_server(trusted_ca, answers, names) as server:
        yield server
