"""What keeps the outbox cheap as it grows: claims that walk only due rows, summaries without bodies,
`queue list --limit/--state`, and a purge in short slices that gives the space back."""

from __future__ import annotations

import json
import sqlite3
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.services import outbox as outbox_module
from wizard.services.outbox import PURGE_SLICE, VACUUM_SLICE_PAGES, MessageState, Outbox


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _message(number: int, body: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = f"user{number}@example.net"
    message["Subject"] = f"Message {number}"
    message.set_content(body)
    return message


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _statements(outbox: Outbox) -> list[str]:
    """The SQL the outbox runs on this thread from now on."""
    seen: list[str] = []
    with outbox._connect() as connection:
        connection.set_trace_callback(seen.append)
    return seen


def test_a_due_low_priority_message_is_claimed_behind_urgent_ones_waiting_for_a_retry(
        data_home: Path, clock: FakeClock) -> None:
    outbox = Outbox(clock=clock)
    urgent = [outbox.enqueue(_message(n), profile="main", priority=1) for n in range(30)]
    for message in urgent:
        outbox.claim_batch(limit=1)
        outbox.mark_retry(message.id, 3600, "421 try later", "throttled")
    due = outbox.enqueue(_message(99), profile="main", priority=5)
    assert [m.id for m in outbox.claim_batch(limit=10)] == [due.id]


def test_claims_read_only_due_rows_whatever_waits(data_home: Path, clock: FakeClock) -> None:
    outbox = Outbox(clock=clock)
    for n in range(40):
        message = outbox.enqueue(_message(n), profile="main", priority=3)
        outbox.claim_batch(limit=1)
        outbox.mark_retry(message.id, 3600, "421 try later", "throttled")
    seen = _statements(outbox)
    assert outbox.claim_batch(limit=10) == []
    selects = [statement for statement in seen if statement.startswith("SELECT")]
    assert selects
    with outbox._connect() as connection:
        connection.set_trace_callback(None)
        for select in selects:
            plan = " | ".join(str(row[3]) for row in connection.execute(f"EXPLAIN QUERY PLAN {select}"))
            # An index range bounded by state, priority and the due time; no scan of waiting rows, no sort.
            assert "state=? AND priority=? AND" in plan or "state=? AND priority=?)" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
    assert outbox.claim_batch(limit=10) == []


def test_summaries_are_the_newest_without_bodies_and_filter_by_state(data_home: Path, clock: FakeClock) -> None:
    outbox = Outbox(clock=clock)
    ids = [outbox.enqueue(_message(n, "x" * 50_000), profile="main").id for n in range(5)]
    sent = outbox.claim_batch(limit=1)[0]
    outbox.mark_sent(sent.id, "250 ok", {sent.recipients[0]: "250 ok"})
    seen = _statements(outbox)
    newest = outbox.summaries(limit=3)
    assert [m.id for m in newest] == ids[:1:-1][:3]
    assert not hasattr(newest[0], "raw")
    assert all("raw" not in statement and "*" not in statement for statement in seen)
    assert [m.id for m in outbox.summaries(state=MessageState.SENT)] == [sent.id]


def test_queue_list_shows_the_newest_n_of_a_state(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outbox = Outbox()
    ids = [outbox.enqueue(_message(n), profile="main").id for n in range(4)]
    outbox.claim_batch(limit=1)
    assert main(["queue", "list", "--limit", "2", "--state", "queued", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["messages"]
    assert [m["id"] for m in listed] == [ids[3], ids[2]]
    with pytest.raises(SystemExit) as refused:
        main(["queue", "list", "--limit", "0"])
    assert refused.value.code == 2
    assert "not a number of messages" in capsys.readouterr().err


def test_purge_deletes_in_slices_and_gives_the_space_back(data_home: Path, clock: FakeClock) -> None:
    outbox = Outbox(clock=clock)
    count = PURGE_SLICE * 2 + 7
    for n in range(count):
        outbox.enqueue(_message(n, "x" * 4000), profile="main")
    kept = outbox.enqueue(_message(count), profile="main")
    with sqlite3.connect(outbox.path) as connection:
        connection.execute("UPDATE messages SET state = 'sent' WHERE id != ?", (kept.id,))
    clock.now += 31 * 86400
    seen = _statements(outbox)
    pages_before = _pages(outbox.path)
    assert outbox.purge(retention_days=30) == count
    assert [m.id for m in outbox.summaries()] == [kept.id]
    assert sum(statement.startswith("DELETE") for statement in seen) == 3
    assert _pages(outbox.path) < pages_before / 5


def test_purge_frees_many_pages_a_step_and_leaves_writers_a_gap_between_steps(
        data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each incremental vacuum step gives back up to VACUUM_SLICE_PAGES pages (execute() took one step of the
    pragma: one page per transaction, a thousand transactions for 4 MB), and between two slices or steps the
    purge waits as long as the relay's and the sender's longest pause, so they get the lock in between (back to
    back, a writer left to SQLite's busy handler waited 50-130 ms during a purge of 100,000 messages)."""
    outbox = Outbox()
    raw = b"Subject: old\r\n\r\n" + b"x" * 4000 + b"\r\n"
    outbox._insert_rows([outbox._prepare(raw, "main", "a@example.com", ["b@example.net"], 3)
                         for _ in range(PURGE_SLICE * 3)])
    with sqlite3.connect(outbox.path) as connection:
        connection.execute("UPDATE messages SET state = 'sent', updated_at = 0")
    gaps: list[float] = []
    monkeypatch.setattr(outbox_module, "_let_writers_in", lambda: gaps.append(time.monotonic()))
    seen = _statements(outbox)
    pages_before = _pages(outbox.path)
    assert outbox.purge(retention_days=30) == PURGE_SLICE * 3
    slices = sum(statement.startswith("DELETE") for statement in seen)
    steps = sum("incremental_vacuum" in statement for statement in seen)
    assert slices == 4 and 0 < steps <= pages_before // VACUUM_SLICE_PAGES + 1
    assert len(gaps) == (slices - 1) + steps  # after every slice but the last, and after every step
    assert _pages(outbox.path) < pages_before / 5


def _pages(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA page_count").fetchone()[0])


def test_profile_statistics_never_read_rows_with_their_bodies(data_home: Path) -> None:
    from wizard.services import outbox_stats

    outbox = Outbox()
    outbox.enqueue(_message(1), profile="main")
    with outbox._connect() as connection:
        for query in (outbox_stats._COUNTS, outbox_stats._LATEST, outbox_stats._RETRYING, outbox_stats._DETAIL):
            params = ("sent",) if query == outbox_stats._LATEST else (1,) if query == outbox_stats._DETAIL else ()
            plan = " | ".join(str(row[3]) for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", params))
            assert "COVERING INDEX messages_by_profile" in plan or "INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    assert outbox_stats.read_profile_stats(outbox.path)["main"].counts == {MessageState.QUEUED: 1}


def test_threads_enqueueing_at_once_share_commits_and_each_gets_its_own_row(data_home: Path) -> None:
    import threading

    batches: list[int] = []

    class CountingOutbox(Outbox):
        def _insert_rows(self, rows):  # type: ignore[no-untyped-def]
            batches.append(len(rows))
            return super()._insert_rows(rows)

    outbox = CountingOutbox()
    start = threading.Barrier(8)
    stored: list[int] = []

    def submit(worker: int) -> None:
        start.wait()
        for number in range(25):
            message = outbox.enqueue(_message(worker * 100 + number), profile="main")
            stored.append(message.id)

    workers = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(stored) == sorted({m.id for m in outbox.summaries(limit=1000)}) and len(stored) == 200
    assert sum(batches) == 200 and len(batches) < 200  # some commits carried several rows


def test_holding_and_releasing_many_messages_runs_in_slices(data_home: Path) -> None:
    """Each slice is its own short transaction: the relay and the sender get the write lock between them."""
    outbox = Outbox()
    count = PURGE_SLICE * 2 + 7
    for n in range(count):
        outbox.enqueue(_message(n), profile="main")
    outbox.enqueue(_message(count), profile="other")
    outbox.pause_profile("main", "535 5.7.8 no", "auth_failed")
    seen = _statements(outbox)
    assert outbox.hold_profile("main", "535 5.7.8 no", "auth_failed") == count
    assert sum(statement.startswith("UPDATE") for statement in seen) == 3
    assert outbox.counts() == {MessageState.HELD: count, MessageState.QUEUED: 1}
    seen.clear()
    assert outbox.release(profile="main") == count
    assert sum(statement.startswith("UPDATE") for statement in seen) == 3
    assert outbox.counts() == {MessageState.QUEUED: count + 1}
    assert outbox.paused_profiles() == {}
    seen.clear()
    assert outbox.hold_queued() == count + 1
    assert sum(statement.startswith("UPDATE") for statement in seen) == 3
