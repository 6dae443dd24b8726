"""`mailwright send --to ADDR --subject S (--body TEXT | --eml FILE) [--priority 1-5] [--profile NAME] [--json]`.

Hands the message to `wizard.submit`'s rules (services/submission.py) and queues it in the durable outbox;
`mailwright serve` (or the app) delivers it. This command only translates arguments and answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    config_unusable,
    emit_json,
    naming_option,
    usage_error,
)

if TYPE_CHECKING:
    from wizard.services.submission import SubmissionError

NOTHING_SENDING = "queued; nothing is sending right now — start Mailwright or `mailwright serve`"
_REFUSAL_FIXES = {
    "sender_not_authorized": ("The profile does not allow this sender",
                              "Send as an authorised address, or authorise it: `mailwright profile set NAME "
                              "--authorized-sender ADDR` (or --authorized-domain, or --unauthorized alert)."),
    "message_too_large": ("The message is too large", "Send a smaller message (link large files instead)."),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("send", help="queue a message in the outbox for delivery",
                                   description="Queue a message; every rule of `wizard.submit` applies (routing, "
                                   "headers, sender policy, postmaster, display name, priority, 32 MiB limit).")
    parser.add_argument("--to", required=True, action="append", metavar="ADDR", help="recipient (repeatable)")
    parser.add_argument("--subject", default="", help="subject of the message built from --body")
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="text of the message (From is the profile's address and display name)")
    body.add_argument("--eml", type=Path, metavar="FILE",
                      help="send this RFC 5322 file; its From must be allowed by the profile's sender policy")
    parser.add_argument("--priority", type=int, choices=range(1, 6), metavar="1-5",
                        help="1 (very high) to 5 (very low); the account's priority wins when it is higher")
    parser.add_argument("--profile", metavar="NAME",
                        help="send through this profile (default: the one whose address is the sender, else the "
                        "default profile)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def refused(exc: SubmissionError, *, as_json: bool) -> int:
    """A message the rules refused: exit 1 for the sender policy (the send failed), 2 for bad input."""
    title, fix = _REFUSAL_FIXES.get(exc.code, ("The message was refused", "Correct the message and try again."))
    if exc.code != "sender_not_authorized":
        return usage_error(str(exc), as_json=as_json, code=exc.code)
    if as_json:
        emit_json({"ok": False, "diagnosis": {"code": exc.code, "title": title, "explanation": str(exc),
                                              "fix": fix}})
    else:
        print(f"mailwright: {exc}\n  How to fix it: {fix}", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    from email.message import EmailMessage

    from wizard.services.app_services import Services
    from wizard.services.outbox import OutboxError
    from wizard.services.submission import SubmissionError, route
    from wizard.services.validation import InvalidInputError, reject_header_injection, validate_address

    try:  # before anything is opened: a bad option is bad input whatever the data home holds
        for address in args.to:
            validate_address(address, "--to")
        reject_header_injection("--subject", args.subject)
    except InvalidInputError as exc:
        return usage_error(naming_option(exc), as_json=args.json)
    services = Services.open()
    try:
        config = services.config()
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)
    message: EmailMessage | bytes
    try:
        if args.eml:
            try:
                message = args.eml.read_bytes()
            except OSError as exc:
                return usage_error(f"Cannot read {args.eml}: {exc.strerror}", as_json=args.json)
            profile = args.profile
        else:
            profile = route(config, profile=args.profile).name
            message = EmailMessage()
            message["From"] = config.profile(profile).from_address  # the display name is a rule of submit
            message["To"] = ", ".join(args.to)
            message["Subject"] = args.subject
            message.set_content(args.body)
        queued = services.submit(message, profile, args.priority, recipients=args.to)
    except SubmissionError as exc:
        return refused(exc, as_json=args.json)
    except (OutboxError, ValueError) as exc:  # EmailMessage refuses a line break in a header value
        return usage_error(str(exc), as_json=args.json)
    for alert in queued.alerts:
        print(f"mailwright: alert: {alert}", file=sys.stderr)
    from wizard.services.sender_lock import someone_is_sending

    sending = someone_is_sending(services.outbox.path)
    if args.json:
        emit_json({"ok": True, "id": queued.id, "message_id": queued.message_id, "priority": queued.priority,
                   "profile": queued.profile, "state": "queued", "alerts": list(queued.alerts), "sending": sending})
    else:
        print(f"queued as {queued.id} {queued.message_id} (priority {queued.priority})")
        if not sending:
            print(NOTHING_SENDING)
    return EXIT_OK
