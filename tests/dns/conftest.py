"""One real DNS server for the whole DNS test package, plus a SERVFAIL server and a silent one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnslib import RCODE

from tests.dns.server import dns_server, silent_server
from tests.dns.zones import ZONE


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
