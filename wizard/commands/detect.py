"""`mailwright detect ADDRESS [--nameserver IP[:PORT]] [--timeout S] [--json]`: propose the provider for an address."""

from __future__ import annotations

import argparse
import asyncio

from wizard.commands.output import EXIT_FAILED, EXIT_OK, add_json_option, emit_json, usage_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "detect", help="propose the mail provider and SMTP server for a sender address",
        description="Looks the address up in the bundled catalogue, its domain's MX records and autoconfig "
                    "document, and probes smtp./mail.<domain> when nothing else matches. Nothing is sent.")
    parser.add_argument("address", metavar="ADDRESS", help="the sender address, e.g. support@example.com")
    parser.add_argument("--nameserver", metavar="IP[:PORT]", help="ask this DNS server instead of the system's")
    parser.add_argument("--timeout", type=float, default=6.0, metavar="S", help="overall time limit (default 6)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.services.autodetect import SourceStatus, detect
    from wizard.services.validation import InvalidInputError

    try:
        detection = asyncio.run(detect(args.address, nameserver=args.nameserver, timeout_s=args.timeout))
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.json:
        emit_json(detection.to_json())
        return EXIT_OK if detection.proposals else EXIT_FAILED
    print(f"Sender address {detection.address} (domain {detection.domain})")
    if detection.proposals:
        print("\nProposals, best first:")
        for number, proposal in enumerate(detection.proposals, 1):
            auth = f", AUTH {' '.join(proposal.auth_mechanisms)}" if proposal.auth_mechanisms else ""
            user = f", user {proposal.username_hint}" if proposal.username_hint else ""
            print(f"  {number}. {proposal.provider_kind.value}: {proposal.host}:{proposal.port} "
                  f"{proposal.security.value}{auth}{user}")
            print(f"     why: {proposal.evidence} [{proposal.source.value}]")
    else:
        print("\nNo provider found: choose it yourself (any SMTP server works).")
    print("\nSources:")
    for report in detection.reports:
        print(f"  {report.source.value:<10} {report.status.value:<8} {report.detail}")
        if report.status is not SourceStatus.FOUND:
            for error in report.errors:
                print(f"  {'':<10} {'':<8} - {error}")
    return EXIT_OK if detection.proposals else EXIT_FAILED
