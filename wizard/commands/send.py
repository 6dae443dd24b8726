"""`mailwright send --to ADDR --subject S (--body TEXT | --eml FILE) [--priority 1-5] [--profile NAME] [--json]`.

Queues the message in the durable outbox; `mailwright serve` (or the app) delivers it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.commands.output import EXIT_OK, emit_json, load_profile, usage_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("send", help="queue a message in the outbox for delivery")
    parser.add_argument("--to", required=True, action="append", metavar="ADDR", help="recipient (repeatable)")
    parser.add_argument("--subject", default="")
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body")
    body.add_argument("--eml", type=Path, metavar="FILE", help="send this RFC 5322 file as is")
    parser.add_argument("--priority", type=int, choices=range(1, 6), metavar="1-5")
    parser.add_argument("--profile", metavar="NAME")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from email.message import EmailMessage

    from wizard.services.outbox import Outbox, OutboxError

    profile = load_profile(args)
    if isinstance(profile, int):
        return profile
    # MailUp SMTP+ semantics: the higher of account and message priority (the lower number) wins.
    priority = min(profile.priority, args.priority or profile.priority)
    message: EmailMessage | bytes
    if args.eml:
        try:
            message = args.eml.read_bytes()
        except OSError as exc:
            return usage_error(f"Cannot read {args.eml}: {exc.strerror}", as_json=args.json)
    else:
        message = EmailMessage()
        message["From"] = profile.from_address
        message["To"] = ", ".join(args.to)
        message["Subject"] = args.subject
        message.set_content(args.body)
    try:
        stored = Outbox().enqueue(message, profile=profile.name, envelope_from=profile.from_address,
                                  recipients=args.to, priority=priority)
    except OutboxError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.json:
        emit_json({"ok": True, "id": stored.id, "message_id": stored.message_id, "priority": stored.priority,
                   "state": stored.state.value})
    else:
        print(f"queued as {stored.id} {stored.message_id} (priority {stored.priority})")
    return EXIT_OK
