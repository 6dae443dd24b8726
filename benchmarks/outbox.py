"""Outbox benchmarks (figures, not tests): `.venv/bin/python benchmarks/outbox.py [N] [ROUNDS]`.

1. Direct submission of N messages over one SMTP connection to an aiosmtpd sink in another process, with
   Mailwright's SMTP client (the baseline), and with the application's own client (smtplib) for reference.
2. The same N through relay -> outbox -> sender -> sink, as a time ratio to (1): `mailwright serve --relay`
   as users run it (the relay in its own process), and for comparison relay and sender in one process.
   On Linux it also prints the CPU seconds each process spent (from /proc): four processes share the cores,
   so their sum over the number of cores bounds the end-to-end time from below.
3. Durable enqueue rate (Outbox.enqueue, WAL + synchronous=FULL, one commit per message) vs raw
   SQLite inserts in one transaction.
4. Relay ingest alone with 1 and 4 submitting connections: concurrent DATA commands share commits.

The submitting application always runs in its own process, as in real use.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import smtplib
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _CountingSink:
    def __init__(self, counter: object, sessions: object) -> None:
        self.counter = counter
        self.sessions = sessions

    async def handle_EHLO(self, server: object, session: object, envelope: object, hostname: str,  # noqa: N802
                          responses: list[str]) -> list[str]:
        with self.sessions.get_lock():  # type: ignore[attr-defined]
            self.sessions.value += 1  # type: ignore[attr-defined]
        session.host_name = hostname  # type: ignore[attr-defined]
        return responses

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        with self.counter.get_lock():  # type: ignore[attr-defined]
            self.counter.value += 1  # type: ignore[attr-defined]
        return "250 2.0.0 Ok"


def _sink_process(port: int, counter: object, sessions: object, ready: object) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_CountingSink(counter, sessions), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()  # type: ignore[attr-defined]
    threading_event = multiprocessing.Event()
    threading_event.wait()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far; 0 where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _reaped_children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Round:
    """One interleaved round: seconds and the CPU seconds each process spent on the N messages."""
    direct: float = 0.0
    direct_client_cpu: float = 0.0
    direct_sink_cpu: float = 0.0
    e2e: float = 0.0
    application_cpu: float = 0.0
    relay_cpu: float = 0.0
    sender_cpu: float = 0.0
    sink_cpu: float = 0.0
    connections: int = 0

    @property
    def e2e_cpu(self) -> float:
        return self.application_cpu + self.relay_cpu + self.sender_cpu + self.sink_cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raw(number: int) -> bytes:
    return (f"From: app@example.com\r\nTo: bob@example.net\r\nSubject: bench {number}\r\n"
            f"Message-ID: <bench-{number}@example.com>\r\n\r\nhello {number}\r\n").encode()


async def _direct(port: int, n: int) -> float:
    from wizard.services.model import Security
    from wizard.services.transports.smtp import SmtpSettings, SmtpTransport

    transport = SmtpTransport(SmtpSettings("127.0.0.1", port, Security.NONE, allow_plaintext_loopback=True))
    start = time.perf_counter()
    async with transport:
        for number in range(n):
            await transport.send("app@example.com", ["bob@example.net"], _raw(number))
    return time.perf_counter() - start


def _application_direct(port: int, n: int) -> float:
    """The submitting application's own client straight to the sink: the same work as its relay submission."""
    client = multiprocessing.Process(target=_submit_process, args=(port, n))
    start = time.perf_counter()
    client.start()
    client.join()
    return time.perf_counter() - start


