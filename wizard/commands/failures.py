"""The CLI's last line: every exception a command did not handle becomes one message and an exit code.

Failures that are not bugs (a damaged config.toml or outbox, a value the services refuse, a data home that
cannot be written) are told in one line with what to do: exit 2 when a file or value must be corrected,
1 when the machine is in the way. Anything else is unexpected: its traceback, with secrets removed, goes to
the log file and the terminal gets one line naming that file (exit 70). Never a traceback on the terminal.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import tempfile
import traceback
from pathlib import Path

from wizard.commands.output import EXIT_FAILED, EXIT_USAGE, emit_json

EXIT_UNEXPECTED = 70

log = logging.getLogger("wizard.cli")


def _data_file(name: str) -> Path:
    home = os.environ.get("MAILWRIGHT_HOME")
    if home:
        return Path(home) / name
    import platformdirs

    return Path(platformdirs.user_data_dir("mailwright", appauthor=False)) / name


def _outbox_failure(exc: sqlite3.Error) -> tuple[int, str, str]:
    """sqlite3 does not say which file: the CLI opens only the data home's outbox."""
    path = _data_file("outbox.sqlite3")
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (EXIT_FAILED, "outbox_busy", f"The outbox {path} is locked by another program ({text}); "
                "nothing was changed. Try again when it is done.")
    if "full" in text:
        return (EXIT_FAILED, "storage_full", f"The disk holding {path} is full ({text}); nothing was changed. "
                "Free some space and try again.")
    if "readonly" in text or ("unable to open" in text and not path.is_dir() and path.parent.is_dir()
                              and not os.access(path.parent, os.W_OK)):
        return (EXIT_FAILED, "data_home_read_only", f"The outbox {path} cannot be written ({text}). "
                f"Make {path.parent} writable for this user, or point MAILWRIGHT_HOME at a writable folder.")
    return (EXIT_USAGE, "outbox_damaged", f"The outbox {path} cannot be opened as a Mailwright outbox ({text}). "
            "Mailwright never deletes or rewrites it: move it aside (e.g. "
            f"mv {path} {path}.damaged) and Mailwright starts a new, empty one; the old file keeps whatever "
            "it still holds for inspection (sqlite3 .recover).")


def explain(exc: BaseException) -> tuple[int, str, str] | None:
    """(exit code, diagnosis code, message) for a failure that is not a bug; None for an unexpected one."""
    import tomllib

    from wizard.services.validation import InvalidInputError

    if isinstance(exc, InvalidInputError):  # the config loader's errors are these too, naming file, line and key
        return EXIT_USAGE, "config_invalid" if getattr(exc, "path", None) else "invalid_input", str(exc)
    if isinstance(exc, tomllib.TOMLDecodeError):
        return (EXIT_USAGE, "config_invalid", f"{_data_file('config.toml')}: {exc}. Correct the file (or move it "
                "aside to start over); nothing was changed.")
    if isinstance(exc, UnicodeDecodeError):
        return (EXIT_USAGE, "config_invalid", f"{_data_file('config.toml')} is not UTF-8 text ({exc.reason} at "
                f"byte {exc.start}). Correct the file (or move it aside to start over); nothing was changed.")
    if isinstance(exc, sqlite3.Error):
        return _outbox_failure(exc)
    if isinstance(exc, OSError) and exc.filename:
        what = exc.strerror or str(exc)
        return (EXIT_FAILED, "file_unusable", f"Cannot use {exc.filename}: {what}. Check that the data home "
                "(MAILWRIGHT_HOME) exists and is writable for this user; nothing else was changed.")
    from wizard.services.secrets import KeyringUnavailableError

    if isinstance(exc, KeyringUnavailableError):
        return EXIT_FAILED, "keyring_unavailable", str(exc)
    return None


def _redacted_traceback(exc: BaseException) -> str:
    from wizard.services.logs import SecretRedactor

    return SecretRedactor.redact("".join(traceback.format_exception(exc)))


def log_unexpected(exc: BaseException, command: str) -> Path:
    """Write the traceback (secrets removed) to the data home's log; a private temporary file if that fails."""
    from wizard import __version__

    header = f"Unexpected error in `mailwright {command}` (mailwright {__version__}, Python {sys.version.split()[0]})"
    try:
        from wizard.services.logs import configure_logging

        path = configure_logging()
        log.error("%s", header, exc_info=exc)
        for handler in (*logging.getLogger().handlers, *logging.getLogger("wizard").handlers):
            handler.flush()
        return path
    except Exception:  # the data home itself is what failed: a file only this user can read, in /tmp
        folder = Path(tempfile.gettempdir()) / f"mailwright-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / "mailwright-error.log"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(f"{header}\n{_redacted_traceback(exc)}\n")
        return path


def report(exc: BaseException, command: str, *, as_json: bool) -> int:
    """Say what happened in one line (or one JSON answer) and return the exit code."""
    known = explain(exc)
    if known is not None:
        code, diagnosis, message = known
        title = "Invalid input" if code == EXIT_USAGE else "Could not complete"
        fix = "Correct it and try again." if code == EXIT_USAGE else "See the explanation."
    else:
        code, diagnosis = EXIT_UNEXPECTED, "internal_error"
        try:
            where = str(log_unexpected(exc, command))
        except Exception:  # nowhere to write: still one line, never the traceback
            where = "no log file could be written"
        message = (f"An unexpected error happened ({type(exc).__name__}); the details are in {where}. "
                   "Please include that file when you report it.")
        title, fix = "Unexpected error", f"Report it with the log file {where}."
    if as_json:
        try:
            emit_json({"ok": False, "diagnosis": {"code": diagnosis, "title": title, "explanation": message,
                                                  "fix": fix}})
            return code
        except Exception:  # stdout is gone: stderr below still says it
            pass
    print(f"mailwright: {message}", file=sys.stderr)
    return code
