"""DNS health of a sender domain: SPF, DKIM, DMARC, MX and friends, aware of the chosen provider.

Public API: `check_domain(...) -> HealthReport`; the report's checks, recommendations and letter.
Everything here is importable without Qt; parsing and assessment are pure functions, DNS is async.
"""

from __future__ import annotations

from wizard.services.dns_health.checks import ORDER, ProgressCallback, check_domain, normalise_domain
from wizard.services.dns_health.report import CheckResult, HealthReport, Recommendation, Status
from wizard.services.dns_health.resolver import DnsResolver, Lookup, LookupStatus, Resolver, parse_nameserver

__all__ = ["ORDER", "CheckResult", "DnsResolver", "HealthReport", "Lookup", "LookupStatus", "ProgressCallback",
           "Recommendation", "Resolver", "Status", "check_domain", "normalise_domain", "parse_nameserver"]
