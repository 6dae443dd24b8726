"""The durable outbox: one SQLite row per message, claimed by the sender under a lease.

A message is accepted only once its row is committed (WAL + synchronous=FULL), so a crash at any
moment leaves every message either sent or due again: at-least-once, never lost. The
Message-ID is assigned at enqueue and never changes, so a resend after a crash is recognisable.

sqlite3 is blocking; every call here is a single short transaction on a local file, and the
async callers (sender, relay, GUI) go through the `a*` wrappers, which use `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from enum import StrEnum
from pathlib import Path

from wizard.services.config import data_home

OUTBOX_FILE = "outbox.sqlite3"
DEFAULT_PRIORITY = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    profile TEXT NOT NULL,
    priority INTEGER NOT NULL,
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    pending_recipients TEXT NOT NULL,
    raw BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    first_attempt_at REAL,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    last_reply TEXT NOT NULL DEFAULT '',
    diagnosis_code TEXT NOT NULL DEFAULT '',
    recipient_results TEXT NOT NULL DEFAULT '{}',
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (state, priority, next_attempt_at);
"""


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"


class OutboxError(Exception):
    """A request the outbox cannot honour (unknown id, bad priority, no recipients)."""


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    message_id: str
    profile: str
    priority: int
    envelope_from: str
    recipients: tuple[str, ...]
    pending_recipients: tuple[str, ...]
    raw: bytes
    state: MessageState
    attempts: int
    created_at: float
    first_attempt_at: float | None
    next_attempt_at: float
    last_reply: str
    diagnosis_code: str
    recipient_results: dict[str, str]


def ensure_message_id(raw: bytes, domain: str) -> tuple[bytes, str]:
    """Return the message with a Message-ID header (added if missing) and that Message-ID."""
    parsed = BytesParser(policy=SMTP).parsebytes(raw)
    existing = parsed.get("Message-ID")
    if existing:
        return raw, str(existing).strip()
    message_id = email.utils.make_msgid(domain=domain or "mailwright.invalid")
    # Prepend rather than re-serialise so the body bytes the application produced stay untouched.
    return f"Message-ID: {message_id}\r\n".encode("ascii") + raw, message_id


def _row_to_message(row: sqlite3.Row) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"], message_id=row["message_id"], profile=row["profile"], priority=row["priority"],
        envelope_from=row["envelope_from"], recipients=tuple(json.loads(row["recipients"])),
        pending_recipients=tuple(json.loads(row["pending_recipients"])), raw=bytes(row["raw"]),
        state=MessageState(row["state"]), attempts=row["attempts"], created_at=row["created_at"],
        first_attempt_at=row["first_attempt_at"], next_attempt_at=row["next_attempt_at"],
        last_reply=row["last_reply"], diagnosis_code=row["diagnosis_code"],
        recipient_results=json.loads(row["recipient_results"]),
    )


