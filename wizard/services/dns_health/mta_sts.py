"""The `mta_sts` check: the `_mta-sts` TXT record, and the policy it announces (RFC 8461) against the MX records.

The policy is fetched from `https://mta-sts.<domain>/.well-known/mta-sts.txt` with a verified
certificate for that host name and without following redirects (RFC 8461 3.3). In `enforce` mode a
sender refuses to deliver to an MX host the policy does not list, so a policy that misses one of the
domain's MX hosts loses mail: that is a failure, not a warning.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.services.dns_health.report import CheckResult, Status
from wizard.services.dns_health.resolver import DnsResolver, Lookup

if TYPE_CHECKING:
    from wizard.services.autodetect.model import ConnectTo  # a type alias; the package is heavy to import

POLICY_LIMIT = 64 * 1024  # RFC 8461 3.3: senders may refuse larger policies
MAX_AGE_LIMIT_S = 31_557_600  # RFC 8461 3.2: at most one year
MODES = ("enforce", "testing", "none")


@dataclass(frozen=True)
class StsPolicy:
    version: str
    mode: str
    max_age: int | None
    mx: tuple[str, ...]
    errors: tuple[str, ...]


def parse_policy(text: str) -> StsPolicy:
    """Pure: the `key: value` lines of a policy (CRLF or LF), with every RFC 8461 3.2 violation listed."""
    fields: dict[str, str] = {}
    mx: list[str] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep:
            errors.append(f"line {number} is not 'key: value': {line.strip()[:60]}")
        elif key == "mx":
            mx.append(value.lower().rstrip("."))
        else:
            fields.setdefault(key, value)
    version, mode = fields.get("version", ""), fields.get("mode", "").lower()
    if version != "STSv1":
        errors.append(f"version must be STSv1, not '{version}'" if version else "no 'version: STSv1' line")
    if mode not in MODES:
        errors.append(f"mode must be enforce, testing or none, not '{mode}'" if mode else "no 'mode:' line")
    max_age: int | None = None
    raw_age = fields.get("max_age", "")
    if raw_age.isdigit() and int(raw_age) <= MAX_AGE_LIMIT_S:
        max_age = int(raw_age)
    else:
        errors.append(f"max_age must be 0-{MAX_AGE_LIMIT_S} seconds, not '{raw_age}'" if raw_age
                      else "no 'max_age:' line")
    if mode in ("enforce", "testing") and not mx:
        errors.append("no 'mx:' line: in enforce or testing mode the policy must list the MX hosts")
    return StsPolicy(version, mode, max_age, tuple(mx), tuple(errors))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: exact, or `*.example.com` standing for exactly one leftmost label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == host


def _announcement(lookup: Lookup) -> list[str]:
    return [r for r in lookup.records if r.replace(" ", "").lower().startswith("v=stsv1")]


@dataclass(frozen=True)
class _Fetched:
    text: str | None
    problem: str


async def fetch_policy(domain: str, *, ca_file: str | None, timeout_s: float, connect_to: ConnectTo) -> _Fetched:
    # Imported here: only a domain that publishes `_mta-sts` needs an HTTPS client (keeps `mailwright dns` light).
    import httpcore

    from wizard.services.autodetect.https_get import ResponseTooLargeError, https_get, verified_context_off_loop

    url = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    try:
        context = await verified_context_off_loop(ca_file)
        response = await https_get(url, ssl_context=context, timeout_s=timeout_s, limit=POLICY_LIMIT,
                                   connect_to=connect_to)
    except ResponseTooLargeError as exc:
        return _Fetched(None, f"{url}: {exc}")
    except (httpcore.TimeoutException, TimeoutError):
        return _Fetched(None, f"{url}: no answer within {timeout_s:g} s")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
        text = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in text:
            text = f"the certificate is not valid for mta-sts.{domain} ({text})"
        return _Fetched(None, f"{url}: {text}")
    if response.status != 200:
        where = " (redirects are not allowed)" if 300 <= response.status < 400 else ""
        return _Fetched(None, f"{url}: HTTP {response.status}{where}")
    return _Fetched(response.body.decode("utf-8", errors="replace"), "")


def assess_policy(domain: str, record: str, policy: StsPolicy, mx_lookup: Lookup, ttl: int | None) -> CheckResult:
    where = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    details = [f"_mta-sts.{domain}: {record}", f"{where}: mode {policy.mode or '?'}, max_age {policy.max_age}, "
               f"mx {', '.join(policy.mx) or '-'}"]
    if policy.errors:
        return CheckResult("mta_sts", Status.FAIL, "The MTA-STS policy is invalid",
                           "\n".join([*details, *policy.errors]),
                           "Fix the policy file: 'version: STSv1', 'mode: enforce|testing|none', one 'mx:' line per "
                           "MX host (or *.domain), 'max_age: <seconds>'; then change the id= of the TXT record.", ttl)
    if mx_lookup.failed:
        return CheckResult("mta_sts", Status.ERROR, "Could not compare the MTA-STS policy with the MX (dns_failed)",
                           "\n".join([*details, f"MX {domain}: {mx_lookup.error}"]), "", ttl)
    hosts = [r.split()[-1] for r in mx_lookup.records]
    uncovered = [h for h in hosts if not any(mx_matches(p, h) for p in policy.mx)]
    if policy.mode == "none":
        return CheckResult("mta_sts", Status.INFO, "MTA-STS policy in mode 'none' (being withdrawn)",
                           "\n".join(details), "", ttl)
    if uncovered:
        listed = ", ".join(uncovered)
        enforced = policy.mode == "enforce"
        consequence = ("senders that honour MTA-STS refuse to deliver to them: mail to this domain is lost"
                       if enforced else "in testing mode senders only report the mismatch")
        return CheckResult("mta_sts", Status.FAIL if enforced else Status.WARN,
                           f"The MTA-STS policy does not cover the MX {'host' if len(uncovered) == 1 else 'hosts'} "
                           f"{listed}",
                           "\n".join([*details, f"Not matched by any 'mx:' line: {listed} ({consequence})."]),
                           "Add an 'mx:' line for each of them to the policy (or switch its mode to 'testing' while "
                           "you change MX), then change the id= of the _mta-sts TXT record.", ttl)
    summary = "MTA-STS policy covers every MX host" + (" (testing mode)" if policy.mode == "testing" else "")
    return CheckResult("mta_sts", Status.PASS, summary, "\n".join(details), "", ttl)


async def check_mta_sts(resolver: DnsResolver, domain: str, *, ca_file: str | None = None, timeout_s: float = 5.0,
                        connect_to: ConnectTo | None = None) -> CheckResult:
    lookup, mx_lookup = await asyncio.gather(resolver.lookup(f"_mta-sts.{domain}", "TXT"),
                                             resolver.lookup(domain, "MX"))
    if lookup.failed:
        return CheckResult("mta_sts", Status.ERROR, "Could not read the MTA-STS record (dns_failed)",
                           f"{lookup.name}: {lookup.error}")
    records = _announcement(lookup)
    if not records:
        return CheckResult("mta_sts", Status.INFO, "No MTA-STS (optional)",
                           "MTA-STS (RFC 8461) makes senders require TLS when delivering to your MX hosts.",
                           "", lookup.ttl)
    if len(records) > 1 or "id=" not in records[0].replace(" ", ""):
        return CheckResult("mta_sts", Status.WARN, "MTA-STS record is invalid",
                           f"_mta-sts.{domain}: {' | '.join(records)} (one record with v=STSv1; id=... is required)",
                           "Publish exactly one 'v=STSv1; id=<change on every policy update>' record.", lookup.ttl)
    fetched = await fetch_policy(domain, ca_file=ca_file, timeout_s=timeout_s, connect_to=connect_to or {})
    if fetched.text is None:
        return CheckResult("mta_sts", Status.FAIL, "MTA-STS is announced but its policy cannot be fetched",
                           f"_mta-sts.{domain}: {records[0]}\n{fetched.problem}",
                           f"Serve the policy at https://mta-sts.{domain}/.well-known/mta-sts.txt (HTTPS with a valid "
                           f"certificate for mta-sts.{domain}, status 200, no redirect), or remove the TXT record.",
                           lookup.ttl)
    return assess_policy(domain, records[0], parse_policy(fetched.text), mx_lookup, lookup.ttl)
