"""Several domains: `mailwright dns D1 … D7` as one process vs checkdmarc checking the same seven in one process.

Both are whole processes started the way an admin starts them (imports included) against the same local DNS
server, which answers every query after an injected latency (50 ms by default, like a resolver across the
internet). checkdmarc is installed only into this benchmark's own environment (benchmarks/.venv-checkdmarc,
created on first run with pip), never as a Mailwright dependency. Runs are interleaved; medians are compared.
Target (issue 16): Mailwright <= 0.35x checkdmarc.

    .venv/bin/python benchmarks/dns_domains.py [--latency-ms 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this folder holds dns.py: it must not shadow dnspython's `dns` package
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent)]

from tests.dns.server import dns_server  # noqa: E402
from tests.dns.zones import DKIM_2048  # noqa: E402

THEIRS_ENV = ROOT / "benchmarks" / ".venv-checkdmarc"
DOMAINS = tuple(f"d{n}.bench.test" for n in range(1, 8))


def zone() -> dict[str, list[tuple[str, str, int]]]:
    """Seven domains like a small company's: SPF with two levels of includes, MX, DMARC, two DKIM selectors."""
    records: dict[str, list[tuple[str, str, int]]] = {
        "spf.protection.outlook.com": [("TXT", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all", 300)],
    }
    for domain in DOMAINS:
        records[domain] = [("TXT", f"v=spf1 include:l1.{domain} mx ~all", 300), ("MX", f"10 mx.{domain}", 300)]
        records[f"l1.{domain}"] = [("TXT", f"v=spf1 include:l2.{domain} include:spf.protection.outlook.com ~all",
                                    300)]
        records[f"l2.{domain}"] = [("TXT", "v=spf1 ip4:192.0.2.0/28 -all", 300)]
        records[f"mx.{domain}"] = [("A", "192.0.2.25", 300)]
        records[f"_dmarc.{domain}"] = [("TXT", f"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}", 300)]
        for selector in ("selector1", "selector2"):
            records[f"{selector}._domainkey.{domain}"] = [("TXT", DKIM_2048, 300)]
    return records


def ensure_checkdmarc() -> Path:
    python = THEIRS_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {THEIRS_ENV.relative_to(ROOT)} with checkdmarc (first run only) ...", flush=True)
        venv.create(THEIRS_ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "checkdmarc"],
                       check=True)
    return python


THEIRS_CODE = """
import logging, sys
import checkdmarc, dns.nameserver
logging.disable(logging.CRITICAL)  # its DNSSEC probes complain about the test server
host, port = sys.argv[1].rsplit(":", 1)
checkdmarc.check_domains(sys.argv[2:], nameservers=[dns.nameserver.Do53Nameserver(host, int(port))], timeout=5.0)
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1) or (result.returncode and "Traceback" in result.stderr):
        raise SystemExit(f"{command[:3]} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    theirs_python = ensure_checkdmarc()
    env = {**os.environ, "MAILWRIGHT_HOME": str(ROOT / "benchmarks" / ".venv-checkdmarc" / "mailwright-home")}
    ours: list[float] = []
    theirs: list[float] = []
    with dns_server(zone(), latency_s=args.latency_ms / 1000) as (nameserver, _server):
        ours_command = [sys.executable, "-m", "wizard", "dns", *DOMAINS, "--provider", "m365",
                        "--nameserver", nameserver, "--json"]
        theirs_command = [str(theirs_python), "-c", THEIRS_CODE, nameserver, *DOMAINS]
        for _ in range(args.rounds):
            ours.append(timed(ours_command, env))
            theirs.append(timed(theirs_command, env))
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    ratio = ours_ms / theirs_ms
    print(f"{len(DOMAINS)} domains, {args.latency_ms:.0f} ms per DNS answer, {args.rounds} interleaved rounds, "
          f"medians of whole processes")
    print(f"checkdmarc check_domains (baseline): {theirs_ms:8.1f} ms")
    print(f"mailwright dns (with DKIM, MTA-STS, TLS-RPT, BIMI, DNSSEC): {ours_ms:8.1f} ms "
          f"= {ratio:.2f}x checkdmarc (target <= 0.35x)")
    return 0 if ratio <= 0.35 else 1


if __name__ == "__main__":
    raise SystemExit(main())
