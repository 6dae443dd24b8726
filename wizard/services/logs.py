"""Logging to `logs/` in the data home, through a filter that removes secrets.

Secrets are never formatted into messages on purpose; the filter is the second line of
defence: every secret the keyring hands out is registered here and replaced by `***` in any
record, and bearer tokens / XOAUTH2 strings / password= pairs are masked by pattern.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from pathlib import Path
from typing import ClassVar

from wizard.services.config import data_home

REDACTED = "***"
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(auth=Bearer\s+)\S+"),
    re.compile(r"(?i)((?:password|passwd|pwd|client_secret|secret|refresh_token|access_token)[\"']?\s*[=:]\s*[\"']?)"
               r"[^\s\"'&,;]+"),
    re.compile(r"(?i)(AUTH (?:PLAIN|LOGIN|XOAUTH2) )\S+"),
]


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
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def logs_to_file() -> bool:
    """Whether `configure_logging` ran in this process (child processes then log to the same file)."""
    return any(isinstance(h, logging.handlers.RotatingFileHandler) for h in logging.getLogger("wizard").handlers)


def configure_logging(home: Path | None = None, level: int = logging.INFO) -> Path:
    """Log to <data home>/logs/mailwright.log (rotated, 5 x 1 MB); returns the file path."""
    folder = (home or data_home()) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mailwright.log"
    root = logging.getLogger("wizard")
    if not logs_to_file():
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(SecretRedactor())
        root.addHandler(handler)
    root.setLevel(level)
    return path
