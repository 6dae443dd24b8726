"""The sender's boundary: whatever goes wrong in one profile's delivery stays there, and a sick outbox waits.

- `DeliveryProblems` remembers what currently stops each profile (and the outbox as a whole) as a
  `Diagnosis`, logs a problem when it starts (with its traceback when unexpected) and when it ends, not on
  every round, and names the log file in `internal_error` texts.
- `StorageWait` runs an outbox write again with backoff while SQLite says `database is locked/busy` (another
  program holds it) or `database or disk is full`: results the server already confirmed are never dropped
  for a local, temporary fault. A wait longer than `log_after_s` is logged.
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import describe, storage_error

log = logging.getLogger("wizard.services.sender")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

OUTBOX = ""  # the key of problems that concern the whole outbox, not one profile
STORAGE_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# A profile is shown as slowed for this long after its provider last said "over a limit", unless it delivers.
SLOWED_SHOWN_S = 900.0


def log_file_path() -> str:
    """The file this process logs to (so an `internal_error` can name it), or where `serve` would log."""
    for handler in logging.getLogger("wizard").handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return handler.baseFilename
    from wizard.services.config import data_home

    return str(data_home() / "logs" / "mailwright.log")


class DeliveryProblems:
    """What currently keeps a profile (or, under `OUTBOX`, every profile) from sending, since when; the profiles
    their provider slowed down; the last delivery error (sender_state.py publishes them for other processes)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._current: dict[str, Diagnosis] = {}
        self._since: dict[str, float] = {}
        self._slowed: dict[str, tuple[Diagnosis, float, float]] = {}  # diagnosis, since, latest such reply
        self.last_error: tuple[str, Diagnosis, float] | None = None  # profile, words, when

    @property
    def current(self) -> dict[str, Diagnosis]:
        return dict(self._current)

    def since(self, key: str) -> float | None:
        return self._since.get(key)

    def slowed(self, now: float | None = None) -> dict[str, tuple[Diagnosis, float]]:
        """Profiles whose provider answered "over a limit" (throttled) within SLOWED_SHOWN_S and that have not
        delivered since: their diagnosis and since when."""
        now = self.clock() if now is None else now
        return {key: (diagnosis, since) for key, (diagnosis, since, latest) in self._slowed.items()
                if now - latest < SLOWED_SHOWN_S}

    def delivery_failed(self, key: str, error: BaseException, *, slowed: bool) -> None:
        """A server's or the network's answer for profile `key` (not a bug): remembered as the last error, and as
        slowed when it said the account is over a limit."""
        diagnosis = describe(error)
        now = self.clock()
        self.last_error = (key, diagnosis, now)
        if slowed:
            since = self._slowed[key][1] if key in self._slowed else now
            self._slowed[key] = (diagnosis, since, now)

    def delivered(self, key: str) -> None:
        """Profile `key` delivered a message: it is not slowed (any more)."""
        if self._slowed:
            self._slowed.pop(key, None)

    def report(self, key: str, error: BaseException) -> Diagnosis:
        """Record `error` as the problem of `key`; logged (with its traceback if unexpected) when it is new."""
        storage = storage_error(error)
        diagnosis = describe(storage or error, log_path=log_file_path())
        previous = self._current.get(key)
        self._current[key] = diagnosis
        self._since.setdefault(key, self.clock())
        if previous is None or previous.code != diagnosis.code:
            self.last_error = (key, diagnosis, self.clock())
            where = f"Profile {key}" if key else "The outbox"
            if storage is not None:
                log.error("%s: %s (%s); sending waits and resumes by itself", where, diagnosis.title, storage.detail)
            else:
                log.error("%s: unexpected error in delivery; its mail is retried later", where,
                          exc_info=(type(error), error, error.__traceback__))
        return diagnosis

    def clear(self, key: str) -> None:
        self._since.pop(key, None)
        if self._current.pop(key, None) is not None:
            log.warning("%s: delivery works again", f"Profile {key}" if key else "The outbox")


class StorageWait:
    """Retry an outbox operation while the database is locked or the disk is full."""

    def __init__(self, sleep: Sleep, give_up_after_s: float = 300.0, log_after_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_wait: Callable[[BaseException], object] | None = None) -> None:
        self.sleep = sleep
        self.on_wait = on_wait  # told about each failed attempt (the sender shows outbox_busy / storage_full)
        self.give_up_after_s = give_up_after_s
        self.log_after_s = log_after_s
        self.clock = clock

    async def run(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        started = self.clock()
        attempt = 0
        logged = False
        while True:
            try:
                result = await call()
            except Exception as exc:
                storage = storage_error(exc)
                if storage is None:
                    raise
                waited = self.clock() - started
                if waited >= self.give_up_after_s:
                    raise storage from exc
                if self.on_wait is not None:
                    self.on_wait(storage)
                if waited >= self.log_after_s and not logged:
                    logged = True
                    log.warning("Waiting for the outbox to %s for %.0f s: %s", what, waited, storage.detail)
                await self.sleep(STORAGE_BACKOFF_S[min(attempt, len(STORAGE_BACKOFF_S) - 1)])
                attempt += 1
                continue
            if logged:
                log.warning("The outbox could %s again after %.0f s", what, self.clock() - started)
            return result

