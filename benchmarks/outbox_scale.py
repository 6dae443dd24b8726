"""The outbox as the work grows (issue 16): 1,000, 10,000 and 100,000 queued messages.

    .venv/bin/python benchmarks/outbox_scale.py [--queued 100000] [--body-kb 2]

Each figure is printed with its baseline from the same run:
1. Durable submission rate from one process through `wizard.submit` (every rule applied, every message committed
   with synchronous=FULL before its call returns): one caller, and 16 threads calling it at once (they share
   commits: group commit on the outbox's one connection); and the asyncio path (500 concurrent `aenqueue`s). The
   baseline is raw SQLite inserts of the same rows in one transaction.
2. Claiming a batch of 50 at 1,000 / 10,000 / 100,000 queued: with every message due, and with every message
   waiting for a retry after a failed attempt (a profile that cannot deliver) but 50 due.
3. `mailwright queue status` and `mailwright queue list --limit 50` as whole processes at the largest size,
   vs `mailwright --version` (the cost of starting Python and the CLI at all). Target <= 0.6 s.
4. Retention purge of as many old sent messages: the longest time another writer waited for the write lock
   while it ran (target <= 100 ms), vs that writer's wait with nothing else running. The writer waits as
   Mailwright's relay and sender do (short pauses of its own); a second one, left to SQLite's busy handler
   (sleeps of up to 100 ms, so it can miss the purge's gaps), is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wizard.services.outbox import Outbox  # noqa: E402

PROFILE = "bench"


def message(number: int, body: bytes) -> bytes:
    return (f"From: app@bench.test\r\nTo: user{number}@example.test\r\nSubject: Message {number}\r\n"
            f"Message-ID: <{number}@bench.test>\r\n\r\n").encode() + body


async def submit_all(outbox: Outbox, count: int, body: bytes, *, start: int = 0, concurrency: int = 500) -> float:
    """Submit `count` messages from one process, `concurrency` callers at a time; returns messages per second."""
    started = time.perf_counter()
    for first in range(start, start + count, concurrency):
        await asyncio.gather(*(outbox.aenqueue(message(n, body), profile=PROFILE, envelope_from="app@bench.test",
                                               recipients=[f"user{n}@example.test"])
                               for n in range(first, min(first + concurrency, start + count))))
    return count / (time.perf_counter() - started)


def submit_rate(count: int, body: bytes, threads: int) -> float:
    """wizard.submit from `threads` threads at once, `count` messages in all; messages per second."""
    import threading

    import wizard

    each = count // threads
    start = threading.Barrier(threads + 1)

    def work(worker: int) -> None:
        start.wait()
        for number in range(each):
            wizard.submit(message(worker * each + number, body))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - started)


def raw_insert_rate(path: Path, count: int, body: bytes) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, recipient TEXT, raw BLOB)")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t (recipient, raw) VALUES (?, ?)",
                           ((f"user{n}@example.test", message(n, body)) for n in range(count)))
    connection.execute("COMMIT")
    rate = count / (time.perf_counter() - started)
    connection.close()
    return rate


def grow_to(outbox: Outbox, size: int, body: bytes) -> None:
    present = sum(outbox.counts().values())
    if size > present:
        asyncio.run(submit_all(outbox, size - present, body, start=present))


def claim_ms(outbox: Outbox, expected: int = 50, rounds: int = 20) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        claimed = outbox.claim_batch(PROFILE, limit=50)
        samples.append(time.perf_counter() - started)
        assert len(claimed) == expected, len(claimed)
        outbox.unclaim([m.id for m in claimed])
    return statistics.median(samples) * 1000


def set_waiting(path: Path, waiting: bool, due: int = 50) -> None:
    """All but the `due` newest wait for a retry an hour from now (or every message is due again)."""
    connection = sqlite3.connect(path, isolation_level=None)
    later = time.time() + 3600 if waiting else time.time() - 1
    connection.execute("UPDATE messages SET next_attempt_at = ?", (later,))
    connection.execute("UPDATE messages SET next_attempt_at = ? WHERE id > (SELECT MAX(id) - ? FROM messages)",
                       (time.time() - 1, due))
    connection.close()


def process_s(args: list[str], home: Path, rounds: int = 3) -> float:
    env = {**os.environ, "MAILWRIGHT_HOME": str(home)}
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "wizard", *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"mailwright {' '.join(args)} failed ({done.returncode}): {done.stderr[-1000:]}")
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def longest_writer_wait_ms(path: Path, running: Callable[[], bool], *, as_mailwright: bool = False) -> float:
    """Another writer takes the write lock every 5 ms while `running()`; its longest wait. `as_mailwright`: it
    waits as the relay and the sender do (Outbox._when_free: tries again after pauses of 0.1 ms doubling to
    5 ms); else it is left to SQLite's own busy handler (sleeps of 1, 2, 5 ... 100 ms)."""
    writer = Outbox(path, lock_wait_s=60)
    connection = sqlite3.connect(path, isolation_level=None, timeout=60)

    def lock_and_commit() -> None:
        with writer._transaction():
            pass

    longest = 0.0
    while running():
        started = time.perf_counter()
        if as_mailwright:
            writer._when_free(lock_and_commit)
        else:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("COMMIT")
        longest = max(longest, time.perf_counter() - started)
        time.sleep(0.005)
    connection.close()
    return longest * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--body-kb", type=int, default=2)
    args = parser.parse_args()
    body = b"x" * (args.body_kb * 1024)
    sizes = [size for size in (1_000, 10_000, 100_000) if size < args.queued] + [args.queued]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["MAILWRIGHT_HOME"] = str(home / "submit-home")
        from wizard.services.config import ConfigStore
        from wizard.services.model import Profile

        ConfigStore().save_profile(Profile(name=PROFILE, from_address="app@bench.test", host="127.0.0.1"))
        one = submit_rate(1_000, body, threads=1)
        many = submit_rate(5_000, body, threads=16)
        outbox = Outbox(home / "outbox.sqlite3")
        raw_rate = raw_insert_rate(home / "raw.sqlite3", 5_000, body)
        rate = asyncio.run(submit_all(outbox, 5_000, body))
        print(f"durable wizard.submit from one process: {many:8.0f} messages/s from 16 threads (target >= 1,000), "
              f"{one:8.0f}/s from one thread; asyncio aenqueue {rate:8.0f}/s; "
              f"baseline raw SQLite inserts in one transaction: {raw_rate:8.0f}/s")
        print("claim a batch of 50 (median of 20):")
        for size in sizes:
            grow_to(outbox, size, body)
            set_waiting(outbox.path, waiting=False)
            due = claim_ms(outbox)
            set_waiting(outbox.path, waiting=True)
            waiting = claim_ms(outbox)
            set_waiting(outbox.path, waiting=True, due=0)
            none = claim_ms(outbox, expected=0)
            print(f"  {size:>7,} queued: {due:6.2f} ms all due, {waiting:6.2f} ms with all but the 50 newest waiting "
                  f"to retry, {none:6.2f} ms with none due")
        startup = process_s(["--version"], home)
        status = process_s(["queue", "status", "--json"], home)
        listed = process_s(["queue", "list", "--limit", "50", "--json"], home)
        print(f"at {args.queued:,} queued, whole processes (median of 3): queue status {status:.2f} s, "
              f"queue list --limit 50 {listed:.2f} s (target <= 0.6 s); mailwright --version {startup:.2f} s")
        connection = sqlite3.connect(outbox.path, isolation_level=None)
        connection.execute("UPDATE messages SET state = 'sent', updated_at = 0")
        connection.close()
        second = time.perf_counter() + 1.0
        idle = longest_writer_wait_ms(outbox.path, lambda: time.perf_counter() < second)
        purger = Outbox(outbox.path)
        purging = threading.Thread(target=purger.purge, args=(30,))
        # Two writers during the one purge: one waits as Mailwright's relay and sender do, one is left to SQLite's
        # busy handler (a program that is not Mailwright).
        plain: list[float] = []
        other = threading.Thread(target=lambda: plain.append(longest_writer_wait_ms(outbox.path, purging.is_alive)))
        purging.start()
        other.start()
        waited = longest_writer_wait_ms(outbox.path, purging.is_alive, as_mailwright=True)
        purging.join()
        other.join()
        left = sum(purger.counts().values())
        print(f"purge of {args.queued:,} old sent messages: a writer waiting as the relay and the sender do waited at "
              f"most {waited:.1f} ms for the write lock (target <= 100 ms; {idle:.1f} ms with nothing running); "
              f"one left to SQLite's busy handler: {plain[0]:.1f} ms; {left} left")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
