"""`mailwright queue list|status|show ID|retry ID|delete ID|purge|release [PROFILE] [--json]`: inspect and steer
the outbox. `list` and `status` also name the paused profiles (account failed, mail held) with the reason."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, emit_json, usage_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("queue", help="list, inspect, retry, delete or purge outbox messages")
    parser.add_argument("action", choices=["list", "status", "show", "retry", "delete", "purge", "release"])
    parser.add_argument("target", nargs="?", help="message id (show/retry/delete) or profile (release)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.services.config import ConfigStore
    from wizard.services.outbox import Outbox, OutboxError, OutboxMessage, ProfilePause

    def row(message: OutboxMessage) -> dict[str, Any]:
        return {"id": message.id, "message_id": message.message_id, "profile": message.profile,
                "priority": message.priority, "state": message.state.value, "attempts": message.attempts,
                "from": message.envelope_from, "recipients": list(message.recipients),
                "last_reply": message.last_reply, "diagnosis_code": message.diagnosis_code,
                "recipient_results": message.recipient_results, "delivered_by": message.delivered_by}

    def pause(item: ProfilePause) -> dict[str, Any]:
        return {"profile": item.profile, "diagnosis_code": item.code, "reply": item.reply, "since": item.since}

    outbox = Outbox()
    needs_id = args.action in {"show", "retry", "delete"}
    if needs_id and (args.target is None or not args.target.isdigit()):
        return usage_error(f"queue {args.action} needs a message id.", as_json=args.json)
    try:
        if args.action == "list":
            payload: dict[str, Any] = {"ok": True, "messages": [row(m) for m in outbox.messages()],
                                       "paused": [pause(p) for p in outbox.paused_profiles().values()]}
        elif args.action == "status":
            status = outbox.status()
            payload = {"ok": True, "counts": {state.value: count for state, count in status.counts.items()},
                       "paused": [pause(p) for p in status.paused.values()]}
        elif args.action == "show":
            payload = {"ok": True, "message": row(outbox.get(int(args.target)))}
        elif args.action == "retry":
            outbox.retry(int(args.target))
            payload = {"ok": True, "retried": int(args.target)}
        elif args.action == "delete":
            outbox.delete(int(args.target))
            payload = {"ok": True, "deleted": int(args.target)}
        elif args.action == "release":
            payload = {"ok": True, "released": outbox.release(profile=args.target)}
        else:
            payload = {"ok": True, "purged": outbox.purge(ConfigStore().load().delivery.retention_days)}
    except OutboxError as exc:
        if args.json:
            emit_json({"ok": False, "error": str(exc)})
        else:
            print(exc)
        return EXIT_FAILED
    if args.json:
        emit_json(payload)
    elif args.action in {"list", "status"}:
        for message in payload.get("messages", []):
            print(f"{message['id']:>6}  {message['state']:<8} p{message['priority']} {message['attempts']:>2}x  "
                  f"{message['profile']:<12} {', '.join(message['recipients'])}  {message['last_reply']}")
        for state, count in payload.get("counts", {}).items():
            print(f"{state}: {count}")
        for item in payload["paused"]:
            print(f"profile {item['profile']} is paused ({item['diagnosis_code']}): {item['reply']} — mail is held; "
                  f"fix the account, then `mailwright queue release {item['profile']}`")
    else:
        for key, value in payload.items():
            if key != "ok":
                print(f"{key}: {value}")
    return EXIT_OK