class Outbox:
    """The queue. `clock` is injectable so retry and lease tests never sleep."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = path or data_home() / OUTBOX_FILE
        self.clock = clock
        self._local = threading.local()
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per thread, reused: opening one per call cost more than the commit itself.
        # Autocommit mode: each statement commits on its own; multi-statement work uses BEGIN IMMEDIATE.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    # -- enqueue -----------------------------------------------------------------------------

    def enqueue(self, message: EmailMessage | bytes, *, profile: str, envelope_from: str | None = None,
                recipients: Sequence[str] | None = None, priority: int = DEFAULT_PRIORITY) -> OutboxMessage:
        """Store one message durably; returns only after the row is committed."""
        if not 1 <= priority <= 5:
            raise OutboxError(f"Priority must be 1 (very high) to 5 (very low), not {priority}.")
        if isinstance(message, EmailMessage):
            raw = message.as_bytes(policy=SMTP)
            sender = envelope_from or str(email.utils.parseaddr(str(message.get("From", "")))[1])
            rcpts = list(recipients) if recipients is not None else [
                address for _, address in email.utils.getaddresses(
                    [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]) if address]
        else:
            raw = message
            sender = envelope_from or ""
            rcpts = list(recipients or [])
        if not rcpts:
            raise OutboxError("The message has no recipients.")
        domain = sender.rpartition("@")[2]
        raw, message_id = ensure_message_id(raw, domain)
        now = self.clock()
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO messages (message_id, profile, priority, envelope_from, recipients, pending_recipients,"
                " raw, state, created_at, next_attempt_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (message_id, profile, priority, sender, json.dumps(rcpts), json.dumps(rcpts), raw,
                 MessageState.QUEUED.value, now, now, now))
            row_id = cursor.lastrowid
        assert row_id is not None
        return self.get(row_id)

    async def aenqueue(self, message: EmailMessage | bytes, *, profile: str, envelope_from: str | None = None,
                       recipients: Sequence[str] | None = None, priority: int = DEFAULT_PRIORITY) -> OutboxMessage:
        return await asyncio.to_thread(self.enqueue, message, profile=profile, envelope_from=envelope_from,
                                       recipients=recipients, priority=priority)

    # -- claim and results -------------------------------------------------------------------

    def claim(self, profile: str | None = None, lease_s: float = 300.0) -> OutboxMessage | None:
        """Take the most urgent due message (lowest priority number first) and lease it.

        A `sending` row whose lease has run out belongs to a sender that died; it is due again.
        """
        now = self.clock()
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            query = ("SELECT * FROM messages WHERE ((state = 'queued' AND next_attempt_at <= ?)"
                     " OR (state = 'sending' AND lease_until < ?))")
            params: list[object] = [now, now]
            if profile is not None:
                query += " AND profile = ?"
                params.append(profile)
            row = connection.execute(query + " ORDER BY priority, next_attempt_at, id LIMIT 1", params).fetchone()
            if row is None:
                connection.execute("COMMIT")
                return None
            first = row["first_attempt_at"] if row["first_attempt_at"] is not None else now
            connection.execute(
                "UPDATE messages SET state = 'sending', lease_until = ?, attempts = attempts + 1,"
                " first_attempt_at = ?, updated_at = ? WHERE id = ?", (now + lease_s, first, now, row["id"]))
            connection.execute("COMMIT")
        return self.get(row["id"])

    def mark_sent(self, message_id: int, reply: str, recipient_results: dict[str, str]) -> None:
        self._finish(message_id, MessageState.SENT, reply, "", recipient_results, pending=[])

    def mark_failed(self, message_id: int, reply: str, diagnosis_code: str,
                    recipient_results: dict[str, str] | None = None) -> None:
        self._finish(message_id, MessageState.FAILED, reply, diagnosis_code, recipient_results or {}, pending=None)

    def mark_retry(self, message_id: int, delay_s: float, reply: str, diagnosis_code: str,
                   pending_recipients: Sequence[str] | None = None,
                   recipient_results: dict[str, str] | None = None) -> None:
        """Due again after `delay_s`; only `pending_recipients` are tried next time (no resend to the others)."""
        now = self.clock()
        with self._connect() as connection:
            connection.execute(
                "UPDATE messages SET state = 'queued', next_attempt_at = ?, lease_until = NULL, last_reply = ?,"
                " diagnosis_code = ?, updated_at = ? WHERE id = ?",
                (now + delay_s, reply, diagnosis_code, now, message_id))
            if pending_recipients is not None:
                connection.execute("UPDATE messages SET pending_recipients = ? WHERE id = ?",
                                   (json.dumps(list(pending_recipients)), message_id))
        if recipient_results:
            self._merge_results(message_id, recipient_results)

    def hold_profile(self, profile: str, reply: str, diagnosis_code: str) -> int:
        """Hold every unsent message of a profile (auth broke): kept, not dropped. Returns the count."""
        now = self.clock()
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE messages SET state = 'held', lease_until = NULL, last_reply = ?, diagnosis_code = ?,"
                " updated_at = ? WHERE profile = ? AND state IN ('queued', 'sending')",
                (reply, diagnosis_code, now, profile))
            return cursor.rowcount

    def recover_abandoned(self) -> int:
        """At sender start: rows left `sending` by a killed sender are due again now (one sender per outbox)."""
        with self._connect() as connection:
            return connection.execute(
                "UPDATE messages SET state = 'queued', lease_until = NULL, next_attempt_at = ?"
                " WHERE state = 'sending'", (self.clock(),)).rowcount

    def hold_queued(self) -> int:
        """At startup with `send_pending_at_startup = false`: hold what is already waiting."""
        with self._connect() as connection:
            return connection.execute(
                "UPDATE messages SET state = 'held', updated_at = ? WHERE state IN ('queued', 'sending')",
                (self.clock(),)).rowcount

    def release(self, profile: str | None = None, message_id: int | None = None) -> int:
        """Held (or failed, when an id is given: that is a manual retry) messages become due now."""
        now = self.clock()
        with self._connect() as connection:
            if message_id is not None:
                return connection.execute(
                    "UPDATE messages SET state = 'queued', next_attempt_at = ?, first_attempt_at = NULL,"
                    " updated_at = ? WHERE id = ? AND state IN ('held', 'failed', 'queued')",
                    (now, now, message_id)).rowcount
            query = "UPDATE messages SET state = 'queued', next_attempt_at = ?, updated_at = ? WHERE state = 'held'"
            params: list[object] = [now, now]
            if profile is not None:
                query += " AND profile = ?"
                params.append(profile)
            return connection.execute(query, params).rowcount

    def retry(self, message_id: int) -> None:
        if self.release(message_id=message_id) == 0:
            raise OutboxError(f"Message {message_id} cannot be retried (unknown, or already sent/sending).")

    def delete(self, message_id: int) -> None:
        with self._connect() as connection:
            if connection.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount == 0:
                raise OutboxError(f"There is no message {message_id} in the outbox.")

    def purge(self, retention_days: int) -> int:
        """Delete sent and failed rows older than the retention window."""
        cutoff = self.clock() - retention_days * 86400
        with self._connect() as connection:
            return connection.execute(
                "DELETE FROM messages WHERE state IN ('sent', 'failed') AND updated_at < ?", (cutoff,)).rowcount

    # -- reading -----------------------------------------------------------------------------

    def get(self, message_id: int) -> OutboxMessage:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise OutboxError(f"There is no message {message_id} in the outbox.")
        return _row_to_message(row)

    def messages(self, state: MessageState | None = None) -> list[OutboxMessage]:
        with self._connect() as connection:
            if state is None:
                rows = connection.execute("SELECT * FROM messages ORDER BY id").fetchall()
            else:
                rows = connection.execute("SELECT * FROM messages WHERE state = ? ORDER BY id",
                                          (state.value,)).fetchall()
        return [_row_to_message(row) for row in rows]

    def counts(self) -> dict[MessageState, int]:
        with self._connect() as connection:
            rows = connection.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall()
        return {MessageState(state): count for state, count in rows}

    # -- internals ---------------------------------------------------------------------------

    def _finish(self, message_id: int, state: MessageState, reply: str, diagnosis_code: str,
                recipient_results: dict[str, str], pending: list[str] | None) -> None:
        # One transaction, one fsync: the sender calls this once per message.
        now = self.clock()
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute("SELECT recipient_results, pending_recipients FROM messages WHERE id = ?",
                                     (message_id,)).fetchone()
            if row is None:
                connection.execute("COMMIT")
                return
            merged = {**json.loads(row[0]), **recipient_results}
            connection.execute(
                "UPDATE messages SET state = ?, lease_until = NULL, last_reply = ?, diagnosis_code = ?,"
                " updated_at = ?, recipient_results = ?, pending_recipients = ? WHERE id = ?",
                (state.value, reply, diagnosis_code, now, json.dumps(merged),
                 json.dumps(pending) if pending is not None else row[1], message_id))
            connection.execute("COMMIT")

    def _merge_results(self, message_id: int, results: dict[str, str]) -> None:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute("SELECT recipient_results FROM messages WHERE id = ?", (message_id,)).fetchone()
            merged = {**json.loads(row[0]), **results} if row else results
            connection.execute("UPDATE messages SET recipient_results = ? WHERE id = ?",
                               (json.dumps(merged), message_id))
            connection.execute("COMMIT")