def _submit_process(relay_port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", relay_port) as client:
        for number in range(n):
            client.sendmail("app@example.com", ["bob@example.net"], _raw(number))


async def _submitted_and_delivered(relay_port: int, n: int, counter: object,
                                   cpu: _Round | None = None) -> float:
    """Seconds from the first submission to the relay until the sink has all N. The application is its own
    process, as in real use (a thread here would compete with the relay or sender for this GIL)."""
    before = counter.value  # type: ignore[attr-defined]
    reaped = _reaped_children_cpu_s()
    start = time.perf_counter()
    client = multiprocessing.Process(target=_submit_process, args=(relay_port, n))
    client.start()
    await asyncio.to_thread(client.join)
    if cpu is not None:
        cpu.application_cpu = _reaped_children_cpu_s() - reaped  # the only child reaped meanwhile
    if client.exitcode != 0:  # the relay refused something: the figure would be wrong (or never come)
        raise SystemExit(f"the submitting application failed (exit {client.exitcode}); see its traceback above")
    await _until_delivered(counter, before + n)
    return time.perf_counter() - start


async def _until_delivered(counter: object, target: int) -> None:
    # The counter lives in another process: nothing to await on, so poll it.
    while counter.value < target:  # type: ignore[attr-defined]  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def _serve_home(home: Path, sink_port: int) -> Path:
    from wizard.services.config import ConfigStore
    from wizard.services.model import Profile, Security

    home.mkdir()
    ConfigStore(home).save_profile(Profile(name="bench", from_address="app@example.com", host="127.0.0.1",
                                           port=sink_port, security=Security.NONE, allow_plaintext_loopback=True))
    return home


async def _serve_end_to_end(n: int, counter: object, home: Path, cpu: _Round, sink_pid: int) -> float:
    """`mailwright serve --relay` in a subprocess; timed from the first submission to the last delivery. `cpu`
    gets the CPU seconds of the application, the relay's process, serve's (the sender) and the sink."""
    relay_port = _free_port()
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wizard", "serve", "--relay", f"127.0.0.1:{relay_port}",
        env={**os.environ, "MAILWRIGHT_HOME": str(home)}, stdout=asyncio.subprocess.PIPE)
    assert serve.stdout is not None
    while b"sender running" not in await serve.stdout.readline():
        pass
    relay_pids = _children(serve.pid)  # the relay's process (and multiprocessing's resource tracker, idle)
    before = (_cpu_s(serve.pid), sum(_cpu_s(pid) for pid in relay_pids), _cpu_s(sink_pid))
    elapsed = await _submitted_and_delivered(relay_port, n, counter, cpu)
    cpu.sender_cpu = _cpu_s(serve.pid) - before[0]
    cpu.relay_cpu = sum(_cpu_s(pid) for pid in relay_pids) - before[1]
    cpu.sink_cpu = _cpu_s(sink_pid) - before[2]
    serve.terminate()
    await serve.wait()
    return elapsed


async def _end_to_end(port: int, n: int, counter: object, home: Path) -> float:
    """Relay and sender on one event loop in this process (what `serve` did before the relay had its own)."""
    from wizard.services.config import Config
    from wizard.services.model import Profile, Security
    from wizard.services.outbox import Outbox
    from wizard.services.relay import start_relay
    from wizard.services.sender import Sender

    profile = Profile(name="bench", from_address="app@example.com", host="127.0.0.1", port=port,
                      security=Security.NONE, allow_plaintext_loopback=True)
    config = Config(profiles={"bench": profile}, default_profile="bench")
    outbox = Outbox(home / "e2e.sqlite3")
    relay_port = _free_port()
    stop = asyncio.Event()
    sender_ = Sender(outbox, lambda: config)
    relay = await start_relay(outbox, lambda: config, "127.0.0.1", relay_port, on_queued=sender_.wake)
    sender = asyncio.create_task(sender_.run(stop))
    elapsed = await _submitted_and_delivered(relay_port, n, counter)
    stop.set()
    await sender
    relay.close()
    await relay.wait_closed()
    return elapsed


