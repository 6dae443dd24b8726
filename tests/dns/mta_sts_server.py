"""A local HTTPS server for MTA-STS policies: one policy per `mta-sts.<domain>` host, trustme certificates."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import trustme

from tests.fixtures.https_server import LoopbackHttpsServer, serving

POLICY_PATH = "/.well-known/mta-sts.txt"


@dataclass
class PolicyServer:
    port: int
    answers: dict[str, tuple[int, str]]  # host -> (status, body); the body of a 3xx is its Location
    requests: list[tuple[str, str]] = field(default_factory=list)

    def connect_to(self, domains: tuple[str, ...]) -> dict[tuple[str, int], tuple[str, int]]:
        return {(f"mta-sts.{d}", 443): ("127.0.0.1", self.port) for d in domains}


@contextmanager
def policy_server(ca: trustme.CA, answers: dict[str, tuple[int, str]],
                  names: tuple[str, ...]) -> Iterator[PolicyServer]:
    """Serves `answers` over HTTPS with one certificate for `names` (leave a host out to make its TLS fail)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    state = PolicyServer(0, answers)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            state.requests.append((host, self.path))
            status, body = state.answers.get(host, (404, "")) if self.path == POLICY_PATH else (404, "")
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", body)
                body = ""
            data = body.encode()
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(LoopbackHttpsServer(Handler, context), "mta-sts") as server:
        state.port = server.port
        yield state
