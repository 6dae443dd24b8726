"""Real servers on loopback for autodetection: a DNS server (dnslib), an HTTPS autoconfig server
(trustme certificate), and "silent" servers that accept and never answer.

Every host name a test's detection may contact is mapped with `connect_to`, so nothing leaves the
machine: names without a server of their own go to a port where nothing listens.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import trustme

from tests.dns.server import Zone, dns_server
from tests.fixtures.https_server import LoopbackHttpsServer, serving
from tests.fixtures.smtp_servers import free_port, refused_port

# --- DNS (the DNS health tests' real dnslib server, with this package's zone) -------------------------

ZONE: Zone = {
    "gmail.com": [("MX", "5 gmail-smtp-in.l.google.com", 60), ("MX", "10 alt1.gmail-smtp-in.l.google.com", 60)],
    "contoso.example.test": [("MX", "0 contoso-example-test.mail.protection.outlook.com", 60)],
    "gsuite.example.test": [("MX", "10 alt1.aspmx.l.google.com", 60), ("MX", "1 aspmx.l.google.com", 60)],
    "legacy-gsuite.example.test": [("MX", "20 aspmx4.googlemail.com", 60), ("MX", "30 mx.backup.example.net", 60)],
    # Domains that exist but publish no MX: only autoconfig or the probe can tell.
    **{domain: [("TXT", "v=spf1 -all", 60)]
       for domain in ("auto.example.test", "wellknown.example.test", "broken.example.test", "probe.example.test")},
}


@pytest.fixture(scope="session")
def nameserver() -> Iterator[str]:
    """"127.0.0.1:PORT" of a real UDP DNS server serving ZONE."""
    with dns_server(ZONE) as (address, _resolver):
        yield address


# --- HTTPS autoconfig ------------------------------------------------------------------------------

@dataclass
class AutoconfigServer:
    port: int
    documents: dict[tuple[str, str], bytes]  # (Host, path) -> body; anything else is 404
    requests: list[tuple[str, str]] = field(default_factory=list)
    # (Host, path) -> an event its answer waits for (at most 5 s), e.g. `answered[other URL]` or a silent
    # server's `contacted`: makes "which URL answers first" deterministic.
    gates: dict[tuple[str, str], threading.Event] = field(default_factory=dict)
    answered: dict[tuple[str, str], threading.Event] = field(
        default_factory=lambda: defaultdict(threading.Event))


class _AutoconfigHandler(BaseHTTPRequestHandler):
    server: _AutoconfigHttpServer

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        state, key = self.server.state, (host, self.path)
        state.requests.append(key)
        if (gate := state.gates.get(key)) is not None:
            gate.wait(timeout=5)
            time.sleep(0.1)  # and the client a moment to take in what opened the gate
        try:
            self._answer(state.documents.get(key))
        finally:
            state.answered[key].set()

    def _answer(self, body: bytes | None) -> None:
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _AutoconfigHttpServer(LoopbackHttpsServer):
    def __init__(self, state: AutoconfigServer, context: ssl.SSLContext) -> None:
        super().__init__(_AutoconfigHandler, context, state.port)
        self.state = state


@pytest.fixture(scope="session")
def autoconfig_certificate_names() -> tuple[str, ...]:
    return tuple(f"{prefix}{domain}" for domain in DOMAINS for prefix in ("", "autoconfig."))


DOMAINS = ("gmail.com", "contoso.example.test", "gsuite.example.test", "auto.example.test",
           "wellknown.example.test", "broken.example.test", "probe.example.test", "quiet.example.test")


@pytest.fixture
def autoconfig_server(trusted_ca: trustme.CA,
                      autoconfig_certificate_names: tuple[str, ...]) -> Iterator[AutoconfigServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trusted_ca.issue_cert(*autoconfig_certificate_names).configure_cert(context)
    state = AutoconfigServer(free_port(), {})
    with serving(_AutoconfigHttpServer(state, context), "autoconfig"):
        yield state


# --- Silent servers --------------------------------------------------------------------------------

@dataclass
class SilentServer:
    """Accepts TCP connections (or receives UDP datagrams) and never answers."""

    port: int
    contacted: threading.Event = field(default_factory=threading.Event)
    all_closed_by_client: threading.Event = field(default_factory=threading.Event)
    connections: list[socket.socket] = field(default_factory=list)


def _serve_silently_tcp(listener: socket.socket, state: SilentServer, stop: threading.Event) -> None:
    listener.settimeout(0.05)
    open_connections: list[socket.socket] = []
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
            connection.settimeout(0.05)
            open_connections.append(connection)
            state.connections.append(connection)
            state.contacted.set()
        except TimeoutError:
            pass
        for connection in list(open_connections):
            try:
                if connection.recv(65536) == b"":
                    open_connections.remove(connection)
            except TimeoutError:
                pass
            except OSError:
                open_connections.remove(connection)
        if state.contacted.is_set() and not open_connections:
            state.all_closed_by_client.set()


@pytest.fixture
def silent_tcp() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    state = SilentServer(listener.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_serve_silently_tcp, args=(listener, state, stop), daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join(timeout=5)
    for connection in state.connections:
        connection.close()
    listener.close()


def _receive_silently_udp(sock: socket.socket, state: SilentServer, stop: threading.Event) -> None:
    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            sock.recvfrom(4096)
            state.contacted.set()
        except TimeoutError:
            pass


@pytest.fixture
def silent_dns() -> Iterator[SilentServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    state = SilentServer(sock.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_receive_silently_udp, args=(sock, state, stop), daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join(timeout=5)
    sock.close()


# --- Mapping every name a detection may contact ------------------------------------------------------

def connect_to_for(domain: str, *, https_port: int | None, smtp: dict[tuple[str, int], int] | None = None,
                   probe_ports: tuple[int, ...] = (587, 465)) -> dict[tuple[str, int], tuple[str, int]]:
    """Autoconfig names -> the HTTPS server (or nowhere), probe endpoints -> the given SMTP ports (or nowhere)."""
    nowhere = refused_port()
    mapping = {(host, 443): ("127.0.0.1", https_port or nowhere) for host in (domain, f"autoconfig.{domain}")}
    for host in (f"smtp.{domain}", f"mail.{domain}"):
        for port in probe_ports:
            mapping[(host, port)] = ("127.0.0.1", (smtp or {}).get((host, port), nowhere))
    return mapping
