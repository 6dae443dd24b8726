"""`mailwright send-test --to ADDR [--profile NAME] [--json]`: send a test mail now and show the server's reply."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    emit_json,
    failed_before_connecting,
    load_profile,
    open_services,
    print_diagnosis,
    usage_error,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("send-test", help="send a test message through a profile right now")
    parser.add_argument("--to", required=True, action="append", metavar="ADDR", help="recipient (repeatable)")
    parser.add_argument("--cc", action="append", default=[], metavar="ADDR", help="copy recipient (repeatable)")
    parser.add_argument("--subject", default="Mailwright test message", help="the subject line (one line)")
    parser.add_argument("--body", help="text of the message (default: a short explanation)")
    parser.add_argument("--attach", action="append", default=[], type=Path, metavar="FILE",
                        help="attach this file (repeatable)")
    parser.add_argument("--profile", metavar="NAME", help="profile to send through (default: the default profile)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.commands.send import refused
    from wizard.services.message import TestMail, build_test_message, default_test_body, queue_id
    from wizard.services.submission import SubmissionError, apply_rules
    from wizard.services.transports.base import TransportError
    from wizard.services.validation import InvalidInputError

    services = open_services()  # its transport signs in with this invocation's token sessions
    profile = load_profile(args, services.store)
    if isinstance(profile, int):
        return profile
    if failed_before_connecting(profile, args.json):
        return EXIT_FAILED

    try:
        mail = TestMail(from_address=profile.from_address, display_name=profile.display_name, to=args.to,
                        cc=args.cc, subject=args.subject,
                        body=args.body or default_test_body(profile.name, profile.from_address),
                        attachments=tuple(args.attach))
        message = build_test_message(mail)
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)

    try:  # the rules every message gets (policy, postmaster, display name, Date, Message-ID), then send
        prepared = apply_rules(message, profile, envelope_from=profile.from_address, recipients=[*mail.to, *mail.cc])
    except SubmissionError as exc:
        return refused(exc, as_json=args.json)

    async def send() -> tuple[str, dict[str, str]]:
        transport = await services.transport_for(profile)
        async with transport:
            result = await transport.send(prepared.envelope_from, list(prepared.recipients), prepared.raw)
        return result.reply, result.refused

    try:
        reply, refused_recipients = asyncio.run(send())
    except TransportError as exc:
        if args.json:
            emit_json({"ok": False, "profile": profile.name, "diagnosis": exc.diagnosis.to_json()})
        else:
            print_diagnosis(exc.diagnosis)
        return EXIT_FAILED
    payload = {"ok": not refused_recipients, "profile": profile.name, "message_id": prepared.message_id, "reply": reply,
               "queue_id": queue_id(reply), "refused": refused_recipients}
    if args.json:
        emit_json(payload)
    else:
        print(f"Accepted by the server: {reply}")
        for address, why in refused_recipients.items():
            print(f"Refused recipient {address}: {why}")
    return EXIT_OK if not refused_recipients else EXIT_FAILED