async def _relay_ingest(n: int, connections: int, home: Path) -> tuple[float, int]:
    """Relay only (no sender): N messages over `connections` parallel client processes; returns (s, commits)."""
    from wizard.services.config import Config
    from wizard.services.model import Profile
    from wizard.services.outbox import Outbox
    from wizard.services.relay import start_relay

    config = Config(profiles={"bench": Profile(name="bench", from_address="app@example.com")}, default_profile="bench")
    outbox = Outbox(home / f"ingest-{connections}.sqlite3", commit_on_loop=True)  # as in the relay process
    commits = 0
    insert_rows = outbox._insert_rows

    def counted(rows: list[object], **options: object) -> object:
        nonlocal commits
        commits += 1
        return insert_rows(rows, **options)  # type: ignore[arg-type]

    outbox._insert_rows = counted  # type: ignore[assignment,method-assign]
    relay_port = _free_port()
    relay = await start_relay(outbox, lambda: config, "127.0.0.1", relay_port)
    clients = [multiprocessing.Process(target=_submit_process, args=(relay_port, n // connections))
               for _ in range(connections)]
    start = time.perf_counter()
    for client in clients:
        client.start()
    for client in clients:
        await asyncio.to_thread(client.join)
    elapsed = time.perf_counter() - start
    relay.close()
    await relay.wait_closed()
    return elapsed, commits


def _fsync_latency(home: Path, samples: int = 200) -> float:
    """Median seconds of one fdatasync on the data folder's file system: the relay answers 250 only after one."""
    path = home / "fsync-probe"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    timings = []
    try:
        for _ in range(samples):
            os.write(descriptor, b"x" * 512)
            start = time.perf_counter()
            os.fdatasync(descriptor)
            timings.append(time.perf_counter() - start)
    finally:
        os.close(descriptor)
        path.unlink()
    return statistics.median(timings)


def _enqueue_rates(home: Path, n: int) -> tuple[float, float]:
    from wizard.services.outbox import Outbox

    outbox = Outbox(home / "enqueue.sqlite3")
    start = time.perf_counter()
    for number in range(n):
        outbox.enqueue(_raw(number), profile="bench", envelope_from="app@example.com", recipients=["b@example.net"])
    durable = n / (time.perf_counter() - start)
    connection = sqlite3.connect(home / "raw.sqlite3")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, raw BLOB)")
    start = time.perf_counter()
    with connection:
        connection.executemany("INSERT INTO t (raw) VALUES (?)", ((_raw(i),) for i in range(n)))
    raw = n / (time.perf_counter() - start)
    connection.close()
    return durable, raw


def main() -> None:
    load_before = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    port = _free_port()
    counter = multiprocessing.Value("i", 0)
    sessions = multiprocessing.Value("i", 0)  # EHLOs the sink saw: the sender's connections
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink_process, args=(port, counter, sessions, ready), daemon=True)
    sink.start()
    ready.wait(10)
    pairs: list[_Round] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MAILWRIGHT_HOME"] = tmp
            # Interleaved rounds: on a shared 2-core VM one run's ratio swings by half; the median does not.
            for number in range(rounds):
                one = _Round()
                sink_before, client_before = _cpu_s(sink.pid), time.process_time()
                one.direct = asyncio.run(_direct(port, n))
                one.direct_client_cpu = time.process_time() - client_before
                one.direct_sink_cpu = _cpu_s(sink.pid) - sink_before
                before = sessions.value
                one.e2e = asyncio.run(_serve_end_to_end(n, counter, _serve_home(Path(tmp) / f"serve-{number}", port),
                                                        one, sink.pid))
                one.connections = sessions.value - before
                pairs.append(one)
            application_direct = _application_direct(port, n)
            one_process = asyncio.run(_end_to_end(port, n, counter, Path(tmp)))
            durable, raw = _enqueue_rates(Path(tmp), n)
            fsync = _fsync_latency(Path(tmp))
            ingest_1 = asyncio.run(_relay_ingest(n, 1, Path(tmp)))
            ingest_4 = asyncio.run(_relay_ingest(n, 4, Path(tmp)))
    finally:
        sink.kill()
    direct = statistics.median(r.direct for r in pairs)
    e2e = statistics.median(r.e2e for r in pairs)
    ratios = sorted(r.e2e / r.direct for r in pairs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"N = {n}, {rounds} interleaved rounds of direct and end-to-end (medians), {cores} cores, "
          f"load average before the run {load_before}")
    print(f"direct, one connection:          {direct:7.2f} s  {n / direct:8.0f} msg/s  (Mailwright's SMTP client)")
    print(f"relay -> outbox -> sender -> sink: {e2e:7.2f} s  {n / e2e:8.0f} msg/s  (mailwright serve --relay, "
          f"sender connections per round: {', '.join(str(r.connections) for r in pairs)})")
    print(f"end-to-end / direct ratio:        {statistics.median(ratios):7.2f}x  (target <= 1.2x; rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    if all(r.e2e_cpu for r in pairs):  # /proc: Linux
        def cpu(field: str) -> float:
            return float(statistics.median(getattr(r, field) for r in pairs))
        e2e_cpu = statistics.median(r.e2e_cpu for r in pairs)
        print(f"CPU seconds, direct:              client {cpu('direct_client_cpu'):.2f} + sink "
              f"{cpu('direct_sink_cpu'):.2f}")
        print(f"CPU seconds, end to end:          application {cpu('application_cpu'):.2f} + relay "
              f"{cpu('relay_cpu'):.2f} + sender {cpu('sender_cpu'):.2f} + sink {cpu('sink_cpu'):.2f} = {e2e_cpu:.2f}; "
              f"on {cores} cores no schedule is shorter than {e2e_cpu / cores:.2f} s = "
              f"{e2e_cpu / cores / direct:.2f}x direct")
    # One submitting connection waits for each 250, and each 250 waits for one fsync: roughly a floor for the
    # relay path on this disk (its intake does about the work the sink does for direct, plus the fsync).
    print(f"fsync on the data folder:         {fsync * 1000:7.2f} ms median; one client waits for N of them: "
          f"direct + N fsyncs is ratio {(direct + n * fsync) / direct:.2f}x")
    print(f"direct, the application's client: {application_direct:7.2f} s  {n / application_direct:8.0f} msg/s  "
          f"(smtplib in its own process; end-to-end ratio to it {e2e / application_direct:.2f}x)")
    print(f"relay and sender in one process:  {one_process:7.2f} s  ratio {one_process / direct:.2f}x (for comparison)")
    print(f"durable enqueue (commit each):    {durable:8.0f} msg/s")
    print(f"raw SQLite inserts (one txn):     {raw:8.0f} rows/s  ratio {raw / durable:.1f}x")
    for clients, (seconds, commits) in ((1, ingest_1), (4, ingest_4)):
        print(f"relay ingest only, {clients} client(s):      {seconds:7.2f} s  {n / seconds:8.0f} msg/s  "
              f"{commits} commits (group commit)" + (f"; ratio to direct {seconds / direct:.2f}x: the relay's "
                                                     "intake alone, with nothing delivered" if clients == 1 else ""))

if __name__ == "__main__":
    main()
