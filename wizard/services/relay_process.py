"""The relay in a process of its own, so accepting mail and sending it run on two cores.

In one process the relay's SMTP server and the sender's SMTP client share one interpreter lock and
take turns; measured with one submitting application, relay -> outbox -> sender ran at 1.4-1.6x the
time of submitting directly, and at 1.1-1.2x with the relay in its own process (benchmarks/outbox.py).

The child only accepts: it commits each message to the outbox (250 only after the commit, as before),
then sends one loopback datagram so the sender in the parent drains at once instead of at its next poll.
The child stops when asked, and on its own when the parent dies (even by kill -9), so a restarted
Mailwright never finds its port still taken by an orphan. Config and outbox paths are passed
explicitly: the child sees the same files as the parent whatever its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.services.alerts import AlertDispatcher
    from wizard.services.config import Config
    from wizard.services.outbox import Outbox
    from wizard.services.submission import QueuedMessage

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
RESTART_DELAYS_S = (0.5, 2.0, 10.0, 30.0)  # after an unexpected exit; the longest repeats while it fails
STABLE_AFTER_S = 60.0  # a child that ran this long before dying starts the delays from the beginning
SUPERVISE_SLICE_S = 1.0  # longest a supervising thread outlives the loop that started it
PORT_RELEASE_WAIT_S = 2.0  # how long a new child waits for a killed predecessor's child to free the port


class RelayStartError(Exception):
    """The relay could not start; `config_error` when the settings are refused (not a busy port)."""

    def __init__(self, message: str, *, config_error: bool) -> None:
        super().__init__(message)
        self.config_error = config_error


@dataclass(frozen=True)
class RelaySpec:
    """What the child needs; picklable, no secrets (remote AUTH users are read from the keyring there)."""

    @classmethod
    def for_outbox(cls, host: str, port: int, outbox_path: Path, home: Path | None = None, *,
                   allow_remote: bool = False) -> RelaySpec:
        from wizard.services.config import data_home
        from wizard.services.logs import logs_to_file

        return cls(host, port, home or data_home(), outbox_path, allow_remote, logs_to_file())

    host: str
    port: int
    home: Path
    outbox_path: Path
    allow_remote: bool = False
    log_to_file: bool = False  # as the parent does: the app logs to <home>/logs, `serve` to stderr
    events: bool = False  # send connection and reply events to the parent (serve --metrics)


class _Wakes(asyncio.DatagramProtocol):
    """The child's datagrams: b"q" when a message was queued, anything else an event for the metrics."""

    def __init__(self, on_queued: Callable[[], None], on_event: Callable[[str], None]) -> None:
        self.on_queued = on_queued
        self.on_event = on_event

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if data == b"q":
            self.on_queued()
        else:
            self.on_event(data.decode("ascii", "replace"))


