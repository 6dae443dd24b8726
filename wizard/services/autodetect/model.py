"""What autodetection answers: proposals (best first) and what each source did.

A source that ran out of time is reported as `TIMEOUT`, never as `NOTHING`: "the DNS server did
not answer" and "this domain has no MX records" lead the admin to different fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wizard.services.model import ProviderKind, Security

# curl's --connect-to: connect to (host, port) at this other (host, port) instead, while TLS is still
# verified against the original name. Tests point example.test names at loopback servers with it.
ConnectTo = Mapping[tuple[str, int], tuple[str, int]]


class Source(StrEnum):
    CATALOGUE = "catalogue"
    MX = "mx"
    AUTOCONFIG = "autoconfig"
    PROBE = "probe"


class SourceStatus(StrEnum):
    FOUND = "found"  # at least one proposal
    NOTHING = "nothing"  # answered, but nothing usable
    ERROR = "error"  # failed (refused, bad certificate, malformed document ...)
    TIMEOUT = "timeout"  # no answer before the overall deadline
    SKIPPED = "skipped"  # not needed (the probe when another source already found the provider)


@dataclass(frozen=True)
class Proposal:
    """One way to send as the address, with where the idea came from."""

    provider_kind: ProviderKind
    host: str
    port: int
    security: Security
    source: Source
    evidence: str  # for the admin: "MX record mx1.example.com matches Microsoft 365"
    confidence: float  # 0..1, only meaningful for ordering
    catalogue_id: str = ""
    auth_mechanisms: tuple[str, ...] = ()
    username_hint: str = ""

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.provider_kind.value, self.host.lower(), self.port, self.security.value)

    def to_json(self) -> dict[str, Any]:
        return {"provider_kind": self.provider_kind.value, "catalogue_id": self.catalogue_id, "host": self.host,
                "port": self.port, "security": self.security.value, "auth_mechanisms": list(self.auth_mechanisms),
                "username_hint": self.username_hint, "source": self.source.value, "evidence": self.evidence,
                "confidence": round(self.confidence, 2)}


@dataclass(frozen=True)
class SourceReport:
    source: Source
    status: SourceStatus
    detail: str = ""  # human text: what was asked and what came back
    errors: tuple[str, ...] = ()  # per-endpoint failures worth showing (probe, autoconfig URLs)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source.value, "status": self.status.value, "detail": self.detail,
                "errors": list(self.errors)}


@dataclass(frozen=True)
class SourceOutcome:
    """What one source returns to the orchestrator."""

    proposals: tuple[Proposal, ...] = ()
    detail: str = ""
    errors: tuple[str, ...] = ()
    failed: bool = False  # nothing found *because* something went wrong
    timed_out: bool = False  # nothing found because nothing answered in time

    def report(self, source: Source) -> SourceReport:
        if self.proposals:
            status = SourceStatus.FOUND
        elif self.timed_out:
            status = SourceStatus.TIMEOUT
        elif self.failed:
            status = SourceStatus.ERROR
        else:
            status = SourceStatus.NOTHING
        return SourceReport(source, status, self.detail, self.errors)


@dataclass(frozen=True)
class Detection:
    address: str
    domain: str
    proposals: tuple[Proposal, ...]
    reports: tuple[SourceReport, ...] = field(default=())

    @property
    def best(self) -> Proposal | None:
        return self.proposals[0] if self.proposals else None

    def report(self, source: Source) -> SourceReport | None:
        return next((r for r in self.reports if r.source is source), None)

    @property
    def timed_out(self) -> tuple[Source, ...]:
        return tuple(r.source for r in self.reports if r.status is SourceStatus.TIMEOUT)

    def to_json(self) -> dict[str, Any]:
        return {"ok": bool(self.proposals), "address": self.address, "domain": self.domain,
                "proposals": [p.to_json() for p in self.proposals],
                "sources": [r.to_json() for r in self.reports]}


def ranked(proposals: list[Proposal]) -> tuple[Proposal, ...]:
    """Best first; the same server proposed by two sources is kept once, with the stronger evidence."""
    best: dict[tuple[str, str, int, str], Proposal] = {}
    for proposal in sorted(proposals, key=lambda p: -p.confidence):
        best.setdefault(proposal.key, proposal)
    return tuple(best.values())
