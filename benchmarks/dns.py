"""DNS health speed: the full check vs the slowest single lookup chain, with 50 ms per DNS answer.

A local DNS server (tests/dns/server.py) answers every query after an injected latency. The test
domain's SPF has 3 levels of includes, so the longest chain of dependent lookups is 4 TXT queries
(domain -> l1 -> l2 -> l3). Because every independent query runs concurrently, the full check
(SPF tree, DKIM selectors, DMARC, MX + addresses, MTA-STS, TLS-RPT, BIMI, DNSSEC) should take at most
2x that chain. checkdmarc, if installed, checks the same domain against the same server in the
same run (it resolves sequentially and does no DKIM).

    .venv/bin/python benchmarks/dns.py [--latency-ms 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this file is named dns.py: its own folder must not shadow dnspython's `dns` package
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent)]

from tests.dns.server import ZoneResolver, dns_server  # noqa: E402
from tests.dns.zones import DKIM_2048  # noqa: E402
from wizard.services.dns_health import Resolver, check_domain  # noqa: E402

DOMAIN = "bench.test"
CHAIN = (DOMAIN, "l1.bench.test", "l2.bench.test", "l3.bench.test")
ZONE = {
    DOMAIN: [("TXT", "v=spf1 include:l1.bench.test mx ~all", 300), ("MX", "10 mx.bench.test", 300)],
    "l1.bench.test": [("TXT", "v=spf1 include:l2.bench.test include:spf.protection.outlook.com "
                              "ip4:192.0.2.0/28 ~all", 300)],
    "l2.bench.test": [("TXT", "v=spf1 include:l3.bench.test ip4:192.0.2.16/28 ~all", 300)],
    "l3.bench.test": [("TXT", "v=spf1 ip4:192.0.2.32/28 -all", 300)],
    "spf.protection.outlook.com": [("TXT", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all", 300)],
    "mx.bench.test": [("A", "192.0.2.25", 300)],
    "_dmarc.bench.test": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test", 300)],
    "selector1._domainkey.bench.test": [("CNAME", "selector1-bench-test._domainkey.bench.onmicrosoft.com", 300)],
    "selector2._domainkey.bench.test": [("CNAME", "selector2-bench-test._domainkey.bench.onmicrosoft.com", 300)],
    "selector1-bench-test._domainkey.bench.onmicrosoft.com": [("TXT", DKIM_2048, 300)],
    "selector2-bench-test._domainkey.bench.onmicrosoft.com": [("TXT", DKIM_2048, 300)],
}


async def slowest_chain(nameserver: str) -> float:
    """The include chain resolved one dependent query after the other: the floor for any checker."""
    resolver = Resolver(nameserver, timeout=5)
    started = time.perf_counter()
    for name in CHAIN:
        lookup = await resolver.lookup(name, "TXT")
        assert lookup.ok, lookup
    return time.perf_counter() - started


async def full_check(nameserver: str) -> float:
    started = time.perf_counter()
    report = await check_domain(DOMAIN, provider="m365", nameserver=nameserver, timeout_s=5)
    elapsed = time.perf_counter() - started
    assert report.check("spf").status.value == "pass", report.check("spf")
    assert report.check("dkim").status.value == "pass", report.check("dkim")
    return elapsed


def checkdmarc_runner(nameserver: str) -> Callable[[], float] | None:
    try:
        import checkdmarc
        import dns.nameserver
    except ImportError:
        return None
    logging.getLogger("checkdmarc").setLevel(logging.CRITICAL)  # its DNSSEC probes complain about the test server
    host, _, port = nameserver.rpartition(":")

    def run() -> float:
        started = time.perf_counter()
        checkdmarc.check_domains([DOMAIN], nameservers=[dns.nameserver.Do53Nameserver(host, int(port))],
                                 timeout=5.0)
        return time.perf_counter() - started

    return run


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with dns_server(ZONE, latency_s=args.latency_ms / 1000) as (nameserver, server):
        server_resolver: ZoneResolver = server
        chain = [asyncio.run(slowest_chain(nameserver)) for _ in range(args.runs)]
        before = len(server_resolver.queries)
        full = [asyncio.run(full_check(nameserver)) for _ in range(args.runs)]
        ours_queries = (len(server_resolver.queries) - before) // args.runs
        runner = checkdmarc_runner(nameserver)
        theirs: list[float] = []
        theirs_queries = 0
        if runner is not None:
            before = len(server_resolver.queries)
            theirs = [runner() for _ in range(args.runs)]
            theirs_queries = (len(server_resolver.queries) - before) // args.runs
    print(f"latency per DNS answer: {args.latency_ms:.0f} ms, {args.runs} runs, medians")
    print(f"slowest lookup chain ({len(CHAIN)} dependent TXT queries): {median_ms(chain):7.1f} ms")
    print(f"mailwright full check ({ours_queries} queries, with DKIM): {median_ms(full):7.1f} ms  "
          f"= {median_ms(full) / median_ms(chain):.2f}x the chain (target <= 2x)")
    if theirs:
        print(f"checkdmarc check_domains ({theirs_queries} queries, no DKIM):  {median_ms(theirs):7.1f} ms  "
              f"= {median_ms(theirs) / median_ms(chain):.2f}x the chain, "
              f"{median_ms(theirs) / median_ms(full):.1f}x mailwright")
    else:
        print("checkdmarc is not installed: pip install checkdmarc to compare in the same run")
    return 0 if median_ms(full) <= 2 * median_ms(chain) else 1


if __name__ == "__main__":
    raise SystemExit(main())
