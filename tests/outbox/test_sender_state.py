"""`mailwright queue status` shows what stops the sender running in another process (`serve`), and never the problems
of a sender that is gone.

Real parts: `mailwright serve` and `mailwright queue status` as subprocesses, aiosmtpd servers that refuse the sign-in
(the account is paused) or answer Gmail's "unusual rate" 4.7.28 (the account is slowed), the real keyring.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.fixtures.smtp_servers import GOOD_USER, SinkHandler, SmtpServerFactory
from tests.fixtures.waiting import eventually
from wizard.services import accounts, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import Outbox

RAW = f"From: {GOOD_USER}\r\nTo: x@example.net\r\nSubject: state\r\n\r\nhi\r\n".encode()


def _status() -> dict[str, Any]:
    result = mailwright("queue", "status", "--json")
    assert result.returncode == 0, result.stderr
    return as_json(result)


def _problem(payload: dict[str, Any], profile: str) -> dict[str, Any] | None:
    return next((p for p in payload.get("problems", []) if p["profile"] == profile), None)


@pytest.mark.keyring
@pytest.mark.slow
def test_queue_status_shows_the_running_serves_paused_and_slowed_accounts_and_nothing_once_serve_is_gone(
        smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    refusing = smtp_server("starttls")  # knows GOOD_USER, but not with the password this profile has
    busy = smtp_server("plain", auth=False, handler=SinkHandler(
        mail_reply="451 4.7.28 Our system has detected an unusual rate of unsolicited mail"))
    paused, slowed = f"{profile_name}-paused", f"{profile_name}-slowed"
    store = ConfigStore()
    accounts.save_profile(Profile(name=paused, from_address=GOOD_USER, host=refusing.host, port=refusing.port,
                                  security=Security.STARTTLS, username=GOOD_USER, ca_file=refusing.ca_file),
                          "not the password", store)
    store.save_profile(Profile(name=slowed, from_address=GOOD_USER, host=busy.host, port=busy.port,
                               security=Security.NONE, allow_plaintext_loopback=True))
    outbox = Outbox()
    for name in (paused, slowed):
        outbox.enqueue(RAW, profile=name, envelope_from=GOOD_USER, recipients=["x@example.net"])
    serve = subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                             env={**os.environ, "MAILWRIGHT_HOME": str(data_home)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None and serve.stdout.readline() == "sender running\n"
        asyncio.run(eventually(lambda: (_problem(_status(), paused) is not None and
                                        _problem(_status(), slowed) is not None) or serve.poll() is not None,
                               "serve to publish both problems", timeout_s=60))
        payload = _status()
        assert payload["sender"]["running"] is True and payload["sender"]["pid"] == serve.pid, payload["sender"]
        refused = _problem(payload, paused)
        assert refused is not None and refused["state"] == "paused", refused
        assert refused["diagnosis"]["code"] == "auth_failed" and "535" in refused["diagnosis"]["detail"], refused
        assert refused["diagnosis"]["title"] and refused["diagnosis"]["fix"]
        assert isinstance(refused["since"], float)
        limited = _problem(payload, slowed)
        assert limited is not None and limited["state"] == "slowed", limited
        assert "4.7.28" in limited["diagnosis"]["detail"], limited
        assert payload["last_error"]["profile"] in (paused, slowed)

        state_file = data_home / "sender-state.json"  # private, as everything in the data home
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        assert json.loads(state_file.read_text(encoding="utf-8"))["pid"] == serve.pid

        text = mailwright("queue", "status").stdout
        assert f"Sender: running (pid {serve.pid})" in text, text
        assert f"{paused}: paused since" in text and refused["diagnosis"]["title"] in text, text
        assert f"{slowed}: slowed since" in text, text

        serve.send_signal(signal.SIGKILL)  # no chance to tidy up: its file stays behind, stale
        serve.wait(timeout=30)
        assert state_file.exists()
        payload = _status()
        assert payload["sender"]["running"] is False
        assert payload["problems"] == [] and payload["last_error"] is None
        text = mailwright("queue", "status").stdout
        assert "Nothing is sending this outbox" in text and "slowed since" not in text, text
    finally:
        if serve.poll() is None:
            serve.kill()
        serve.communicate(timeout=30)
        secrets.delete_profile_secrets(paused)


@pytest.mark.slow
def test_a_serve_that_stops_cleanly_removes_its_state(data_home: Path) -> None:
    ConfigStore().save_profile(Profile(name="main", from_address="app@example.com", host="127.0.0.1", port=1))
    serve = subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                             env={**os.environ, "MAILWRIGHT_HOME": str(data_home)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None and serve.stdout.readline() == "sender running\n"
        asyncio.run(eventually(lambda: (data_home / "sender-state.json").exists() or serve.poll() is not None,
                               "serve to publish its state"))
        assert _status()["sender"]["running"] is True
        serve.terminate()
        assert serve.wait(timeout=30) == 0
        assert not (data_home / "sender-state.json").exists()
    finally:
        if serve.poll() is None:
            serve.kill()
        serve.communicate(timeout=30)
