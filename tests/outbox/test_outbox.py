"""The durable outbox: what is accepted is kept, claimed under a lease, and never loses its Message-ID."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from wizard.services.outbox import MessageState, Outbox, OutboxError, Outcome


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _message(to: str = "bob@example.net", *, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = to
    message["Subject"] = "Invoice"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Hello")
    return message


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(data_home: Path, clock: FakeClock) -> Outbox:
    return Outbox(clock=clock)


def test_enqueue_commits_a_row_in_wal_mode_with_a_message_id(outbox: Outbox, data_home: Path) -> None:
    stored = outbox.enqueue(_message(), profile="main")
    assert stored.message_id.startswith("<") and stored.message_id.endswith("@example.com>")
    assert f"Message-ID: {stored.message_id}".encode() in stored.raw
    assert stored.recipients == ("bob@example.net",)
    with sqlite3.connect(data_home / "outbox.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT message_id FROM messages").fetchone()[0] == stored.message_id


def test_existing_message_id_is_kept_across_retries(outbox: Outbox, clock: FakeClock) -> None:
    stored = outbox.enqueue(_message(message_id="<fixed@example.com>"), profile="main")
    claimed = outbox.claim()
    assert claimed is not None
    outbox.mark_retry(claimed.id, 10, "451 try later", "throttled")
    clock.now += 11
    again = outbox.claim()
    assert again is not None and again.message_id == stored.message_id == "<fixed@example.com>"
    assert again.attempts == 2 and again.first_attempt_at == claimed.first_attempt_at


def test_higher_priority_is_claimed_first(outbox: Outbox) -> None:
    outbox.enqueue(_message("normal@example.net"), profile="main")
    urgent = outbox.enqueue(_message("urgent@example.net"), profile="main", priority=1)
    claimed = outbox.claim()
    assert claimed is not None and claimed.id == urgent.id


def test_invalid_priority_and_missing_recipients_are_refused(outbox: Outbox) -> None:
    with pytest.raises(OutboxError, match="Priority"):
        outbox.enqueue(_message(), profile="main", priority=6)
    with pytest.raises(OutboxError, match="no recipients"):
        outbox.enqueue(b"Subject: x\r\n\r\nbody", profile="main", envelope_from="a@b.c", recipients=[])


def test_expired_lease_makes_a_crashed_send_due_again(outbox: Outbox, clock: FakeClock) -> None:
    outbox.enqueue(_message(), profile="main")
    assert outbox.claim(lease_s=60) is not None
    assert outbox.claim(lease_s=60) is None  # leased by the (now dead) sender
    clock.now += 61
    reclaimed = outbox.claim()
    assert reclaimed is not None and reclaimed.state is MessageState.SENDING


def test_a_batch_takes_abandoned_and_queued_mail_together_in_priority_order(outbox: Outbox, clock: FakeClock) -> None:
    low = outbox.enqueue(_message("low@example.net"), profile="main", priority=5)
    abandoned = outbox.enqueue(_message("abandoned@example.net"), profile="main", priority=2)
    assert outbox.claim(lease_s=60) is not None  # the priority 2 one, by a sender that then died
    clock.now += 61
    normal = outbox.enqueue(_message("normal@example.net"), profile="main")
    urgent = outbox.enqueue(_message("urgent@example.net"), profile="main", priority=1)
    outbox.enqueue(_message("other@example.net"), profile="other", priority=1)

    batch = outbox.claim_batch("main", limit=3)

    assert [m.id for m in batch] == [urgent.id, abandoned.id, normal.id]
    assert [m.attempts for m in batch] == [1, 2, 1]
    assert [m.id for m in outbox.claim_batch("main", limit=3)] == [low.id]
    assert [m.recipients for m in outbox.claim_batch(None, limit=3)] == [("other@example.net",)]


def test_retry_is_not_due_before_its_time(outbox: Outbox, clock: FakeClock) -> None:
    outbox.enqueue(_message(), profile="main")
    claimed = outbox.claim()
    assert claimed is not None
    outbox.mark_retry(claimed.id, 60, "451 busy", "throttled")
    clock.now += 59
    assert outbox.claim() is None
    clock.now += 2
    assert outbox.claim() is not None


def test_partial_failure_keeps_per_recipient_results(outbox: Outbox) -> None:
    stored = outbox.enqueue(_message("a@example.net, b@example.net"), profile="main")
    outbox.claim()
    outbox.mark_retry(stored.id, 5, "451", "throttled", pending_recipients=["b@example.net"],
                      recipient_results={"a@example.net": "250 ok", "b@example.net": "451 later"})
    after = outbox.get(stored.id)
    assert after.pending_recipients == ("b@example.net",)
    assert after.recipient_results == {"a@example.net": "250 ok", "b@example.net": "451 later"}


def test_auth_failure_holds_the_profile_until_released(outbox: Outbox) -> None:
    first = outbox.enqueue(_message(), profile="main")
    other = outbox.enqueue(_message(), profile="other")
    assert outbox.hold_profile("main", "535 bad credentials", "auth_failed") == 1
    assert outbox.get(first.id).state is MessageState.HELD
    assert outbox.get(other.id).state is MessageState.QUEUED
    claimed = outbox.claim()
    assert claimed is not None and claimed.id == other.id
    assert outbox.release(profile="main") == 1
    assert outbox.get(first.id).state is MessageState.QUEUED


def test_failed_message_can_be_retried_and_deleted(outbox: Outbox) -> None:
    stored = outbox.enqueue(_message(), profile="main")
    outbox.claim()
    outbox.mark_failed(stored.id, "550 no such user", "recipient_rejected")
    assert outbox.get(stored.id).state is MessageState.FAILED
    outbox.retry(stored.id)
    assert outbox.get(stored.id).state is MessageState.QUEUED
    outbox.delete(stored.id)
    with pytest.raises(OutboxError):
        outbox.get(stored.id)


def test_purge_removes_only_old_finished_rows(outbox: Outbox, clock: FakeClock) -> None:
    old = outbox.enqueue(_message(), profile="main")
    outbox.claim()
    outbox.mark_sent(old.id, "250 ok", {"bob@example.net": "250 ok"})
    waiting = outbox.enqueue(_message(), profile="main")
    clock.now += 31 * 86400
    assert outbox.purge(retention_days=30) == 1
    assert [m.id for m in outbox.messages()] == [waiting.id]


@pytest.mark.asyncio
async def test_async_enqueue_is_durable(outbox: Outbox) -> None:
    stored = await outbox.aenqueue(_message(), profile="main", priority=2)
    assert Outbox().get(stored.id).priority == 2


def test_a_new_sender_recovers_what_a_killed_one_was_sending(outbox: Outbox) -> None:
    stored = outbox.enqueue(_message(), profile="main")
    assert outbox.claim(lease_s=300) is not None
    assert outbox.recover_abandoned() == 1
    reclaimed = outbox.claim()
    assert reclaimed is not None and reclaimed.id == stored.id


def test_message_id_is_read_from_the_header_block_only(outbox: Outbox) -> None:
    folded = outbox.enqueue(b"From: a@example.com\r\nMessage-ID:\r\n <folded@example.com>\r\n\r\nbody\r\n",
                            profile="main", envelope_from="a@example.com", recipients=["b@example.net"])
    assert folded.message_id == "<folded@example.com>"
    quoted = outbox.enqueue(b"From: a@example.com\r\n\r\nMessage-ID: <in-the-body@example.com>\r\n",
                            profile="main", envelope_from="a@example.com", recipients=["b@example.net"])
    assert quoted.message_id != "<in-the-body@example.com>" and quoted.message_id.endswith("@example.com>")
    assert quoted.raw.startswith(f"Message-ID: {quoted.message_id}\r\n".encode())


@pytest.mark.parametrize("commit_on_loop", [False, True], ids=["on the outbox thread", "on the event loop"])
@pytest.mark.asyncio
async def test_concurrent_async_enqueues_share_a_commit_and_return_only_once_stored(
        data_home: Path, commit_on_loop: bool) -> None:
    outbox = Outbox(commit_on_loop=commit_on_loop)
    commits: list[int] = []
    insert_rows = outbox._insert_rows

    def counted(rows: Any, **options: Any) -> Any:
        commits.append(len(rows))
        return insert_rows(rows, **options)

    outbox._insert_rows = counted  # type: ignore[method-assign]
    recipients = [f"r{number}@example.net" for number in range(5)]
    stored = await asyncio.gather(*(outbox.aenqueue(_message(to), profile="main") for to in recipients))

    assert commits == [5]
    with sqlite3.connect(data_home / "outbox.sqlite3") as connection:
        ids = {row[0] for row in connection.execute("SELECT id FROM messages")}
    assert ids == {message.id for message in stored}


@pytest.mark.parametrize("commit_on_loop", [False, True], ids=["on the outbox thread", "on the event loop"])
@pytest.mark.asyncio
async def test_a_failed_commit_is_raised_to_every_waiting_enqueue(data_home: Path, commit_on_loop: bool) -> None:
    outbox = Outbox(commit_on_loop=commit_on_loop)
    with sqlite3.connect(data_home / "outbox.sqlite3") as connection:
        connection.execute("DROP TABLE messages")
    results = await asyncio.gather(*(outbox.aenqueue(_message(), profile="main") for _ in range(3)),
                                   return_exceptions=True)
    assert [type(result) for result in results] == [sqlite3.OperationalError] * 3


@pytest.mark.asyncio
async def test_serve_s_outbox_records_a_result_on_its_loop_and_on_its_thread_while_another_program_writes(
        data_home: Path) -> None:
    """commit_on_loop (serve): a result is committed on the loop when the write lock is free (no trip to the outbox's
    thread), and waits on that thread, not on the loop, while another program holds the lock."""
    outbox = Outbox(commit_on_loop=True, lock_wait_s=5.0)
    first, second = (outbox.enqueue(f"Subject: {n}\r\n\r\nbody\r\n".encode(), profile="main",
                                    envelope_from="app@example.com", recipients=["bob@example.net"])
                     for n in (1, 2))
    threads: list[str] = []
    record = outbox.record

    def noted(outcomes: Any) -> None:
        threads.append(threading.current_thread().name)
        record(outcomes)

    outbox.record = noted  # type: ignore[method-assign]
    await outbox.arecord([Outcome(first.id, MessageState.SENT, "250 ok", "", {"bob@example.net": "250 ok"})])
    assert threads == [threading.current_thread().name]

    other = sqlite3.connect(outbox.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    recording = asyncio.ensure_future(outbox.arecord([Outcome(second.id, MessageState.SENT, "250 ok", "",
                                                              {"bob@example.net": "250 ok"})]))
    ticks = 0
    while not recording.done() and ticks < 20:
        await asyncio.sleep(0.01)  # the loop keeps running while the result waits for the lock
        ticks += 1
    assert not recording.done() and ticks == 20
    other.execute("COMMIT")
    other.close()
    await recording
    loop_thread = threads[0]
    assert threads[1] == loop_thread  # tried on the loop, then (as often as needed) on the thread
    assert len(threads) > 2 and set(threads[2:]) == {threads[2]} and threads[2] != loop_thread
    assert outbox.counts().get(MessageState.SENT) == 2


@pytest.mark.asyncio
async def test_after_waiting_out_another_program_the_outbox_thread_still_waits_for_the_lock(data_home: Path) -> None:
    """The wait for the lock tries with short pauses of its own (SQLite's busy timeout off meanwhile); afterwards
    the thread's other work waits for a writer as before instead of failing at once with "database is locked"."""
    outbox = Outbox(commit_on_loop=True, lock_wait_s=5.0)
    first, second = (outbox.enqueue(f"Subject: {n}\r\n\r\nbody\r\n".encode(), profile="main",
                                    envelope_from="app@example.com", recipients=["bob@example.net"])
                     for n in (1, 2))
    other = sqlite3.connect(outbox.path, isolation_level=None)
    for work in (lambda: outbox.arecord([Outcome(first.id, MessageState.SENT, "250 ok", "", {})]),
                 lambda: outbox.aclaim_batch("main", 5)):
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.ensure_future(work())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        other.execute("COMMIT")
        await waiting
    other.close()
    assert outbox.counts().get(MessageState.SENT) == 1 and outbox.counts().get(MessageState.SENDING) == 1
    assert second.id not in {m.id for m in outbox.claim_batch("main", 5)}


@pytest.mark.asyncio
async def test_the_relay_s_first_message_waits_for_another_program_s_lock_while_its_thread_opens(
        data_home: Path) -> None:
    """The relay's first commit that meets another program's write lock opens the outbox's thread's connection:
    that opening waits for the lock like the commit does (it answered 451 at once when it did not)."""
    outbox = Outbox(commit_on_loop=True, lock_wait_s=5.0)
    other = sqlite3.connect(outbox.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    queued = asyncio.ensure_future(outbox.aenqueue(b"Subject: x\r\n\r\nbody\r\n", profile="main",
                                                   envelope_from="app@example.com", recipients=["b@example.net"]))
    await asyncio.sleep(0.1)
    assert not queued.done()
    other.execute("COMMIT")
    other.close()
    assert (await queued).id and outbox.counts().get(MessageState.QUEUED) == 1


@pytest.mark.asyncio
async def test_the_wait_for_another_program_s_lock_ends_after_lock_wait_s(data_home: Path) -> None:
    outbox = Outbox(commit_on_loop=True, lock_wait_s=0.3)
    stored = outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile="main", envelope_from="app@example.com",
                            recipients=["bob@example.net"])
    other = sqlite3.connect(outbox.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await outbox.arecord([Outcome(stored.id, MessageState.SENT, "250 ok", "", {})])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert outbox.counts().get(MessageState.QUEUED) == 1
