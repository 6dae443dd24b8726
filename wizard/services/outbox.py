"""The durable outbox: one SQLite row per message, claimed by the sender under a lease.

A message is accepted only once its row is committed with `synchronous=FULL` (the WAL is fsynced),
so a crash or a power loss after the relay's 250 never loses it. The sender's own bookkeeping
(claims, "sent", "retry at") commits with `synchronous=NORMAL`: a kill -9 cannot lose it either,
and a power loss can at worst roll back the last few of those commits, which makes the affected
messages due again: a resend, never a loss (at-least-once). The Message-ID is assigned at enqueue
and never changes, so a resend is recognisable.

sqlite3 is blocking. Async callers (sender, relay, GUI) go through the `a*` methods, which run on
one dedicated thread per outbox: no two threads of this process fight over SQLite's write lock
(whose busy handler sleeps in milliseconds). Concurrent `aenqueue` calls share one commit
(group commit): each still returns only after its own row is durable. A process whose event loop only
takes submissions (the relay's own process) or only sends (serve) commits on the loop instead
(`commit_on_loop`, for `aenqueue` and `arecord`): the hop to the thread and back cost more CPU than the commit,
on the path every submission or delivery waits for. On the loop a
commit never waits for SQLite's write lock (that would stop every other connection of the relay): when
another program holds it, the rows go to the outbox's thread, which waits at most `lock_wait_s` and then
raises "database is locked" (the relay answers 451).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any, TypeVar

from wizard.services.config import data_home
from wizard.services.errors import is_outbox_busy
from wizard.services.outbox_schema import (
    SUMMARY_COLUMNS,
    MessageState,
    MessageSummary,
    OutboxMessage,
    ProfilePause,
    folded_headers,
    header_summary,
    migrate,
    row_to_message,
    row_to_summary,
)
from wizard.services.private_files import create_private_file

__all__ = ["DEFAULT_PRIORITY", "OUTBOX_FILE", "MessageState", "Outbox", "OutboxError", "OutboxMessage",
           "OutboxStatus", "Outcome", "ProfilePause", "ensure_message_id"]

OUTBOX_FILE = "outbox.sqlite3"
# How long one statement waits for another program's write lock before SQLite says "database is locked";
# the sender then waits on with backoff (sender_boundary.StorageWait), it does not give up.
BUSY_TIMEOUT_S = 30.0
DEFAULT_PRIORITY = 3

T = TypeVar("T")


class OutboxError(Exception):
    """A request the outbox cannot honour (unknown id, bad priority, no recipients)."""


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt decided for a claimed message; the sender records these in batches."""

    id: int
    state: MessageState  # SENT, FAILED, QUEUED (retry at `retry_at`) or HELD
    reply: str
    diagnosis_code: str = ""
    recipient_results: dict[str, str] = field(default_factory=dict)
    pending_recipients: Sequence[str] | None = None  # who is still to be tried (None: unchanged)
    retry_at: float | None = None
    delivered_by: str = ""


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[MessageState, int]
    paused: dict[str, ProfilePause]


@dataclass(frozen=True)
class _NewRow:
    message_id: str
    profile: str
    priority: int
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    now: float
    relay_user: str = ""
    subject: str = ""
    header_from: str = ""

    def params(self) -> tuple[object, ...]:
        rcpts = json.dumps(list(self.recipients))
        return (self.message_id, self.profile, self.priority, self.envelope_from, rcpts, rcpts, self.raw,
                MessageState.QUEUED.value, self.now, self.now, self.now, self.relay_user, self.subject,
                self.header_from)

    def message(self, row_id: int) -> OutboxMessage:
        return OutboxMessage(id=row_id, message_id=self.message_id, profile=self.profile, priority=self.priority,
                             envelope_from=self.envelope_from, recipients=self.recipients,
                             pending_recipients=self.recipients, raw=self.raw, state=MessageState.QUEUED,
                             attempts=0, created_at=self.now, first_attempt_at=None, next_attempt_at=self.now,
                             last_reply="", diagnosis_code="", recipient_results={}, subject=self.subject,
                             header_from=self.header_from)



