"""The data home is private to its user: folders 0700, files 0600, as Postfix keeps its queue.

The outbox holds every queued and sent body, the logs name recipients, the token caches and client files
belong to one account: no other local user may read them. Every file is created with its final mode
(`os.open(..., 0o600)`, `mkdir(mode=0o700)`, never "create, then chmod": there is no moment in which it is
readable), and `secure_data_home` repairs at start what an older version or a copy left open, with one log
line per path.

SQLite creates the outbox's -wal and -shm files with the mode of the database file, so creating the
database file 0600 covers them. On Windows the modes are not used: the data home is under the user
profile (%LOCALAPPDATA%), whose ACL gives access to the user, SYSTEM and Administrators only.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
ENFORCED = os.name == "posix"


def make_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as a folder only its owner can enter; an existing one is left as is."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)  # the parents are not ours (e.g. ~/.local/share)
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


def create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 if it does not exist (SQLite then opens it as a new database)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write `path` (usually a temporary file about to replace the real one) as 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        if ENFORCED:
            os.fchmod(fd, PRIVATE_FILE_MODE)  # an existing file keeps its old mode through O_CREAT
        file.write(data)


def write_private_text(path: Path, text: str) -> None:
    write_private_bytes(path, text.encode("utf-8"))


def secure_data_home(home: Path) -> list[Path]:
    """Make the data home and everything in it private again; returns (and logs) each path that was not.

    Symbolic links are not followed: a link placed in the data home never makes Mailwright change the mode
    of a file elsewhere.
    """
    if not ENFORCED or not home.is_dir():
        return []
    repaired = []
    pending = [home]
    while pending:
        folder = pending.pop()
        if _repair(folder, PRIVATE_DIR_MODE):
            repaired.append(folder)
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("Could not look into %s to keep it private: %s", folder, exc)
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False) and _repair(Path(entry.path), PRIVATE_FILE_MODE):
                repaired.append(Path(entry.path))
    return repaired


def _repair(path: Path, wanted: int) -> bool:
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077 == 0:
            return False
        os.chmod(path, wanted)
    except OSError as exc:
        log.warning("Could not make %s private: %s", path, exc)
        return False
    log.warning("Made %s private: other users could read it (mode %03o, now %03o)", path, mode, wanted)
    return True
