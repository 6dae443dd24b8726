"""One sender per outbox: an OS file lock next to the outbox database.

Two senders on one outbox (the app and `mailwright serve`, or two app windows) would each recover the
other's claimed rows as "abandoned" and send them again. The lock is taken without waiting; the OS
drops it when its holder exits in any way, kill -9 included, so a dead holder never blocks the next
sender and no heartbeat or staleness guess is needed.

Byte 0 is the locked byte; the holder writes "pid host" after it. Windows locks are mandatory (a
locked byte cannot be read by others), so the owner text stays outside the locked range there too.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from wizard.services.private_files import make_private_dir

__all__ = ["LOCK_SUFFIX", "SenderBusyError", "SenderLock", "SenderLockOwner", "someone_is_sending"]

LOCK_SUFFIX = ".sender.lock"
_OWNER_AT = 1
_OWNER_MAX = 512


@dataclass(frozen=True)
class SenderLockOwner:
    pid: int | None
    host: str

    def describe(self) -> str:
        here = not self.host or self.host == socket.gethostname()
        if self.pid is None:
            return "Another Mailwright"
        return f"Another Mailwright (pid {self.pid})" if here else f"Another Mailwright (pid {self.pid} on {self.host})"


class SenderBusyError(Exception):
    """Another process holds this outbox's sender lock."""

    def __init__(self, owner: SenderLockOwner, path: Path) -> None:
        super().__init__(f"{owner.describe()} is delivering this outbox (lock {path}).")
        self.owner = owner
        self.path = path


class SenderLock:
    """Not re-entrant across instances: two `SenderLock`s on one path exclude each other, also in one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_outbox(cls, outbox_path: Path) -> SenderLock:
        return cls(outbox_path.with_name(outbox_path.name + LOCK_SUFFIX))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if free (never waits); True when this instance holds it afterwards."""
        if self._fd is not None:
            return True
        make_private_dir(self.path.parent)  # e.g. <data home>/m365 for the renewal lock: created private
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _lock(fd):
                os.close(fd)
                return False
            owner = f"{os.getpid()} {socket.gethostname()}\n".encode()
            os.lseek(fd, _OWNER_AT, os.SEEK_SET)
            os.write(fd, owner)
            os.ftruncate(fd, _OWNER_AT + len(owner))
        except BaseException:
            os.close(fd)  # closing drops the lock too
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                _unlock(fd)
            os.close(fd)

    def owner(self) -> SenderLockOwner:
        """Who holds the lock, as the holder wrote it (pid None when unknown or just being written)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(_OWNER_AT)
                text = handle.read(_OWNER_MAX).decode("utf-8", "replace")
        except OSError:
            return SenderLockOwner(None, "")
        pid, _, host = text.strip().partition(" ")
        return SenderLockOwner(int(pid) if pid.isdigit() else None, host)

    def busy(self) -> SenderBusyError:
        return SenderBusyError(self.owner(), self.path)

    def __del__(self) -> None:
        self.release()


def someone_is_sending(outbox_path: Path) -> bool:
    """Whether a sender (the app or `mailwright serve`) holds this outbox's lock right now.

    Probed by taking the lock and dropping it at once: a sender starting in that same instant finds it busy
    and retries (the app, `serve --wait`) or says so (`serve`), so the probe never delivers anything itself.
    """
    probe = SenderLock.for_outbox(outbox_path)
    if not probe.path.exists():
        return False
    try:
        free = probe.try_acquire()
    except OSError:  # an unreadable lock file: unknown, so do not claim that nothing sends
        return True
    probe.release()
    return not free


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> bool:
        # flock, not lockf: flock belongs to this open file, so a second SenderLock in the same process is
        # refused too, and closing some other descriptor of the file does not drop it.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
