"""The outbox's SQLite schema, its migrations, and the mapping from rows to `OutboxMessage`.

Migrations are additive column additions checked against `PRAGMA table_info`, so an outbox
written by an older Mailwright opens with every message intact.
"""

from __future__ import annotations

import email.header
import json
import re
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA = """
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
    updated_at REAL NOT NULL,
    delivered_by TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    header_from TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (state, priority, next_attempt_at);
-- Newest first per state (`queue list --state`, the viewer's filter) and the counts per state, without the bodies.
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state, id);
-- Everything the per-profile statistics aggregate (outbox_stats.py), so they never read a row with its body.
CREATE INDEX IF NOT EXISTS messages_by_profile ON messages (profile, state, attempts, diagnosis_code, updated_at,
                                                         created_at);
CREATE TABLE IF NOT EXISTS paused_profiles (
    profile TEXT PRIMARY KEY,
    diagnosis_code TEXT NOT NULL,
    reply TEXT NOT NULL,
    since REAL NOT NULL
);
"""

# Columns added after the first release: (column, definition). Applied when missing.
COLUMN_MIGRATIONS = (
    ("delivered_by", "TEXT NOT NULL DEFAULT ''"),
    ("relay_user", "TEXT NOT NULL DEFAULT ''"),  # the signed-in relay user who submitted it
    # What the outbox window lists without reading bodies; "" for mail queued by an older Mailwright.
    ("subject", "TEXT NOT NULL DEFAULT ''"),
    ("header_from", "TEXT NOT NULL DEFAULT ''"),
)


# Indexes on migrated columns: created after the columns exist.
LATE_INDEXES = (
    # Per relay user counts over a time window (relay user list), without reading a row and its body.
    "CREATE INDEX IF NOT EXISTS messages_by_relay_user ON messages (relay_user, created_at, state)",
)


def migrate(connection: sqlite3.Connection) -> None:
    connection.executescript(SCHEMA)
    present = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
    for column, definition in COLUMN_MIGRATIONS:
        if column not in present:
            connection.execute(f"ALTER TABLE messages ADD COLUMN {column} {definition}")
    for statement in LATE_INDEXES:
        connection.execute(statement)


class MessageState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"


@dataclass(frozen=True)
class MessageSummary:
    """A message without its body: what lists and counts need (`queue list`, the outbox viewer)."""

    id: int
    message_id: str
    profile: str
    priority: int
    envelope_from: str
    recipients: tuple[str, ...]
    pending_recipients: tuple[str, ...]
    state: MessageState
    attempts: int
    created_at: float
    first_attempt_at: float | None
    next_attempt_at: float
    last_reply: str
    diagnosis_code: str
    recipient_results: dict[str, str]
    delivered_by: str = ""  # the profile that delivered it (differs from `profile` after a fallback)
    subject: str = ""  # the Subject and From headers, decoded, as queued
    header_from: str = ""


@dataclass(frozen=True)
class OutboxMessage(MessageSummary):
    raw: bytes = field(kw_only=True)


# Every column but the body, for reading summaries of many rows without loading megabytes of mail.
SUMMARY_COLUMNS = ("id, message_id, profile, priority, envelope_from, recipients, pending_recipients, state, attempts,"
                   " created_at, first_attempt_at, next_attempt_at, last_reply, diagnosis_code, recipient_results,"
                   " delivered_by, subject, header_from")


@dataclass(frozen=True)
class ProfilePause:
    """A profile the sender stopped using because its account failed (auth or settings); survives restarts."""

    profile: str
    code: str
    reply: str
    since: float


def _summary_fields(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "message_id": row["message_id"], "profile": row["profile"], "priority": row["priority"],
            "envelope_from": row["envelope_from"], "recipients": tuple(json.loads(row["recipients"])),
            "pending_recipients": tuple(json.loads(row["pending_recipients"])), "state": MessageState(row["state"]),
            "attempts": row["attempts"], "created_at": row["created_at"], "first_attempt_at": row["first_attempt_at"],
            "next_attempt_at": row["next_attempt_at"], "last_reply": row["last_reply"],
            "diagnosis_code": row["diagnosis_code"], "recipient_results": json.loads(row["recipient_results"]),
            "delivered_by": row["delivered_by"], "subject": row["subject"], "header_from": row["header_from"]}


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADERS = {name: re.compile(rb"^" + name + rb":[ \t]*((?:.*)(?:\r?\n[ \t].*)*)$", re.IGNORECASE | re.MULTILINE)
            for name in (b"Subject", b"From", b"Message-ID")}


def folded_headers(raw: bytes, *names: bytes) -> list[bytes | None]:
    """Each named header's value as written (folded, undecoded; None when absent), searched in the header block
    only: parsing the message with the email package cost more than the commit that stores it."""
    end = _HEADER_END.search(raw)
    limit = end.start() if end else len(raw)
    found = (_HEADERS[name].search(raw, 0, limit) for name in names)
    return [match.group(1) if match else None for match in found]


def header_summary(raw: bytes) -> tuple[str, str]:
    """The decoded Subject and From of a raw message."""
    values = []
    for value in folded_headers(raw, b"Subject", b"From"):
        text = " ".join(value.decode("utf-8", "replace").split()) if value is not None else ""
        if "=?" in text:  # RFC 2047 encoded words
            try:
                text = str(email.header.make_header(email.header.decode_header(text)))
            except (ValueError, LookupError):
                pass  # shown as written
        values.append(text[:300])
    return values[0], values[1]


def row_to_summary(row: sqlite3.Row) -> MessageSummary:
    return MessageSummary(**_summary_fields(row))


def row_to_message(row: sqlite3.Row) -> OutboxMessage:
    return OutboxMessage(**_summary_fields(row), raw=bytes(row["raw"]))
