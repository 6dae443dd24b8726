"""What a DNS health run produces: one `CheckResult` per check, ready-to-paste records, the admin letter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    INFO = "info"  # nothing to do (bimi, dnssec, optional records)
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"  # the answer could not be obtained (timeout, SERVFAIL): never "missing"


# fail outranks error: a record that is certainly wrong matters more than a lookup that failed elsewhere
SEVERITY = {Status.PASS: 0, Status.INFO: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


def worst(statuses: list[Status], default: Status = Status.PASS) -> Status:
    return max(statuses, key=SEVERITY.__getitem__, default=default)


@dataclass(frozen=True)
class Recommendation:
    """A record to publish or replace: paste `value` as a `record_type` record at `name`."""

    record_type: str
    name: str
    value: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"record_type": self.record_type, "name": self.name, "value": self.value, "why": self.why}


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    summary: str
    details: str = ""
    fix: str = ""
    ttl: int | None = None  # the longest TTL among the records read: how long a change may take to show
    recommendations: tuple[Recommendation, ...] = ()

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status.value, "summary": self.summary, "details": self.details,
                "fix": self.fix}


@dataclass(frozen=True)
class HealthReport:
    domain: str
    checks: tuple[CheckResult, ...]
    recommendations: tuple[Recommendation, ...] = ()
    letter: str = ""
    provider_id: str | None = None
    queries: int = 0  # DNS queries actually sent (the rest came from the run's cache)

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing could not be checked."""
        return all(c.status not in (Status.FAIL, Status.ERROR) for c in self.checks)

    @property
    def dns_failed(self) -> bool:
        return any(c.status is Status.ERROR for c in self.checks)

    @property
    def max_ttl(self) -> int | None:
        """The longest TTL seen: "your change may take up to N minutes to be visible"."""
        return max((c.ttl for c in self.checks if c.ttl is not None), default=None)

    def check(self, check_id: str) -> CheckResult:
        return next(c for c in self.checks if c.id == check_id)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "domain": self.domain, "checks": [c.to_json() for c in self.checks],
                "recommendations": [r.to_json() for r in self.recommendations], "letter": self.letter}
