"""A real DNS server on loopback (dnslib) serving test zones; plus one that SERVFAILs and one that never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

# name -> [(type, value, ttl)]; value for MX is "preference host"
Zone = Mapping[str, Sequence[tuple[str, str, int]]]


def _rdata(rtype: str, value: str) -> Any:
    if rtype == "TXT":
        data = value.encode()
        return TXT([data[i:i + 255] for i in range(0, len(data), 255)] or [b""])
    if rtype == "MX":
        preference, host = value.split()
        return MX(host, int(preference))
    return {"A": A, "AAAA": AAAA, "CNAME": CNAME, "PTR": PTR}[rtype](value)


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Authoritative answers with CNAME chasing, NXDOMAIN vs NODATA (empty non-terminals), optional latency."""

    def __init__(self, zone: Zone, *, latency_s: float = 0.0, rcode: int | None = None) -> None:
        self.zone = {name.lower().rstrip("."): list(rrs) for name, rrs in zone.items()}
        self.latency_s = latency_s
        self.rcode = rcode
        self.queries: list[tuple[str, str]] = []

    def _exists(self, name: str) -> bool:
        return name in self.zone or any(other.endswith("." + name) for other in self.zone)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        if self.latency_s:
            time.sleep(self.latency_s)  # injected latency (benchmark only); the server is threaded
        if self.rcode is not None:
            reply.header.rcode = self.rcode
            return reply
        name = qname
        for _ in range(8):
            if not self._exists(name):
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            records = self.zone.get(name, [])
            cname = [value for rtype, value, _ in records if rtype == "CNAME"]
            if cname and qtype != "CNAME":
                ttl = next(t for rtype, _, t in records if rtype == "CNAME")
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(cname[0]), ttl=ttl))
                name = cname[0].lower().rstrip(".")
                continue
            for rtype, value, ttl in records:
                if rtype == qtype:
                    reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=_rdata(rtype, value), ttl=ttl))
            return reply
        reply.header.rcode = RCODE.SERVFAIL
        return reply


@contextmanager
def dns_server(zone: Zone, *, latency_s: float = 0.0, rcode: int | None = None,
               address: str = "127.0.0.1") -> Iterator[tuple[str, ZoneResolver]]:
    """A threaded UDP server on a free port; yields ("127.0.0.1:PORT", resolver)."""
    resolver = ZoneResolver(zone, latency_s=latency_s, rcode=rcode)
    logger = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", logf=lambda _msg: None)
    server = DNSServer(resolver, address=address, port=0, logger=logger)
    server.start_thread()
    port = server.server.server_address[1]
    try:
        yield f"{address}:{port}", resolver
    finally:
        server.stop()
        server.server.server_close()


@contextmanager
def silent_server(address: str = "127.0.0.1") -> Iterator[str]:
    """A UDP port that receives queries and never answers: every lookup must time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    try:
        yield f"{address}:{sock.getsockname()[1]}"
    finally:
        sock.close()
