"""`check_domain`: every DNS health check of a sender domain, concurrently, in one run with one cache."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from wizard.services import providers
from wizard.services.dns_health.dkim import check_dkim
from wizard.services.dns_health.dkim_signature import is_selector, read_signatures
from wizard.services.dns_health.dmarc import AlignmentInputs, assess_dmarc, fetch_dmarc
from wizard.services.dns_health.extras import check_bimi, check_dnssec, check_ptr, check_tls_rpt
from wizard.services.dns_health.letter import build_letter
from wizard.services.dns_health.mta_sts import check_mta_sts
from wizard.services.dns_health.mx import check_mx
from wizard.services.dns_health.report import CheckResult, HealthReport, Recommendation, Status
from wizard.services.dns_health.resolver import DEFAULT_TIMEOUT_S, DnsResolver, Resolver
from wizard.services.dns_health.rules import assess_sender_rules
from wizard.services.dns_health.spf_check import assess_spf, gather_spf
from wizard.services.dns_health.submission import check_submission_tls
from wizard.services.providers import Provider
from wizard.services.validation import InvalidInputError, validate_host

if TYPE_CHECKING:
    from wizard.services.autodetect.model import ConnectTo  # a type alias; the package is heavy to import

ProgressCallback = Callable[[CheckResult], None]
ORDER = ("spf", "dkim", "dmarc", "sender_rules", "mx", "submission_tls", "ptr", "mta_sts", "tls_rpt", "bimi",
         "dnssec")


def normalise_domain(domain: str) -> str:
    """The domain of an address or a bare domain, validated; `InvalidInputError` otherwise."""
    text = domain.strip().rpartition("@")[2]
    host = validate_host(text, "domain")
    if "." not in host or host.replace(".", "").isdigit() or ":" in host:
        raise InvalidInputError("domain", f"'{domain}' is not a mail domain (like example.com).")
    return host


def normalise_sending_ips(values: Sequence[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise InvalidInputError("sending ip", f"'{value}' is not an IP address or range (CIDR).") from None
        single = network.prefixlen == network.max_prefixlen
        out.append(str(network.network_address) if single else str(network))
    return tuple(out)


def normalise_selectors(values: Sequence[str]) -> tuple[str, ...]:
    """DKIM selectors as typed (`s1`, `Google`), lower-cased; `InvalidInputError` for anything else."""
    out = []
    for value in values:
        name = value.strip().lower()
        if not is_selector(name):
            raise InvalidInputError("selector", f"'{value.strip()}' is not a DKIM selector: one name of letters, "
                                    "digits, - and _ (like s1 or google), as in the s= tag of a DKIM-Signature.")
        out.append(name)
    return tuple(dict.fromkeys(out))


def _provider(value: Provider | str | None) -> Provider | None:
    if value is None or isinstance(value, Provider):
        return value
    try:
        return providers.resolve_provider_name(value)
    except KeyError as exc:
        raise InvalidInputError("provider", str(exc.args[0])) from None


async def check_domain(domain: str, *, provider: Provider | str | None = None, selectors: Sequence[str] = (),
                       nameserver: str | None = None, sending_ips: Sequence[str] = (), smtp_host: str | None = None,
                       smtp_port: int = 587, smtp_security: str = "starttls", daily_volume: int | None = None,
                       timeout_s: float = DEFAULT_TIMEOUT_S, on_progress: ProgressCallback | None = None,
                       resolver: DnsResolver | None = None, ca_file: str | None = None,
                       message: bytes | None = None, connect_to: ConnectTo | None = None) -> HealthReport:
    """Check `domain`'s DNS for sending through `provider` (a catalogue entry or id, None = any SMTP server).

    Every call uses a fresh resolver cache (a re-check sees the DNS as it is now). Each finished check is
    passed to `on_progress`. `message` is a mail the sender's service sent (the test mail as received, or a
    sample with its headers): its DKIM-Signature names the selectors to check. `ca_file` replaces the system
    trust store for the TLS checks (tests, private CAs); `connect_to` maps (host, port) to the address to connect
    to instead, TLS still verified for the host (tests). Cancelling the task cancels every query in flight. Raises
    `InvalidInputError` for a bad domain, provider, nameserver or sending IP; DNS failures are `error` results.
    """
    domain = normalise_domain(domain)
    chosen = _provider(provider)
    ips = normalise_sending_ips(sending_ips)
    selectors = normalise_selectors(selectors)
    own = Resolver(nameserver, timeout=timeout_s) if resolver is None else None
    dns: DnsResolver = own if own is not None else resolver  # type: ignore[assignment]
    smtp_host = validate_host(smtp_host, "smtp host") if smtp_host else None
    signed = read_signatures(message, domain) if message is not None else None

    def report(result: CheckResult) -> CheckResult:
        if on_progress is not None:
            on_progress(result)
        return result

    async def reported(coro: Awaitable[CheckResult | None]) -> CheckResult | None:
        result = await coro
        return report(result) if result is not None else None

    side: list[Awaitable[CheckResult | None]] = [check_mx(dns, domain), check_ptr(dns, ips),
                                                 check_mta_sts(dns, domain, ca_file=ca_file, timeout_s=timeout_s,
                                                               connect_to=connect_to),
                                                 check_tls_rpt(dns, domain), check_bimi(dns, domain),
                                                 check_dnssec(dns, domain)]
    if smtp_host:
        side.append(check_submission_tls(smtp_host, smtp_port, smtp_security, timeout_s=timeout_s, ca_file=ca_file))
    core = asyncio.gather(gather_spf(dns, domain, chosen, sending_ips=ips, smtp_host=smtp_host),
                          check_dkim(dns, domain, chosen, selectors, signed), fetch_dmarc(dns, domain))
    try:
        (spf_inputs, dkim, dmarc_lookups), others = await asyncio.gather(
            core, asyncio.gather(*(reported(c) for c in side)))
    finally:
        if own is not None:
            own.cancel_pending()
    spf = report(assess_spf(spf_inputs))
    report(dkim.result)
    authorised = chosen is None or not chosen.spf_includes or any(i in spf_inputs.tree.domains
                                                                    for i in chosen.spf_includes)
    if chosen is None and spf_inputs.senders:
        authorised = all(s.covered for s in spf_inputs.senders)
    elif chosen is None:
        authorised = spf.status in (Status.PASS, Status.WARN)
    alignment = AlignmentInputs(chosen, authorised and spf.status is not Status.ERROR, dkim.valid_selectors)
    dmarc = report(assess_dmarc(domain, *dmarc_lookups, alignment))
    rules = report(assess_sender_rules(daily_volume, spf.status, dkim.result.status, dmarc.status,
                                        dkim_usable=bool(dkim.valid_selectors)))
    results = [spf, dkim.result, dmarc, rules, *(r for r in others if r is not None)]
    results.sort(key=lambda r: ORDER.index(r.id) if r.id in ORDER else len(ORDER))
    recommendations: list[Recommendation] = [rec for r in results for rec in r.recommendations]
    max_ttl = max((r.ttl for r in results if r.ttl is not None), default=None)
    letter = build_letter(domain, results, recommendations, chosen.name if chosen else None, max_ttl)
    return HealthReport(domain, tuple(results), tuple(recommendations), letter, chosen.id if chosen else None,
                        getattr(dns, "queries", 0))


__all__ = ["ORDER", "ProgressCallback", "Status", "check_domain", "normalise_domain"]
