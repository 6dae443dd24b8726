"""What the running sender meets, published for other processes: `sender-state.json` beside the outbox.

`mailwright queue status` and a main window that is not the sender run in other processes than the sender
(`serve`, or another app window), so they cannot ask it. The sender writes what currently stops it (paused
accounts with the reply and since when, accounts slowed by their provider, storage trouble, an unexpected
error naming the log file) and its last delivery error, whenever that changes (looked at every second):
to a temporary 0600 file renamed over the old one, so a reader sees the old or the new state, never half.

Whether it is current comes from the outbox's sender lock, not from the file's age: the OS drops the lock
when its holder dies (kill -9 included). A reader believes the file only while a sender holds the lock and
that sender's pid is the file's; a file left by a dead sender is stale and ignored. A sender that stops
cleanly removes its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.services import diagnostics
from wizard.services.diagnostics import Diagnosis
from wizard.services.private_files import write_private_bytes
from wizard.services.sender_boundary import OUTBOX
from wizard.services.sender_lock import SenderLock, someone_is_sending

if TYPE_CHECKING:
    from wizard.services.sender import Sender

__all__ = ["PUBLISH_EVERY_S", "STATE_FILE", "SenderProblem", "SenderState", "SenderStatePublisher",
           "read_sender_state", "sender_problems", "state_path"]

log = logging.getLogger(__name__)

STATE_FILE = "sender-state.json"
PUBLISH_EVERY_S = 1.0
_VERSION = 1


def state_path(outbox_path: Path) -> Path:
    """Beside the outbox it describes (the data home's `sender-state.json` for the default outbox)."""
    return outbox_path.with_name(STATE_FILE)


@dataclass(frozen=True)
class SenderProblem:
    """One thing that stops or slows sending: `profile` '' is the whole outbox (storage trouble).

    `state`: "paused" (the account failed: its mail is held until released), "slowed" (the provider said
    "over a limit": mail waits for its retry time), "failing" (an error the sender keeps meeting: a locked or
    full outbox, an unreadable CA file, an unexpected error whose traceback is in the log)."""

    profile: str
    state: str
    since: float
    diagnosis: Diagnosis

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "state": self.state, "since": self.since,
                "diagnosis": self.diagnosis.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SenderProblem:
        return cls(str(data["profile"]), str(data["state"]), float(data["since"]),
                   Diagnosis(**{key: str(value) for key, value in data["diagnosis"].items()}))

    def line(self) -> str:
        """One line for a terminal: what, since when, and what to do."""
        where = self.profile or "outbox"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{where}: {self.state} since {since}: {self.diagnosis.title}. {self.diagnosis.fix}"


@dataclass(frozen=True)
class SenderState:
    """Who is sending this outbox (if anyone) and what it meets; problems only from a live sender's own file."""

    running: bool
    pid: int | None = None
    host: str = ""
    problems: tuple[SenderProblem, ...] = ()
    last_error: SenderProblem | None = None
    written_at: float | None = None  # None: the running sender has not published anything (yet)

    def to_json(self) -> dict[str, Any]:
        return {"sender": {"running": self.running, "pid": self.pid, "host": self.host,
                           "published_at": self.written_at},
                "problems": [p.to_json() for p in self.problems],
                "last_error": self.last_error.to_json() if self.last_error else None}

    def lines(self, *, mail_retrying: bool = False) -> list[str]:
        """For a terminal. `mail_retrying`: the outbox holds mail waiting for a retry (the caller says why), so
        "no problems" would be untrue even when the sender itself meets none."""
        if not self.running:
            return ["Nothing is sending this outbox: start `mailwright serve` or the Mailwright app."]
        here = not self.host or self.host == socket.gethostname()
        who = f"pid {self.pid}" if here else f"pid {self.pid} on {self.host}"
        lines = [f"Sender: running ({who})" + ("" if self.problems or mail_retrying else ", no problems")]
        lines += [f"  {problem.line()}" for problem in self.problems]
        return lines


def sender_problems(sender: Sender, now: float | None = None) -> tuple[list[SenderProblem], SenderProblem | None]:
    """What `sender` meets right now (the outbox's problems first, then by profile), and its last error."""
    now = time.time() if now is None else now
    problems = sender.problems
    found = [SenderProblem(key, "failing", problems.since(key) or now, diagnosis)
             for key, diagnosis in problems.current.items()]
    for pause in sender.paused.values():
        words = diagnostics.make(pause.code or "unknown", detail=pause.reply, reply=pause.reply)
        found.append(SenderProblem(pause.profile, "paused", pause.since, words))
    paused = set(sender.paused)
    found += [SenderProblem(key, "slowed", since, diagnosis)
              for key, (diagnosis, since) in problems.slowed(now).items() if key not in paused]
    found.sort(key=lambda p: (p.profile != OUTBOX, p.profile, p.state))
    last = problems.last_error
    return found, (SenderProblem(last[0], "error", last[2], last[1]) if last else None)


class SenderStatePublisher:
    """Writes `sender`'s problems to its state file when they change; `run` looks every `every_s` seconds."""

    def __init__(self, sender: Sender, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.sender = sender
        self.path = path or state_path(sender.outbox.path)
        self.clock = clock
        self._published: dict[str, Any] | None = None

    def publish(self) -> bool:
        """Write the state if it changed since the last write (or the file is gone); True when written."""
        if not self.sender.lock.held:
            return False  # only the sender publishes; a window that merely watches leaves the file alone
        problems, last = sender_problems(self.sender, self.clock())
        content = {"version": _VERSION, "pid": os.getpid(), "host": socket.gethostname(),
                   "problems": [p.to_json() for p in problems], "last_error": last.to_json() if last else None}
        if content == self._published and self.path.exists():
            return False
        data = json.dumps({**content, "written_at": self.clock()}, indent=1).encode("utf-8")
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            write_private_bytes(temporary, data)
            os.replace(temporary, self.path)
        except OSError as exc:  # a full disk: the sender shows storage_full itself; this is only a report
            log.debug("Could not write %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return False
        self._published = content
        return True

    def remove(self) -> None:
        """The sender stops: its file goes, if it is this process's (a successor may have written its own)."""
        if _file_pid(self.path) == os.getpid():
            with contextlib.suppress(OSError):
                self.path.unlink()
        self._published = None

    async def run(self, stop: asyncio.Event, every_s: float = PUBLISH_EVERY_S) -> None:
        """Publish until `stop` is set (or the task is cancelled), then remove the file."""
        try:
            while not stop.is_set():
                self.publish()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
        finally:
            self.remove()


def read_sender_state(outbox_path: Path) -> SenderState:
    """Who sends this outbox and what it meets, for another process (`queue status`)."""
    if not someone_is_sending(outbox_path):
        return SenderState(running=False)
    owner = SenderLock.for_outbox(outbox_path).owner()
    return read_published(outbox_path, owner.pid, owner.host)


def read_published(outbox_path: Path, pid: int | None, host: str = "") -> SenderState:
    """The running sender `pid`'s published state; without problems when its file is missing, damaged or another
    (dead) process's."""
    path = state_path(outbox_path)
    try:
        data = json.loads(path.read_bytes())
        if pid is None or data.get("pid") != pid or data.get("version") != _VERSION:
            return SenderState(running=True, pid=pid, host=host)
        problems = tuple(SenderProblem.from_json(p) for p in data["problems"])
        last = SenderProblem.from_json(data["last_error"]) if data.get("last_error") else None
        return SenderState(True, pid, host, problems, last, float(data["written_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.debug("Ignoring %s: %s", path, exc)
        return SenderState(running=True, pid=pid, host=host)


def _file_pid(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_bytes()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None