_INSERT = ("INSERT INTO messages (message_id, profile, priority, envelope_from, recipients, pending_recipients,"
           " raw, state, created_at, next_attempt_at, updated_at, relay_user, subject, header_from)"
           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def ensure_message_id(raw: bytes, domain: str) -> tuple[bytes, str]:
    """Return the message with a Message-ID header (added if missing) and that Message-ID."""
    # A folded Message-ID (value on the next line) is unfolded.
    [found] = folded_headers(raw, b"Message-ID")
    if found and found.strip():
        return raw, " ".join(found.decode("ascii", "replace").split())
    message_id = email.utils.make_msgid(domain=domain or "mailwright.invalid")
    # Prepend rather than re-serialise so the body bytes the application produced stay untouched.
    return f"Message-ID: {message_id}\r\n".encode("ascii") + raw, message_id


_COMMIT_THREAD = "outbox"
_FIRST_PAUSE_S = 0.0001  # waiting for another program's write lock: first pause, doubling
_LONGEST_PAUSE_S = 0.005
PURGE_SLICE = 500  # rows per transaction: a few milliseconds of write lock each
VACUUM_SLICE_PAGES = 256  # pages returned per step (1 MiB with 4 KiB pages)


def _let_writers_in() -> None:
    """Between two slices of a long job: the relay and the sender wait for the write lock in pauses of at most
    `_LONGEST_PAUSE_S` (`Outbox._when_free`), so a gap that long lets them in; back to back, the next slice took
    the lock again before they woke, and they waited for the whole job."""
    time.sleep(_LONGEST_PAUSE_S)


class Outbox:
    """The queue. `clock` is injectable so retry and lease tests never sleep."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time, *,
                 commit_on_loop: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S,
                 lock_wait_s: float | None = None, open_wait_s: float | None = None) -> None:
        self.path = path or data_home() / OUTBOX_FILE
        self.clock = clock
        self.busy_timeout_s = busy_timeout_s
        self.commit_on_loop = commit_on_loop
        # commit_on_loop: how long an enqueue waits on the outbox's thread for another program's write lock.
        self.lock_wait_s = busy_timeout_s if lock_wait_s is None else lock_wait_s
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_COMMIT_THREAD)
        self._waiting: list[tuple[_NewRow, concurrent.futures.Future[OutboxMessage]]] = []
        self._waiting_lock = threading.Lock()
        self._pending: list[tuple[_NewRow, asyncio.Future[OutboxMessage]]] = []
        self._flushing: asyncio.Task[None] | None = None
        with contextlib.suppress(OSError):  # a folder that is missing or not writable: SQLite's open says so
            create_private_file(self.path)  # 0600 before SQLite opens it; its -wal and -shm inherit the mode
        # Opening creates or migrates the tables, which needs the write lock: wait for it `open_wait_s` (the app
        # then says why it waits, outbox_open.py), not SQLite's whole busy timeout.
        if open_wait_s is not None:
            self._wait_for_lock(open_wait_s)
        with self._connect() as connection:
            migrate(connection)
        if open_wait_s is not None:
            self._wait_for_lock(busy_timeout_s)

    @contextlib.contextmanager
    def _connect(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        # One connection per thread, reused: opening one per call cost more than the commit itself.
        # Autocommit mode: each statement commits on its own; multi-statement work uses BEGIN IMMEDIATE.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            wait_s = getattr(self._local, "lock_wait_s", None)
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s if wait_s is None else wait_s,
                                         isolation_level=None)
            connection.row_factory = sqlite3.Row
            # Before anything is written: a new outbox gives freed pages back in small steps (purge), never
            # with a VACUUM that rewrites the whole file under the write lock. No effect on an existing file
            # (but it waits for another program's write lock, as long as this thread waits for it).
            connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
            self._local.durable = None
        if self._local.durable is not durable:
            connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._local.durable = durable
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _wait_for_lock(self, seconds: float) -> None:
        """How long this thread's statements wait for another connection's write lock (SQLite's busy timeout)."""
        if getattr(self._local, "lock_wait_s", None) != seconds:
            self._local.lock_wait_s = seconds  # also for this thread's connection when it is opened
            connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
            if connection is not None:
                connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._connect(durable) as connection:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")

    async def _in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    # -- enqueue -----------------------------------------------------------------------------

    def _prepare(self, message: EmailMessage | bytes, profile: str, envelope_from: str | None,
                 recipients: Sequence[str] | None, priority: int, relay_user: str = "") -> _NewRow:
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
        raw, message_id = ensure_message_id(raw, sender.rpartition("@")[2])
        return _NewRow(message_id, profile, priority, sender, tuple(rcpts), raw, self.clock(), relay_user,
                       *header_summary(raw))

    def enqueue(self, message: EmailMessage | bytes, *, profile: str, envelope_from: str | None = None,
                recipients: Sequence[str] | None = None, priority: int = DEFAULT_PRIORITY,
                relay_user: str = "") -> OutboxMessage:
        """Store one message durably; returns only after the row is committed.

        Storage only: no routing, policy or header rules are applied here. Mail from outside goes through
        `wizard.submit` (services/submission.py), which applies them and then calls this."""
        row = self._prepare(message, profile, envelope_from, recipients, priority, relay_user)
        if threading.current_thread().name.startswith(_COMMIT_THREAD):
            return self._insert_rows([row])[0]
        # Group commit for threads: rows wait in one list and the outbox's own thread commits whatever is waiting
        # in one transaction, so callers in many threads share each fsync; a caller returns once its row is in.
        done: concurrent.futures.Future[OutboxMessage] = concurrent.futures.Future()
        with self._waiting_lock:
            self._waiting.append((row, done))
        self._executor.submit(self._commit_waiting)
        return done.result()

    def _commit_waiting(self) -> None:
        with self._waiting_lock:
            batch, self._waiting = self._waiting, []
        if not batch:
            return  # an earlier turn took these rows with its own
        try:
            stored = self._insert_rows([row for row, _ in batch])
        except BaseException as exc:
            for _, done in batch:
                done.set_exception(exc)
            return
        for (_, done), message in zip(batch, stored, strict=True):
            done.set_result(message)

    async def aenqueue(self, message: EmailMessage | bytes, *, profile: str, envelope_from: str | None = None,
                       recipients: Sequence[str] | None = None, priority: int = DEFAULT_PRIORITY,
                       relay_user: str = "") -> OutboxMessage:
        """`enqueue` for the event loop: returns only after this message's row is committed (group commit)."""
        row = self._prepare(message, profile, envelope_from, recipients, priority, relay_user)
        future: asyncio.Future[OutboxMessage] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_pending())
        return await future

    async def _flush_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    rows = [row for row, _ in batch]
                    stored = await self._commit_on_loop(rows) if self.commit_on_loop else await self._in_thread(
                        self._insert_rows, rows)
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), message in zip(batch, stored, strict=True):
                    if not future.done():
                        future.set_result(message)
        finally:
            self._flushing = None

    async def _commit_on_loop(self, rows: Sequence[_NewRow]) -> list[OutboxMessage]:
        return await self._on_loop_if_free(self._insert_rows, rows)

    async def _on_loop_if_free(self, write: Callable[..., T], *args: Any) -> T:
        """`write` on the loop if the write lock is free now; else on the outbox's thread, waiting `lock_wait_s`."""
        try:
            self._wait_for_lock(0.0)
            return write(*args)
        except sqlite3.OperationalError as exc:
            if not is_outbox_busy(exc):
                raise
        return await self._in_thread(self._when_free, write, *args)

    def _when_free(self, write: Callable[..., T], *args: Any) -> T:
        """`write` as soon as the write lock is free, for at most `lock_wait_s`. SQLite's own busy handler
        sleeps 1, 2, 5, 10 ms ... between tries; the other side's write holds the lock for well under a
        millisecond, so sleeping in steps from 100 µs answers several times sooner."""
        deadline = time.monotonic() + self.lock_wait_s
        pause = _FIRST_PAUSE_S
        self._wait_for_lock(0.0)  # this thread's connection may not be open yet: opening it is tried likewise
        try:
            while True:
                try:
                    return write(*args)
                except sqlite3.OperationalError as exc:
                    if not is_outbox_busy(exc):
                        raise
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise
                time.sleep(min(pause, left))
                pause = min(pause * 2, _LONGEST_PAUSE_S)
        finally:
            self._wait_for_lock(self.lock_wait_s)

    def _insert_rows(self, rows: Sequence[_NewRow]) -> list[OutboxMessage]:
        with self._transaction(durable=True) as connection:
            ids = [connection.execute(_INSERT, row.params()).lastrowid for row in rows]
        return [row.message(row_id) for row, row_id in zip(rows, ids, strict=True) if row_id is not None]

    # -- claim and results -------------------------------------------------------------------

    def claim_batch(self, profile: str | None = None, limit: int = 1, lease_s: float = 300.0) -> list[OutboxMessage]:
        """Take up to `limit` of the most urgent due messages (lowest priority number first) and lease them.

        A `sending` row whose lease has run out belongs to a sender that died; it is due again.
        """
        now = self.clock()
        # One index range per (condition, priority) rather than one query with OR or without the priority: each
        # walks the messages_due index (state, priority, next_attempt_at) only over rows that are due and stops
        # after `limit`, so a claim costs the same with 1,000 or 100,000 messages waiting for a retry (a query
        # that left the priority open scanned every waiting row of a more urgent priority first).
        by_profile, params = (" AND profile = ?", [profile]) if profile is not None else ("", [])
        order = " ORDER BY next_attempt_at, id LIMIT ?"
        with self._transaction(durable=False) as connection:
            rows: list[sqlite3.Row] = []
            for priority in range(1, 6):
                rows += [row for due in ("state = 'queued' AND priority = ? AND next_attempt_at <= ?",
                                         "state = 'sending' AND priority = ? AND lease_until < ?")  # a dead sender's
                         for row in connection.execute(f"SELECT * FROM messages WHERE {due}{by_profile}{order}",
                                                       [priority, now, *params, limit - len(rows)])]
                if len(rows) >= limit:
                    break
            rows = sorted(rows, key=lambda row: (row["priority"], row["next_attempt_at"], row["id"]))[:limit]
            connection.executemany(
                "UPDATE messages SET state = 'sending', lease_until = ?, attempts = attempts + 1,"
                " first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ? WHERE id = ?",
                [(now + lease_s, now, now, row["id"]) for row in rows])
        claimed = []
        for row in rows:
            message = row_to_message(row)
            first = message.first_attempt_at if message.first_attempt_at is not None else now
            claimed.append(replace(message, state=MessageState.SENDING, attempts=message.attempts + 1,
                                   first_attempt_at=first))
        return claimed

    def more_urgent_due(self, profile: str, priority: int) -> bool:
        """Whether a message more urgent than `priority` is due for `profile` (one index probe).

        A read: in WAL mode it never waits for a writer, so the sender asks it on its own loop between two
        messages (a trip to the outbox's thread per message cost more than the probe)."""
        if priority <= 1:
            return False
        with self._connect(durable=False) as connection:
            return connection.execute(
                "SELECT 1 FROM messages WHERE state = 'queued' AND priority < ? AND next_attempt_at <= ?"
                " AND profile = ? LIMIT 1", (priority, self.clock(), profile)).fetchone() is not None

    async def aclaim_batch(self, profile: str | None = None, limit: int = 1,
                           lease_s: float = 300.0) -> list[OutboxMessage]:
        return await self._in_thread(self.claim_batch, profile, limit, lease_s)

    def claim(self, profile: str | None = None, lease_s: float = 300.0) -> OutboxMessage | None:
        claimed = self.claim_batch(profile, 1, lease_s)
        return claimed[0] if claimed else None

    def unclaim(self, ids: Sequence[int]) -> None:
        """Give back claimed messages that were not attempted (their attempt is not counted)."""
        with self._connect(durable=False) as connection:
            connection.executemany(
                "UPDATE messages SET state = 'queued', lease_until = NULL, attempts = attempts - 1,"
                " first_attempt_at = CASE WHEN attempts = 1 THEN NULL ELSE first_attempt_at END"
                " WHERE id = ? AND state = 'sending'", [(i,) for i in ids])

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Store the results of several attempts in one transaction."""
        now = self.clock()
        with self._transaction(durable=False) as connection:
            connection.executemany(
                "UPDATE messages SET state = ?, lease_until = NULL, last_reply = ?, diagnosis_code = ?,"
                " updated_at = ?, recipient_results = json_patch(recipient_results, ?),"
                " pending_recipients = COALESCE(?, pending_recipients), next_attempt_at = COALESCE(?, next_attempt_at),"
                " delivered_by = CASE WHEN ? = '' THEN delivered_by ELSE ? END WHERE id = ?",
                [(o.state.value, o.reply, o.diagnosis_code, now, json.dumps(o.recipient_results),
                  json.dumps(list(o.pending_recipients)) if o.pending_recipients is not None else None,
                  o.retry_at, o.delivered_by, o.delivered_by, o.id) for o in outcomes])

    async def arecord(self, outcomes: Sequence[Outcome]) -> None:
        """`record` for the event loop. With `commit_on_loop` (serve: its loop only sends) on the loop when the
        write lock is free now: a result's commit does not fsync, and the trip to the outbox's thread and back
        cost more CPU than the commit itself (about 250 µs per message). The app keeps it off its window's loop."""
        if self.commit_on_loop:
            await self._on_loop_if_free(self.record, outcomes)
        else:
            await self._in_thread(self._when_free, self.record, outcomes)

    def mark_sent(self, message_id: int, reply: str, recipient_results: dict[str, str],
                  delivered_by: str = "") -> None:
        self.record([Outcome(message_id, MessageState.SENT, reply, "", recipient_results, (), None, delivered_by)])

    def mark_failed(self, message_id: int, reply: str, diagnosis_code: str,
                    recipient_results: dict[str, str] | None = None) -> None:
        self.record([Outcome(message_id, MessageState.FAILED, reply, diagnosis_code, recipient_results or {})])

    def mark_retry(self, message_id: int, delay_s: float, reply: str, diagnosis_code: str,
                   pending_recipients: Sequence[str] | None = None,
                   recipient_results: dict[str, str] | None = None) -> None:
        """Due again after `delay_s`; only `pending_recipients` are tried next time (no resend to the others)."""
        self.record([Outcome(message_id, MessageState.QUEUED, reply, diagnosis_code, recipient_results or {},
                             pending_recipients, self.clock() + delay_s)])

    # -- holding and pausing -----------------------------------------------------------------

    def hold_profile(self, profile: str, reply: str, diagnosis_code: str) -> int:
        """Hold every unsent message of a profile (auth broke): kept, not dropped. Returns the count."""
        return self._in_slices(
            "UPDATE messages SET state = 'held', lease_until = NULL, last_reply = ?, diagnosis_code = ?, updated_at = ?"
            " WHERE id IN (SELECT id FROM messages WHERE profile = ? AND state IN ('queued', 'sending') LIMIT ?)",
            (reply, diagnosis_code, self.clock(), profile))

    def _in_slices(self, statement: str, params: tuple[object, ...], *, durable: bool = True) -> int:
        """Run an UPDATE or DELETE whose last parameter is a LIMIT until it changes fewer rows than a slice: each
        slice is its own short transaction, so holding, releasing or purging 100,000 messages never keeps the
        relay and the sender waiting for the write lock for seconds. Rows a slice changed leave its WHERE."""
        changed = 0
        with self._connect(durable) as connection:
            while True:
                count = connection.execute(statement, (*params, PURGE_SLICE)).rowcount
                changed += count
                if count < PURGE_SLICE:
                    return changed
                _let_writers_in()

    def pause_profile(self, profile: str, reply: str, diagnosis_code: str) -> None:
        """Remember that the profile's account is broken, across restarts, until `release` (the admin's fix)."""
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO paused_profiles (profile, diagnosis_code, reply, since) VALUES (?,?,?,?)"
                " ON CONFLICT(profile) DO UPDATE SET diagnosis_code = excluded.diagnosis_code,"
                " reply = excluded.reply", (profile, diagnosis_code, reply, self.clock()))

    def paused_profiles(self) -> dict[str, ProfilePause]:
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM paused_profiles ORDER BY profile").fetchall()
        return {row["profile"]: ProfilePause(row["profile"], row["diagnosis_code"], row["reply"], row["since"])
                for row in rows}

    def recover_abandoned(self) -> int:
        """At sender start: rows left `sending` by a killed sender are due again now (one sender per outbox)."""
        with self._connect(durable=False) as connection:
            return connection.execute(
                "UPDATE messages SET state = 'queued', lease_until = NULL, next_attempt_at = ?"
                " WHERE state = 'sending'", (self.clock(),)).rowcount

    def hold_queued(self) -> int:
        """At startup with `send_pending_at_startup = false`: hold what is already waiting."""
        return self._in_slices(
            "UPDATE messages SET state = 'held', updated_at = ?"
            " WHERE id IN (SELECT id FROM messages WHERE state IN ('queued', 'sending') LIMIT ?)", (self.clock(),))

    def release(self, profile: str | None = None, message_id: int | None = None) -> int:
        """Held (or failed, when an id is given: that is a manual retry) messages become due now.

        Releasing a profile (or everything) also lifts its pause: the admin says the account is fixed.
        """
        now = self.clock()
        if message_id is not None:
            with self._connect() as connection:
                return connection.execute(
                    "UPDATE messages SET state = 'queued', next_attempt_at = ?, first_attempt_at = NULL,"
                    " updated_at = ? WHERE id = ? AND state IN ('held', 'failed', 'queued')",
                    (now, now, message_id)).rowcount
        by_profile, params = (" AND profile = ?", (profile,)) if profile is not None else ("", ())
        released = self._in_slices(
            "UPDATE messages SET state = 'queued', next_attempt_at = ?, updated_at = ?"
            f" WHERE id IN (SELECT id FROM messages WHERE state = 'held'{by_profile} LIMIT ?)", (now, now, *params))
        # The pause goes last: a release cut short leaves the profile paused, and the sender holds again what
        # was released, until the admin releases it once more.
        with self._connect() as connection:
            connection.execute(f"DELETE FROM paused_profiles WHERE 1{by_profile}", params)
        return released

    def retry(self, message_id: int) -> None:
        if self.release(message_id=message_id) == 0:
            raise OutboxError(f"Message {message_id} cannot be retried (unknown, or already sent/sending).")

    def delete(self, message_id: int) -> None:
        with self._connect() as connection:
            if connection.execute("DELETE FROM messages WHERE id = ?", (message_id,)).rowcount == 0:
                raise OutboxError(f"There is no message {message_id} in the outbox.")

    def delete_waiting(self, profile: str) -> int:
        """Delete a profile's queued and held mail (e.g. of a deleted profile); returns how many."""
        with self._connect() as connection:
            return connection.execute("DELETE FROM messages WHERE profile = ? AND state IN ('queued', 'held')",
                                      (profile,)).rowcount

    def purge(self, retention_days: int) -> int:
        """Delete sent and failed rows older than the retention window, a slice at a time.

        Each slice is its own short transaction, and freed pages go back to the file system a few at a time,
        so the relay and the sender never wait long for the write lock even when 100,000 rows expire at once.
        """
        cutoff = self.clock() - retention_days * 86400
        purged = self._in_slices(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE state IN ('sent', 'failed')"
            " AND updated_at < ? LIMIT ?)", (cutoff,), durable=False)
        with self._connect(durable=False) as connection:
            if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                return purged  # an outbox created before incremental vacuum: its free pages are reused, not returned
            while connection.execute("PRAGMA freelist_count").fetchone()[0] > 0:
                # Each step of this pragma frees one page, and execute() takes a single step whatever the
                # argument (so the loop freed one page per transaction); executescript() steps it to the end.
                connection.executescript(f"PRAGMA incremental_vacuum({VACUUM_SLICE_PAGES});")
                _let_writers_in()
        return purged

    # -- reading -----------------------------------------------------------------------------

    def get(self, message_id: int) -> OutboxMessage:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise OutboxError(f"There is no message {message_id} in the outbox.")
        return row_to_message(row)

    def messages(self, state: MessageState | None = None) -> list[OutboxMessage]:
        with self._connect() as connection:
            if state is None:
                rows = connection.execute("SELECT * FROM messages ORDER BY id").fetchall()
            else:
                rows = connection.execute("SELECT * FROM messages WHERE state = ? ORDER BY id",
                                          (state.value,)).fetchall()
        return [row_to_message(row) for row in rows]

    def summaries(self, *, limit: int = 50, state: MessageState | None = None) -> list[MessageSummary]:
        """The newest `limit` messages (of one state), without bodies: one index walk, whatever the outbox holds."""
        where, params = ("WHERE state = ?", [state.value]) if state is not None else ("", [])
        with self._connect() as connection:
            rows = connection.execute(f"SELECT {SUMMARY_COLUMNS} FROM messages {where} ORDER BY id DESC LIMIT ?",
                                      [*params, limit]).fetchall()
        return [row_to_summary(row) for row in rows]

    def viewer_snapshot(self, limit: int, state: MessageState | None = None,
                        ) -> tuple[list[MessageSummary], dict[MessageState, int]]:
        """What the outbox window shows each tick: the newest `limit` summaries (of one state) and the counts."""
        return self.summaries(limit=limit, state=state), self.counts()

    def counts(self) -> dict[MessageState, int]:
        with self._connect() as connection:
            rows = connection.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall()
        return {MessageState(state): count for state, count in rows}

    def status(self) -> OutboxStatus:
        """Counts per state and the paused profiles with the reason: what the GUI and `queue status` show."""
        return OutboxStatus(self.counts(), self.paused_profiles())

    async def run_async(self, call: Callable[..., T], *args: Any) -> T:
        """Run a blocking method of this outbox on its database thread (from the event loop)."""
        return await self._in_thread(call, *args)
