"""Logging to `logs/` in the data home, through a filter that removes secrets, on every handler.

Secrets are never formatted into messages on purpose; the filter is the second line of
defence: every secret the keyring hands out is registered here and replaced by `***` in any
record, and bearer tokens / XOAUTH2 strings / password= pairs / SMTP AUTH arguments are masked by
pattern. The handlers sit on the root logger, so records of aiosmtpd, aiosmtplib and asyncio pass the
same filter (and Python's unfiltered last-resort stderr handler is never used).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import threading
from collections.abc import Iterator
from io import TextIOWrapper
from pathlib import Path
from typing import ClassVar, TextIO

from wizard.services.config import data_home
from wizard.services.private_files import create_private_file, make_private_dir, secure_data_home

log = logging.getLogger(__name__)

LOG_FILE = "mailwright.log"
REDACTED = "***"
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(auth=Bearer\s+)\S+"),
    re.compile(r"(?i)((?:password|passwd|pwd|client_secret|secret|refresh_token|access_token)[\"']?\s*[=:]\s*[\"']?)"
               r"[^\s\"'&,;]+"),
    re.compile(r"(?i)(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5)\s+)[^\s'\"]+"),
]
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SecretRedactor(logging.Filter):
    _known: ClassVar[set[str]] = set()
    _lock = threading.Lock()

    @classmethod
    def register(cls, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            with cls._lock:
                cls._known.add(secret)

    @classmethod
    def redact(cls, text: str) -> str:
        with cls._lock:
            known = sorted(cls._known, key=len, reverse=True)
        for secret in known:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text when it is set; exc_info stays for the handlers that look at the exception
            # itself (pytest's caplog), as every handler sees the same record.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log file and each one rotation starts are created 0600 (the base class would use the umask)."""

    def _open(self) -> TextIOWrapper:
        create_private_file(Path(self.baseFilename))
        return super()._open()


def _redacting(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(SecretRedactor())
    return handler


def _file_handler(home: Path) -> tuple[logging.Handler, Path]:
    path = make_private_dir(home / "logs") / LOG_FILE
    return _redacting(PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")), path


def logs_to_file() -> bool:
    """Whether this process logs to a file (a relay child then logs to the same file)."""
    return any(isinstance(h, logging.handlers.RotatingFileHandler) for h in logging.getLogger().handlers)


def configure_logging(home: Path | None = None, level: int = logging.INFO) -> Path:
    """The app and the relay child: log to <data home>/logs/mailwright.log (rotated, 5 x 1 MB), then make the
    data home private again (each repair is logged there); returns the file path."""
    home = home or data_home()
    path = home / "logs" / LOG_FILE
    if not logs_to_file():
        handler, path = _file_handler(home)
        logging.getLogger().addHandler(handler)
    logging.getLogger("wizard").setLevel(level)
    secure_data_home(home)
    return path


@contextlib.contextmanager
def serve_logging(home: Path | None = None, stderr: TextIO | None = None,
                  level: int = logging.INFO) -> Iterator[Path]:
    """`mailwright serve`: the log file as the app keeps it, and problems (WARNING and up) on stderr, both
    through the redaction filter; removed again when serve returns (tests run it in their process)."""
    home = home or data_home()
    path = home / "logs" / LOG_FILE
    console = logging.StreamHandler(stderr)
    console.setLevel(logging.WARNING)
    handlers = [_redacting(console)]
    try:
        file_handler, path = _file_handler(home)
        handlers.append(file_handler)
    except OSError as exc:  # a read-only data home: serve still runs, its problems still reach stderr
        unwritable: OSError | None = exc
    else:
        unwritable = None
    root, ours = logging.getLogger(), logging.getLogger("wizard")
    previous_level = ours.level
    for handler in handlers:
        root.addHandler(handler)
    ours.setLevel(level)
    try:
        if unwritable is not None:
            log.warning("Cannot write the log file %s (%s); logging to stderr only", path, unwritable)
        secure_data_home(home)
        yield path
    finally:
        ours.setLevel(previous_level)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
