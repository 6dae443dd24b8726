"""Secrets never reach the log file, even when a message or traceback contains one."""

from __future__ import annotations

import logging
from pathlib import Path

from wizard.services.logs import SecretRedactor, configure_logging


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
