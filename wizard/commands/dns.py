"""`mailwright dns DOMAIN [DOMAIN ...] [--provider P] [--selector S ...] [--nameserver IP[:PORT]] [--json]`.

Several domains are checked concurrently in one process. Exit 0 when no check of any domain fails, 1 when one
fails or could not be checked (dns_failed), 2 on bad input (nothing is looked up then).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, emit_json, open_services, usage_error

if TYPE_CHECKING:
    from wizard.services.dns_health import HealthReport

LIGHTS = {"pass": " PASS ", "info": " info ", "warn": " WARN ", "fail": " FAIL ", "error": "ERROR "}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("dns", help="check SPF, DKIM, DMARC and MX of a sender domain for a provider")
    parser.add_argument("domains", metavar="DOMAIN", nargs="+",
                        help="a sender domain (or a sender address); several are checked at the same time")
    parser.add_argument("--provider", metavar="P", help="catalogue id (m365, google, ses, sendgrid, ...), a profile "
                        "provider (m365-smtp, graph, gmail, smtp) or a profile name")
    parser.add_argument("--selector", metavar="S", action="append", default=[], help="DKIM selector to check "
                        "(repeatable; needed for SES, Postmark, SparkPost)")
    parser.add_argument("--nameserver", metavar="IP[:PORT]", help="ask this DNS server instead of the system's")
    parser.add_argument("--sending-ip", metavar="IP", action="append", default=[],
                        help="an extra IP or CIDR range that sends as this domain (repeatable)")
    parser.add_argument("--smtp-host", metavar="HOST", help="the SMTP server of a generic account: its IPs must be "
                        "in SPF and it must offer TLS")
    parser.add_argument("--message", metavar="FILE", help="a mail your service sent (.eml with headers, e.g. the "
                        "test mail as received): its DKIM-Signature names the selector to check")
    parser.add_argument("--volume", metavar="N", type=int, help="expected messages per day (bulk-sender rules)")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=5.0, help="per DNS answer (default 5)")
    parser.add_argument("--letter", action="store_true", help="print only the letter for the DNS administrator")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (a list of reports when "
                        "several domains are given)")
    parser.set_defaults(handler=run)


def _resolve_provider(name: str | None) -> tuple[Any, dict[str, Any]]:
    """(provider or None, extra check_domain arguments from a profile). KeyError if `name` is unknown."""
    from wizard.services import providers

    if not name:
        return None, {}
    try:
        return providers.resolve_provider_name(name), {}
    except KeyError:
        pass
    config = open_services().store.load()
    if name not in config.profiles:
        known = ", ".join(sorted(providers.load_catalogue()))
        raise KeyError(f"'{name}' is neither a provider ({known}; m365-smtp, graph, gmail, smtp) nor a profile name.")
    profile = config.profiles[name]
    extra: dict[str, Any] = {"sending_ips": profile.sending_ips}
    provider = providers.for_profile_provider(profile.provider.value, profile.preset)
    if provider is None and profile.host:
        extra.update(smtp_host=profile.host, smtp_port=profile.port, smtp_security=profile.security.value,
                     ca_file=profile.ca_file or None)
    return provider, extra


def _print_report(report: HealthReport, provider_name: str | None) -> None:
    print(f"DNS health of {report.domain}" + (f" for sending through {provider_name}" if provider_name else ""))
    print()
    for check in report.checks:
        print(f"[{LIGHTS[check.status.value]}] {check.id:<15} {check.summary}")
        if check.status.value in ("warn", "fail", "error"):
            for line in check.details.splitlines():
                print(f"{'':26}{line}")
            if check.fix:
                print(f"{'':26}Fix: {check.fix}")
    if report.recommendations:
        print("\nRecords to publish (paste as shown):")
        for rec in report.recommendations:
            print(f"  {rec.record_type:<6}{rec.name}\n        {rec.value}\n        ({rec.why})")
    if report.max_ttl:
        print(f"\nAfter a change, allow up to {max(1, round(report.max_ttl / 60))} minutes (the records' TTL) "
              "before checking again.")
    if report.recommendations:
        print("A letter for your DNS administrator: mailwright dns", report.domain, "... --letter")
    print("\n" + ("Nothing fails." if report.ok else "Some checks fail: see above."))


def _diagnosed_json(report: HealthReport) -> dict[str, Any]:
    payload = report.to_json()
    if report.dns_failed:
        failed = [c.id for c in report.checks if c.status.value == "error"]
        payload["diagnosis"] = {"code": "dns_failed", "title": "DNS lookups failed",
                                "explanation": "The DNS server did not answer (timeout or SERVFAIL) for: "
                                + ", ".join(failed) + ". Nothing is reported missing that could not be read.",
                                "fix": "Check the network or the --nameserver, then run the check again."}
    return payload


def _distinct_domains(texts: list[str]) -> list[str]:
    """The domains asked for, normalised, each once, in the order given. InvalidInputError names a bad one."""
    from wizard.services.dns_health import normalise_domain

    return list(dict.fromkeys(normalise_domain(text) for text in texts))


def run(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from wizard.services.dns_health import check_domain, parse_nameserver
    from wizard.services.validation import InvalidInputError

    try:
        domains = _distinct_domains(args.domains)
        if args.message and len(domains) > 1:
            raise InvalidInputError("message", "--message belongs to one domain: give a single DOMAIN with it.")
        if args.nameserver:
            parse_nameserver(args.nameserver)
        provider, extra = _resolve_provider(args.provider)
        if args.sending_ip:
            extra["sending_ips"] = (*extra.get("sending_ips", ()), *args.sending_ip)
        if args.smtp_host:
            extra["smtp_host"] = args.smtp_host
        if args.volume is not None and args.volume < 0:
            raise InvalidInputError("volume", "--volume is a number of messages per day (0 or more).")
        if args.timeout <= 0:
            raise InvalidInputError("timeout", "--timeout must be more than 0 seconds.")
        if args.message:
            try:
                extra["message"] = Path(args.message).read_bytes()
            except OSError as exc:
                raise InvalidInputError("message", f"{args.message}: {exc.strerror or exc}") from None

        async def check_all() -> list[HealthReport]:
            return list(await asyncio.gather(*(
                check_domain(domain, provider=provider, selectors=args.selector, nameserver=args.nameserver,
                             daily_volume=args.volume, timeout_s=args.timeout, **extra) for domain in domains)))

        reports = asyncio.run(check_all())
    except KeyError as exc:
        return usage_error(str(exc.args[0]), as_json=args.json)
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.json:
        payloads = [_diagnosed_json(report) for report in reports]
        emit_json(payloads[0] if len(payloads) == 1 else payloads)
    else:
        for number, report in enumerate(reports):
            if number:
                print("\n" + "=" * 78 + "\n")
            if args.letter:
                print(report.letter, end="")
            else:
                _print_report(report, provider.name if provider else None)
        if len(reports) > 1 and not args.letter:
            failing = [report.domain for report in reports if not report.ok]
            print(f"\n{len(reports) - len(failing)} of {len(reports)} domains: nothing fails."
                  + (f" Failing: {', '.join(failing)}." if failing else ""))
    return EXIT_OK if all(report.ok for report in reports) else EXIT_FAILED