class RelayProcess:
    """Start, watch and stop the relay child from the parent's event loop (the GUI's or `serve`'s).

    A child that dies on its own (a crash, the OOM killer, someone's kill) is restarted after a short
    delay, growing while it keeps failing; `error` says meanwhile why mail is not being accepted.
    """

    def __init__(self, spec: RelaySpec, on_queued: Callable[[], None] | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.spec = spec
        self.on_queued = on_queued or (lambda: None)
        self.on_event = on_event  # None: the child sends no events
        self.error = ""  # why the relay is not accepting mail right now; "" while it listens
        self.restarts = 0
        self._process: BaseProcess | None = None
        self._control: multiprocessing.connection.Connection | None = None
        self._wakes: asyncio.DatagramTransport | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Return once the relay listens; raise RelayStartError (port taken, settings refused) otherwise."""
        loop = asyncio.get_running_loop()
        on_event = self.on_event or (lambda _event: None)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Wakes(self.on_queued, on_event),
                                                           local_addr=("127.0.0.1", 0))
        self._wakes = transport
        try:
            await self._spawn()
        except BaseException:
            await self.stop()
            raise
        self._supervisor = loop.create_task(self._supervise(), name="mailwright-relay-supervisor")

    async def _spawn(self) -> None:
        assert self._wakes is not None
        wake_port = int(self._wakes.get_extra_info("sockname")[1])
        # spawn, not fork: forking a process that runs Qt or an event loop with threads is unsafe, and
        # spawn is what Windows and macOS do anyway.
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_child_main, args=(self.spec, child_end, wake_port),
                                  name="mailwright-relay", daemon=True)
        self._process, self._control = process, parent_end
        process.start()
        child_end.close()
        try:
            ready = await asyncio.to_thread(parent_end.poll, STARTUP_TIMEOUT_S)
            reply = parent_end.recv() if ready else ("error", False, "the relay did not start in time")
        except (EOFError, OSError):
            reply = ("error", False, f"the relay process exited (code {process.exitcode})")
        if reply[0] != "ready":
            await self._end_child()
            raise RelayStartError(str(reply[2]), config_error=bool(reply[1]))

    async def _supervise(self) -> None:
        failures = 0
        while True:
            process = self._process
            assert process is not None
            started = time.monotonic()
            # stop() cancels this task before it ends the child: an exit seen here was not asked for.
            # Waited for in slices: a thread blocked until the child exits would hold up the event loop's
            # shutdown (asyncio.run waits for its executor) for as long as a relay nobody stopped runs.
            while not await asyncio.to_thread(multiprocessing.connection.wait, [process.sentinel],
                                              SUPERVISE_SLICE_S):
                pass
            if time.monotonic() - started > STABLE_AFTER_S:
                failures = 0
            self.error = (f"The relay on {self.spec.host}:{self.spec.port} stopped unexpectedly "
                          f"(exit code {process.exitcode}); restarting it.")
            log.warning("%s", self.error)
            await self._end_child()
            while self._process is None:
                await asyncio.sleep(RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)])
                failures += 1
                try:
                    await self._spawn()
                except RelayStartError as exc:
                    self.error = f"The relay on {self.spec.host}:{self.spec.port} stopped and cannot restart: {exc}"
                    log.warning("%s", self.error)
            self.error = ""
            self.restarts += 1
            log.warning("The relay on %s:%d was restarted", self.spec.host, self.spec.port)

    async def stop(self) -> None:
        """Ask the child to stop accepting and exit; messages it already answered 250 are committed."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        wakes, self._wakes = self._wakes, None
        try:
            await self._end_child()
        finally:
            if wakes is not None:
                wakes.close()

    async def _end_child(self) -> None:
        process, control = self._process, self._control
        self._process = self._control = None
        if process is not None or control is not None:
            # Shielded: a caller cancelled mid-stop (the window closing) must not leave a half-stopped child, nor
            # poll it from here while the abandoned join thread reaps it (poll then says "still running").
            await asyncio.shield(_end(process, control))


async def _end(process: BaseProcess | None, control: multiprocessing.connection.Connection | None) -> None:
    if control is not None:
        with contextlib.suppress(OSError):
            control.send("stop")
        control.close()
    if process is None:
        return
    await asyncio.to_thread(process.join, STOP_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        await asyncio.to_thread(process.join, STOP_TIMEOUT_S)  # a killed child is reaped within milliseconds
    if not process.is_alive():
        process.close()


def _listen_error(spec: RelaySpec, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {spec.port} is already in use on {spec.host} (another Mailwright relay, or another "
                "program): stop it, or choose another port")
    if exc.errno == errno.EACCES:
        return f"port {spec.port} needs administrator rights; choose a port above 1023, such as 2525"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{spec.host} is not an address of this computer"
    return str(exc)


def _child_main(spec: RelaySpec, control: multiprocessing.connection.Connection, wake_port: int) -> None:
    """The child: serve until the parent says stop, closes the pipe or dies."""
    # Ctrl+C in a terminal reaches the whole process group: the parent decides when the relay stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_serve(spec, control, wake_port))
    except KeyboardInterrupt:
        pass


async def _serve(spec: RelaySpec, control: multiprocessing.connection.Connection, wake_port: int) -> None:
    from wizard.services.config import ConfigStore
    from wizard.services.config_cache import CachedConfigLoader
    from wizard.services.logs import configure_logging
    from wizard.services.outbox import Outbox
    from wizard.services.relay import QUEUE_WAIT_S, RelayConfigError, start_relay

    if spec.log_to_file:
        configure_logging(spec.home)
    try:
        # This loop only takes submissions; a client waits at most QUEUE_WAIT_S for another program's lock.
        outbox = Outbox(spec.outbox_path, commit_on_loop=True, lock_wait_s=QUEUE_WAIT_S)
    except (sqlite3.Error, OSError) as exc:  # damaged, unreadable, or locked past the busy timeout
        control.send(("error", False, f"the outbox {spec.outbox_path} cannot be opened ({exc}); no mail is "
                      "accepted until it can"))
        return
    wake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    wake.setblocking(False)
    wake.connect(("127.0.0.1", wake_port))

    def queued() -> None:
        with contextlib.suppress(OSError):  # a full buffer already holds a wake; the sender also polls
            wake.send(b"q")

    def observed(event: str) -> None:
        with contextlib.suppress(OSError):  # a metric lost to a full buffer is better than a slow relay
            wake.send(event.encode("ascii", "replace"))

    load_config = CachedConfigLoader(ConfigStore(spec.home))
    alerts = _SenderAlerts(spec.home, outbox, load_config, queued)
    # A relay child of a Mailwright that was just killed lets the port go within milliseconds of noticing;
    # a restart racing it waits for that instead of failing.
    deadline = time.monotonic() + PORT_RELEASE_WAIT_S
    try:
        while True:
            try:
                server = await start_relay(outbox, load_config, spec.host, spec.port,
                                           allow_remote=spec.allow_remote, on_queued=queued,
                                           observe=observed if spec.events else None, on_alert=alerts.raise_for)
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
    except RelayConfigError as exc:
        control.send(("error", True, str(exc)))
        return
    except OSError as exc:
        control.send(("error", False, _listen_error(spec, exc)))
        return
    control.send(("ready", False, ""))
    parent = multiprocessing.parent_process()
    watched: list[object] = [control] + ([parent.sentinel] if parent is not None else [])
    try:
        # Returns when the parent sends "stop", closes its end, or exits in any way (its sentinel fires).
        await asyncio.to_thread(multiprocessing.connection.wait, watched)  # type: ignore[arg-type]
    finally:
        server.close()
        await server.wait_closed()
        await alerts.stop()
        wake.close()


class _SenderAlerts:
    """The relay's unauthorised-sender alerts, raised through an alerts dispatcher of the data home (its alert
    mail is queued in the same outbox, then the parent's sender is woken) off the SMTP reply's path."""

    def __init__(self, home: Path, outbox: Outbox, load_config: Callable[[], Config], on_queued: Callable[[], None]):
        self.home = home
        self.outbox = outbox
        self.load_config = load_config
        self.on_queued = on_queued
        self._dispatcher: AlertDispatcher | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    def raise_for(self, queued: QueuedMessage) -> None:
        if self._dispatcher is None:
            from wizard.services.alerts import AlertDispatcher

            self._dispatcher = AlertDispatcher.for_home(self.home, self.outbox, self.load_config,
                                                        on_queued=self.on_queued)
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self._dispatcher.sender_not_authorized(queued))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Let alerts under way finish for a moment (well within the parent's STOP_TIMEOUT_S), then cancel them."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S / 2)
            for task in pending:
                task.cancel()
