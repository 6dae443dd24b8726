"""One DNS resolver per health run: concurrent, de-duplicated, cached, and honest about failures.

A name that does not exist (NXDOMAIN) or has no record of the type (NODATA) is an answer; a timeout,
SERVFAIL or refused query is not: it becomes `LookupStatus.ERROR`, and the checks report `error`
("could not find out"), never "record missing" (checkdmarc conflates the two).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver

from wizard.services.validation import InvalidInputError

DEFAULT_TIMEOUT_S = 5.0


class LookupStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    ERROR = "error"


@dataclass(frozen=True)
class Lookup:
    """The answer to one (name, type) question; records are presentation text (TXT strings joined)."""

    name: str
    rdtype: str
    status: LookupStatus
    records: tuple[str, ...] = ()
    ttl: int | None = None
    canonical_name: str = ""  # differs from name when a CNAME chain was followed
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is LookupStatus.OK

    @property
    def void(self) -> bool:
        """RFC 7208 4.6.4: an answer that exists but holds nothing (NXDOMAIN or no records)."""
        return self.status in (LookupStatus.NXDOMAIN, LookupStatus.NODATA)

    @property
    def failed(self) -> bool:
        return self.status is LookupStatus.ERROR

    @property
    def cname(self) -> str:
        return self.canonical_name if self.canonical_name and self.canonical_name != self.name else ""


class DnsResolver(Protocol):
    """What the checks need; tests may inject a fake, the app uses `Resolver`."""

    async def lookup(self, name: str, rdtype: str) -> Lookup: ...


def parse_nameserver(text: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `IPv6` or `[IPv6]:PORT` -> (ip, port); `InvalidInputError` otherwise."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    try:
        ip = str(ipaddress.ip_address(host))
    except ValueError:
        raise InvalidInputError("nameserver", f"'{text}' is not IP[:PORT] (e.g. 127.0.0.1:5353 or [::1]:53).") from None
    port = 53
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise InvalidInputError("nameserver", f"'{text}': the port must be 1-65535.")
        port = int(port_text)
    return ip, port


def _normal(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _text(rdata: object, rdtype: str) -> str:
    if rdtype == "TXT":
        strings: tuple[bytes, ...] = getattr(rdata, "strings", ())
        return b"".join(strings).decode("utf-8", errors="replace")
    if rdtype == "MX":
        return f"{getattr(rdata, 'preference', 0)} {_normal(str(getattr(rdata, 'exchange', '')))}"
    if rdtype in ("CNAME", "PTR", "NS"):
        return _normal(str(getattr(rdata, "target", "")))
    return str(rdata)


class Resolver:
    """dns.asyncresolver behind a per-run cache; identical concurrent questions share one query."""

    def __init__(self, nameserver: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if nameserver:
            ip, port = parse_nameserver(nameserver)
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [ip]
            self._resolver.port = port
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                # no system resolver configured: every lookup then reports `error`, never "missing"
                self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout
        self._tasks: dict[tuple[str, str], asyncio.Task[Lookup]] = {}
        self.queries = 0

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        key = (_normal(name), rdtype.upper())
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(*key))
            self._tasks[key] = task
        # shield: one cancelled caller must not cancel the shared query for the others
        return await asyncio.shield(task)

    def cancel_pending(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    async def _query(self, name: str, rdtype: str) -> Lookup:
        self.queries += 1
        try:
            answer = await self._resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            try:
                canonical = _normal(str(exc.canonical_name))
            except (KeyError, TypeError, AttributeError):
                canonical = name
            return Lookup(name, rdtype, LookupStatus.NXDOMAIN, canonical_name=canonical)
        except dns.resolver.NoNameservers:
            return Lookup(name, rdtype, LookupStatus.ERROR, error="the DNS server failed (SERVFAIL or refused)")
        except dns.exception.Timeout:
            seconds = f"{self._resolver.lifetime:g}"
            return Lookup(name, rdtype, LookupStatus.ERROR, error=f"no answer within {seconds} s (timeout)")
        except (dns.exception.DNSException, OSError) as exc:
            return Lookup(name, rdtype, LookupStatus.ERROR, error=f"lookup failed: {exc}")
        canonical = _normal(str(answer.canonical_name))
        if answer.rrset is None:
            return Lookup(name, rdtype, LookupStatus.NODATA, canonical_name=canonical)
        records = tuple(_text(rdata, rdtype) for rdata in answer.rrset)
        return Lookup(name, rdtype, LookupStatus.OK, records=records, ttl=answer.rrset.ttl, canonical_name=canonical)


def reverse_name(ip: str) -> str:
    return _normal(ipaddress.ip_address(ip).reverse_pointer)
