"""Graph transport overhead: N messages through GraphTransport vs direct httpx POSTs of the same bodies.

Both run in the same process against the same local HTTPS Graph endpoint (tests/fixtures/graph_endpoint.py),
one connection pool each, sequentially and with 4 concurrent senders (Graph's per-app limit). The ratio
is what the transport costs on top of the bare HTTP request (Bcc/size checks, token source, limits).

    .venv/bin/python benchmarks/graph.py [--messages 500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.graph_endpoint import GraphEndpoint, graph_server_context  # noqa: E402
from wizard.services.message import TestMail, build_test_message  # noqa: E402
from wizard.services.model import AuthMode, Profile, ProviderKind  # noqa: E402
from wizard.services.transports.base import TokenCredential  # noqa: E402
from wizard.services.transports.graph import GraphTransport  # noqa: E402
from wizard.services.transports.smtp import tls_context  # noqa: E402

MAILBOX = "app@example.com"
CONCURRENCY = 4


def messages(count: int) -> list[bytes]:
    return [build_test_message(TestMail(from_address=MAILBOX, to=["ops@example.net"], subject=f"Benchmark {n}",
                                        body=f"Message {n}.\n" * 20)).as_bytes() for n in range(count)]


async def run_workers(count: int, workers: int, send: Callable[[int], Awaitable[None]]) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await send(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


async def through_transport(endpoint: GraphEndpoint, ca_file: str, bodies: list[bytes], workers: int) -> float:
    token = endpoint.issue_token()

    async def source(force_refresh: bool) -> str:
        return token

    profile = Profile(name="bench", provider=ProviderKind.GRAPH, from_address=MAILBOX, auth=AuthMode.CLIENT_SECRET,
                      client_id="bench-app", graph_endpoint=endpoint.url, ca_file=ca_file)
    async with GraphTransport.for_profile(profile, TokenCredential(MAILBOX, source)) as graph:
        async def send(n: int) -> None:
            await graph.send(MAILBOX, ["ops@example.net"], bodies[n])

        return await run_workers(len(bodies), workers, send)


async def direct(endpoint: GraphEndpoint, ca_file: str, bodies: list[bytes], workers: int) -> float:
    headers = {"Authorization": f"Bearer {endpoint.issue_token()}", "Content-Type": "text/plain"}
    url = f"{endpoint.url}/v1.0/users/{MAILBOX}/sendMail"
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(verify=tls_context(ca_file), limits=limits) as client:
        async def send(n: int) -> None:
            response = await client.post(url, content=base64.b64encode(bodies[n]), headers=headers)
            assert response.status_code == 202, response.text

        return await run_workers(len(bodies), workers, send)


async def main(count: int) -> None:
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp:
        ca_file = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        endpoint = GraphEndpoint(graph_server_context(ca)).start()
        endpoint.add_mailbox(MAILBOX)
        try:
            bodies = messages(count)
            await direct(endpoint, ca_file, bodies[:20], 1)  # warm-up: imports, TLS session, threads
            print(f"{count} messages of ~{sum(map(len, bodies)) // count} bytes, local HTTPS Graph endpoint")
            for workers in (1, CONCURRENCY):
                bare = await direct(endpoint, ca_file, bodies, workers)
                transport = await through_transport(endpoint, ca_file, bodies, workers)
                print(f"  {workers} sender(s): transport {transport:.2f} s ({count / transport:.0f}/s), "
                      f"direct httpx {bare:.2f} s ({count / bare:.0f}/s), ratio transport/direct "
                      f"{transport / bare:.2f}")
            assert len(endpoint.received) == 20 + 4 * count
        finally:
            endpoint.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    asyncio.run(main(parser.parse_args().messages))
