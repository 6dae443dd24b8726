"""`mailwright queue list|status|show ID|retry ID|delete ID|delete --profile P|purge|release [PROFILE] [--json]`:
inspect and steer the outbox. `list` and `status` also name the paused profiles (account failed, mail held) with
the reason, and the "orphaned" mail of deleted profiles (nothing sends it) with the fix. `status` also says who
sends the outbox and what that sender meets ("problems", published by it: sender_state.py), or that nothing does."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, add_json_option, emit_json, open_services, usage_error
from wizard.services.outbox_schema import MessageState, MessageSummary

MAX_ID = 2**63 - 1  # SQLite's largest rowid: a larger number is no message, not an overflow


def _message_id(text: str | None) -> int | None:
    if text is None or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("queue", help="list, inspect, retry, delete or purge outbox messages")
    parser.add_argument("action", choices=["list", "status", "show", "retry", "delete", "purge", "release"],
                        help="list: the newest messages (--limit, --state); status: counts per state and paused "
                             "profiles; show/retry/delete ID: one message; purge: sent and failed mail past the "
                             "retention; release [PROFILE]: send held mail again")
    parser.add_argument("target", nargs="?", help="message id (show/retry/delete) or profile (release)")
    parser.add_argument("--profile", metavar="NAME",
                        help="delete: every queued and held message of this profile (e.g. a deleted one)")
    parser.add_argument("--limit", type=_positive, default=50, metavar="N",
                        help="list: show the newest N messages (default 50)")
    parser.add_argument("--state", choices=[state.value for state in MessageState],
                        help="list: only messages in this state")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of messages from 1 to 100000")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from wizard.services import diagnostics
    from wizard.services.health import OrphanedMail, orphaned_mail, retrying_reason
    from wizard.services.outbox import OutboxError, ProfilePause
    from wizard.services.outbox_stats import ProfileStats, read_profile_stats

    def row(message: MessageSummary) -> dict[str, Any]:
        return {"id": message.id, "message_id": message.message_id, "profile": message.profile,
                "priority": message.priority, "state": message.state.value, "attempts": message.attempts,
                "from": message.envelope_from, "recipients": list(message.recipients),
                "last_reply": message.last_reply, "diagnosis_code": message.diagnosis_code,
                "recipient_results": message.recipient_results, "delivered_by": message.delivered_by}

    def pause(item: ProfilePause) -> dict[str, Any]:
        return {"profile": item.profile, "diagnosis_code": item.code, "reply": item.reply, "since": item.since}

    def orphans(stats: Mapping[str, ProfileStats]) -> list[OrphanedMail]:
        store = services.store
        try:
            profiles = set(store.load().profiles)
        except (OSError, ValueError) as exc:  # the outbox is still worth seeing: say why profiles are not checked
            print(f"mailwright: note: {store.path} cannot be read ({exc}), so mail of deleted profiles is not "
                  "looked for.", file=sys.stderr)
            return []
        return orphaned_mail(profiles, stats)

    def retrying(stats: Mapping[str, ProfileStats]) -> list[dict[str, Any]]:
        return [{"profile": name, "count": s.retrying, "most_attempts": s.most_attempts,
                 "diagnosis_code": s.retry_code, "reply": s.retry_reply, "reason": retrying_reason(s),
                 "fix": diagnostics.make(s.retry_code or "unknown", detail=s.retry_reply).fix}
                for name, s in sorted(stats.items()) if s.retrying]

    services = open_services()
    needs_id = args.action in {"show", "retry"} or (args.action == "delete" and args.profile is None)
    if needs_id and _message_id(args.target) is None:
        alternative = " (or --profile NAME)" if args.action == "delete" else ""
        given = f", not {args.target!r}" if args.target is not None else ""
        return usage_error(f"queue {args.action} needs a message id{alternative}: a number from 1 to {MAX_ID} as "
                           f"`mailwright queue list` shows it{given}.", as_json=args.json)
    sender_lines: list[str] = []
    try:
        outbox = services.outbox
        if args.action == "list":
            state = MessageState(args.state) if args.state else None
            payload: dict[str, Any] = {"ok": True,
                                       "messages": [row(m) for m in outbox.summaries(limit=args.limit, state=state)],
                                       "paused": [pause(p) for p in outbox.paused_profiles().values()],
                                       "orphaned": [o.to_json() for o in orphans(read_profile_stats(outbox.path))]}
        elif args.action == "status":
            from wizard.services.sender_state import read_sender_state

            status = outbox.status()
            stats = read_profile_stats(outbox.path)
            # What the running sender (`serve` or the app, another process) meets; nothing from a dead one.
            sender = read_sender_state(outbox.path)
            payload = {"ok": True, "counts": {state.value: count for state, count in status.counts.items()},
                       "paused": [pause(p) for p in status.paused.values()], "retrying": retrying(stats),
                       "orphaned": [o.to_json() for o in orphans(stats)], **sender.to_json()}
            sender_lines = sender.lines(mail_retrying=bool(payload["retrying"]))
        elif args.action == "show":
            payload = {"ok": True, "message": row(outbox.get(int(args.target)))}
        elif args.action == "retry":
            outbox.retry(int(args.target))
            payload = {"ok": True, "retried": int(args.target)}
        elif args.action == "delete" and args.profile is not None:
            payload = {"ok": True, "deleted": outbox.delete_waiting(args.profile)}
        elif args.action == "delete":
            outbox.delete(int(args.target))
            payload = {"ok": True, "deleted": int(args.target)}
        elif args.action == "release":
            payload = {"ok": True, "released": outbox.release(profile=args.target)}
        else:
            payload = {"ok": True, "purged": outbox.purge(services.store.load().delivery.retention_days)}
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
        for item in payload.get("retrying", []):
            print(f"profile {item['profile']}: {item['reason']}. {item['fix']}")
        for item in payload["orphaned"]:
            print(OrphanedMail(item["profile"], item["count"]).advice())
        for line in sender_lines:
            print(line)
    else:
        for key, value in payload.items():
            if key != "ok":
                print(f"{key}: {value}")
    return EXIT_OK
