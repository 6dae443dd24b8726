"""Secrets never reach the log file, even when a message or traceback contains one."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from tests.fixtures.isolated_logging import isolated_logging  # noqa: F401
from wizard.services.logs import SecretRedactor, configure_logging

pytestmark = pytest.mark.usefixtures("isolated_logging")


def test_registered_secrets_and_token_patterns_are_redacted(data_home: Path) -> None:
    path = configure_logging(data_home)
    SecretRedactor.register("pa55-word-registered")
    log = logging.getLogger("wizard.test")
    log.warning("login with %s failed", "pa55-word-registered")
    log.warning("header Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig and password=hunter22x")
    try:
        raise RuntimeError("secret in exception: pa55-word-registered")
    except RuntimeError:
        log.exception("boom")
    for handler in logging.getLogger("wizard").handlers:
        handler.flush()
    text = path.read_text()
    assert "pa55-word-registered" not in text
    assert "eyJhbGciOiJSUzI1NiJ9" not in text and "hunter22x" not in text
    assert text.count("***") >= 4
    assert "login with *** failed" in text


def test_serve_logging_redacts_on_every_handler_including_stderr(data_home: Path) -> None:
    """`serve` once printed an `AUTH LOGIN <base64 user>` line unmasked: Python's last-resort stderr handler has no
    filter. Records of any library (aiosmtpd's mail.log, aiosmtplib, asyncio) now pass the redaction filter."""
    from wizard.services.logs import serve_logging

    stderr = io.StringIO()
    with serve_logging(data_home, stderr=stderr) as path:
        root = logging.getLogger()
        ours = [h for h in root.handlers if any(isinstance(f, SecretRedactor) for f in h.filters)]
        assert len(ours) == 2  # the log file and stderr
        for name in ("mail.log", "aiosmtplib", "asyncio", "wizard.services.relay"):
            logging.getLogger(name).warning("%r >> %r", ("127.0.0.1", 40000), b"AUTH LOGIN dXNlcm5hbWU=")
        logging.getLogger("wizard.x").warning("auth login   cGFzc3dvcmQ= from a client that writes lower case")
        logging.getLogger("wizard.x").info("info goes to the file only")
    text = path.read_text()
    for shown in (stderr.getvalue(), text):
        assert "dXNlcm5hbWU=" not in shown and "cGFzc3dvcmQ=" not in shown
        assert shown.count("AUTH LOGIN ***") == 4
    assert "info goes to the file only" in text and "info goes" not in stderr.getvalue()
    assert not any(h in logging.getLogger().handlers for h in ours)  # removed again when serve returns


@pytest.mark.slow
def test_serve_writes_its_log_to_the_data_home(data_home: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "wizard", "serve"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "MAILWRIGHT_HOME": str(data_home)})
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "sender running"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    log_file = data_home / "logs" / "mailwright.log"
    assert "serve: sender running" in log_file.read_text()
    if os.name == "posix":
        assert log_file.stat().st_mode & 0o777 == 0o600 and (data_home / "logs").stat().st_mode & 0o777 == 0o700
