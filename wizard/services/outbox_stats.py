"""Per-profile statistics read from the outbox: counts, the last outcomes, retries and holds.

Only outbox modules hold the outbox's SQL. Every aggregate here reads the `messages_by_profile` index alone
(profile, state, attempts, diagnosis_code, updated_at): the rows themselves carry the message bodies, and reading
a column stored after a body walks that body's overflow pages, which made these counts take seconds at 100,000
queued messages. The reply texts are then read from the one row each aggregate points at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wizard.services.outbox_schema import MessageState


@dataclass(frozen=True)
class ProfileStats:
    """One profile's slice of the outbox: counts, last outcomes, retries and holds."""

    counts: Mapping[MessageState, int]
    last_sent_at: float | None = None
    last_failed_at: float | None = None
    last_failure_reply: str = ""
    last_failure_code: str = ""
    retrying: int = 0  # queued again after a temporary error (4xx, timeout, dropped connection)
    most_attempts: int = 0  # the highest attempt count among those
    retry_reply: str = ""
    retry_code: str = ""
    held_code: str = ""  # why mail is held ("" when held at startup, not by an error)
    held_reply: str = ""


# SQLite fills a bare column next to MAX() from the row that holds the maximum (documented behaviour); `id` is
# the index's row id, so these stay inside the index.
_COUNTS = "SELECT profile, state, COUNT(*) FROM messages GROUP BY profile, state"
_LATEST = ("SELECT profile, MAX(updated_at), id FROM messages INDEXED BY messages_by_profile"
           " WHERE state = ? GROUP BY profile")
_RETRYING = ("SELECT profile, COUNT(*), MAX(attempts), id FROM messages INDEXED BY messages_by_profile"
             " WHERE state = 'queued' AND attempts > 0 AND diagnosis_code != '' GROUP BY profile")
_DETAIL = "SELECT last_reply, diagnosis_code FROM messages WHERE id = ?"


def read_profile_stats(outbox_path: Path) -> dict[str, ProfileStats]:
    """Per-profile stats from the outbox file, on a read-only connection (WAL readers never block the sender)."""
    if not outbox_path.exists():
        return {}
    connection = sqlite3.connect(f"{outbox_path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        counts: dict[str, dict[MessageState, int]] = {}
        for profile, state, count in connection.execute(_COUNTS):
            counts.setdefault(profile, {})[MessageState(state)] = count

        def latest(state: MessageState) -> dict[str, tuple[float, str, str]]:
            """profile -> (when, reply, diagnosis code) of its newest message in `state`."""
            return {profile: (when, *connection.execute(_DETAIL, (row_id,)).fetchone())
                    for profile, when, row_id in connection.execute(_LATEST, (state.value,)).fetchall()}

        sent, failed, held = latest(MessageState.SENT), latest(MessageState.FAILED), latest(MessageState.HELD)
        retrying = {profile: (count, attempts, *connection.execute(_DETAIL, (row_id,)).fetchone())
                    for profile, count, attempts, row_id in connection.execute(_RETRYING).fetchall()}
    finally:
        connection.close()
    stats: dict[str, ProfileStats] = {}
    for profile, by_state in counts.items():
        fail, retry, hold = failed.get(profile), retrying.get(profile), held.get(profile)
        stats[profile] = ProfileStats(
            counts=by_state, last_sent_at=sent[profile][0] if profile in sent else None,
            last_failed_at=fail[0] if fail else None, last_failure_reply=fail[1] if fail else "",
            last_failure_code=fail[2] if fail else "",
            retrying=retry[0] if retry else 0, most_attempts=retry[1] if retry else 0,
            retry_reply=retry[2] if retry else "", retry_code=retry[3] if retry else "",
            held_code=hold[2] if hold else "", held_reply=hold[1] if hold else "")
    return stats


def oldest_waiting(outbox_path: Path) -> list[tuple[str, float]]:
    """(profile, created_at) of each profile's oldest message not yet sent or failed."""
    if not outbox_path.exists():
        return []
    connection = sqlite3.connect(f"{outbox_path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return [(str(profile), float(created)) for profile, created in connection.execute(
            "SELECT profile, MIN(created_at) FROM messages INDEXED BY messages_by_profile"
            " WHERE state IN ('queued', 'sending', 'held') GROUP BY profile")]
    finally:
        connection.close()


def write_probe(outbox_path: Path) -> str:
    """"" when a write transaction can start within 2 s, else why not (locked, read-only, full disk ...)."""
    try:
        connection = sqlite3.connect(outbox_path, timeout=2, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"the outbox {outbox_path} does not accept writes: {exc}"
    return ""


@dataclass(frozen=True)
class RelayUserCounts:
    """What one relay user submitted in a time window, by what became of it."""

    accepted: int = 0
    sent: int = 0
    failed: int = 0
    held: int = 0


def relay_user_activity(outbox_path: Path, now: float, windows_s: Mapping[str, float]
                        ) -> tuple[dict[str, dict[str, RelayUserCounts]], dict[str, float]]:
    """({user: {window name: counts}}, {user: last submission time}) from the outbox, index only."""
    if not outbox_path.exists():
        return {}, {}
    connection = sqlite3.connect(f"{outbox_path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
        if "relay_user" not in columns:  # an outbox no relay user has written to yet
            return {}, {}
        counts: dict[str, dict[str, RelayUserCounts]] = {}
        for window, length in windows_s.items():
            tally: dict[str, dict[str, int]] = {}
            for user, state, count in connection.execute(
                    "SELECT relay_user, state, COUNT(*) FROM messages INDEXED BY messages_by_relay_user"
                    " WHERE relay_user != '' AND created_at >= ? GROUP BY relay_user, state", (now - length,)):
                by_state = tally.setdefault(str(user), {})
                by_state[str(state)] = by_state.get(str(state), 0) + int(count)
            for user, by_state in tally.items():
                counts.setdefault(user, {})[window] = RelayUserCounts(
                    accepted=sum(by_state.values()), sent=by_state.get("sent", 0),
                    failed=by_state.get("failed", 0), held=by_state.get("held", 0))
        last_used = {str(user): float(when) for user, when in connection.execute(
            "SELECT relay_user, MAX(created_at) FROM messages INDEXED BY messages_by_relay_user"
            " WHERE relay_user != '' GROUP BY relay_user")}
    finally:
        connection.close()
    return counts, last_used
