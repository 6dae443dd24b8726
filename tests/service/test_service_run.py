"""Mailwright started the way the systemd unit starts it: the state directory as the data home, the store key
decrypted by systemd-creds into $CREDENTIALS_DIRECTORY, keyring's backend switched to the service store, no D-Bus
session at all, $NOTIFY_SOCKET and $WATCHDOG_USEC set. It stores secrets only encrypted, checks a profile and
delivers through a real SMTP server (STARTTLS + AUTH), tells systemd it is ready and alive, and serves metrics."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import smtplib
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, free_port
from tests.fixtures.waiting import eventually
from wizard.services.service_store import STORE_FILE, new_key
from wizard.services.service_units import KEYRING_BACKEND
from wizard.services.store_key import KEY_CREDENTIAL

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("systemd-creds") is None, reason="needs systemd-creds (systemd >= 250)")]


class Unit:
    """A service's environment as systemd builds it from the unit, and its notification socket."""

    def __init__(self, root: Path) -> None:
        self.home = root / "state" / "mailwright"
        self.home.mkdir(parents=True, mode=0o700)
        self.credentials = root / "credentials"
        self.credentials.mkdir(mode=0o700)
        self.sealed = root / "store-key.cred"
        self.key = new_key()
        subprocess.run(["systemd-creds", "encrypt", f"--name={KEY_CREDENTIAL}", "-", str(self.sealed)],
                       input=self.key, check=True, capture_output=True)
        self.unseal()
        self.notify_path = root / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.setblocking(False)
        self.notices: list[str] = []

    def unseal(self) -> None:
        """What systemd does at start for LoadCredentialEncrypted=."""
        subprocess.run(["systemd-creds", "decrypt", f"--name={KEY_CREDENTIAL}", str(self.sealed),
                        str(self.credentials / KEY_CREDENTIAL)], check=True, capture_output=True)

    def env(self) -> dict[str, str]:
        kept = {name: value for name, value in os.environ.items()
                if not name.startswith(("DBUS_", "XDG_", "GNOME_KEYRING", "MAILWRIGHT_"))}
        return {**kept, "MAILWRIGHT_HOME": str(self.home), "CREDENTIALS_DIRECTORY": str(self.credentials),
                "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND, "NOTIFY_SOCKET": str(self.notify_path),
                "WATCHDOG_USEC": "400000"}

    def mailwright(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wizard", *args], input=stdin, capture_output=True, text=True,
                              env=self.env(), check=False, timeout=60)

    def received(self) -> list[str]:
        while True:
            try:
                self.notices += self.notify.recv(4096).decode().splitlines()
            except BlockingIOError:
                return self.notices


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[Unit]:
    made = Unit(tmp_path)
    yield made
    made.notify.close()


def _add_profile(unit: Unit, server: RunningSmtpServer) -> None:
    added = unit.mailwright("profile", "add", "main", "--provider", "smtp", "--host", server.host, "--port",
                            str(server.port), "--security", "starttls", "--username", GOOD_USER, "--from", GOOD_USER,
                            "--ca-file", server.ca_file, "--password-stdin", stdin=GOOD_PASSWORD + "\n")
    assert added.returncode == 0, added.stdout + added.stderr


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]


def test_secrets_go_only_into_the_encrypted_store_and_a_check_passes(
        unit: Unit, smtp_server: Callable[..., RunningSmtpServer]) -> None:
    server = smtp_server("starttls")
    _add_profile(unit, server)
    assert (unit.home / STORE_FILE).exists()
    assert _files_holding(unit.home, GOOD_PASSWORD) == []
    status = json.loads(unit.mailwright("secrets", "status", "--json").stdout)
    assert status["store"] == "service" and status["ok"] is True
    assert status["entries"] == {"mailwright": ["main/password"]}
    assert "systemd credential" in status["key_source"]
    checked = unit.mailwright("check", "--profile", "main", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True


def test_a_wrong_key_is_refused_with_the_reason_and_the_store_is_untouched(
        unit: Unit, smtp_server: Callable[..., RunningSmtpServer]) -> None:
    _add_profile(unit, smtp_server("starttls"))
    before = (unit.home / STORE_FILE).read_bytes()
    (unit.credentials / KEY_CREDENTIAL).write_bytes(new_key())
    status = unit.mailwright("secrets", "status")
    assert status.returncode == 1
    assert "the key is wrong" in status.stdout and "Traceback" not in status.stdout + status.stderr
    unit.mailwright("profile", "add", "other", "--provider", "smtp", "--host", "127.0.0.1", "--port", "587",
                    "--username", "x", "--from", "x@example.com", "--password-stdin", stdin="pw\n")
    assert (unit.home / STORE_FILE).read_bytes() == before
    unit.unseal()
    assert unit.mailwright("secrets", "status", "--json").returncode == 0


def test_without_a_key_nothing_is_saved(unit: Unit) -> None:
    (unit.credentials / KEY_CREDENTIAL).unlink()
    added = unit.mailwright("profile", "add", "main", "--provider", "smtp", "--host", "127.0.0.1", "--port", "587",
                            "--username", "x", "--from", "x@example.com", "--password-stdin", stdin="pw\n")
    assert added.returncode != 0
    assert "no key was handed to it" in added.stdout + added.stderr
    assert not (unit.home / STORE_FILE).exists()


def _serve(unit: Unit, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05", *extra], env=unit.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _submit(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(GOOD_USER, ["bob@example.net"], f"From: {GOOD_USER}\r\nSubject: Reset\r\n\r\nhi\r\n")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.asyncio
async def test_serve_notifies_systemd_delivers_and_reports_health_and_metrics(
        unit: Unit, smtp_server: Callable[..., RunningSmtpServer]) -> None:
    server = smtp_server("starttls")
    _add_profile(unit, server)
    port, relay_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    serve = _serve(unit, "--relay", f"127.0.0.1:{relay_port}", "--metrics", f"127.0.0.1:{port}")
    try:
        await eventually(lambda: "READY=1" in unit.received(), "READY=1 on $NOTIFY_SOCKET")
        await asyncio.to_thread(_submit, relay_port)  # the application hands its mail to the relay
        await eventually(lambda: len(server.messages) == 1, "the message at the SMTP server")
        await eventually(lambda: unit.received().count("WATCHDOG=1") >= 2, "watchdog pings")
        status, body = await asyncio.to_thread(_get, f"{base}/healthz")
        assert (status, body.strip()) == (200, "ok")
        status, metrics = await asyncio.to_thread(_get, f"{base}/metrics")
        assert status == 200
        assert 'mailwright_outbox_messages{profile="main",state="sent"} 1.0' in metrics
        assert 'mailwright_deliveries_total{diagnosis="none",outcome="sent"} 1.0' in metrics
        assert 'mailwright_last_delivery_timestamp_seconds{profile="main"}' in metrics
        assert "mailwright_relay_connections_total 1.0" in metrics
        assert 'mailwright_relay_replies_total{code="250"}' in metrics
        # A fault holds the outbox: another program keeps its write lock.
        holder = sqlite3.connect(unit.home / "outbox.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            status, body = await asyncio.to_thread(_get, f"{base}/healthz")
            assert status == 503 and "does not accept writes" in body
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        status, _body = await asyncio.to_thread(_get, f"{base}/healthz")
        assert status == 200
    finally:
        unit.received()  # read the queue as systemd does: a full one drops what serve says next (STOPPING=1)
        serve.terminate()
        out, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, out + err
    assert "STOPPING=1" in unit.received()
    assert _files_holding(unit.home, GOOD_PASSWORD) == []


def test_metrics_on_a_network_address_need_allow_remote(unit: Unit) -> None:
    refused = unit.mailwright("serve", "--metrics", "0.0.0.0:9464")
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr


def test_a_refreshed_token_cache_survives_a_restart_and_is_never_in_clear(unit: Unit) -> None:
    token = "refresh-token-0123456789abcdef"
    write = ("from wizard.services.oauth import token_store\n"
             f"token_store.save_blob('main', b'{{\"refresh_token\": \"{token}\"}}')\n")
    read = "from wizard.services.oauth import token_store\nprint(token_store.load_blob('main').decode())\n"
    saved = subprocess.run([sys.executable, "-c", write], env=unit.env(), capture_output=True, text=True, check=False)
    assert saved.returncode == 0, saved.stderr
    loaded = subprocess.run([sys.executable, "-c", read], env=unit.env(), capture_output=True, text=True, check=False)
    assert loaded.returncode == 0 and token in loaded.stdout, loaded.stderr
    assert _files_holding(unit.home, token) == []
    assert json.loads(unit.mailwright("secrets", "status", "--json").stdout)["entries"] == {
        "mailwright": ["main/token-cache-key"]}


def test_metrics_show_the_cached_access_tokens_expiry(unit: Unit) -> None:
    """An OAuth profile's token cache (msal's serialized form, in the service store's encrypted token file)."""
    store = ("from wizard.services.config import ConfigStore\nfrom wizard.services.model import AuthMode, Profile, "
             "ProviderKind\nfrom wizard.services.oauth import token_store\n"
             "ConfigStore().save_profile(Profile(name='o365', provider=ProviderKind.M365_SMTP, from_address="
             "'app@example.com', host='smtp.office365.com', auth=AuthMode.CLIENT_SECRET, "
             "tenant='00000000-0000-0000-0000-000000000001', client_id='00000000-0000-0000-0000-000000000002'))\n"
             "token_store.save_blob('o365', b'{\"AccessToken\": {\"k\": {\"secret\": \"at\", \"expires_on\": "
             "\"1900000000\"}}}')\n")
    saved = subprocess.run([sys.executable, "-c", store], env=unit.env(), capture_output=True, text=True, check=False)
    assert saved.returncode == 0, saved.stderr
    read = ("from wizard.services.config_cache import CachedConfigLoader\n"
            "from wizard.services.metrics import MeteredOutbox, build_registry\n"
            "from prometheus_client import generate_latest\n"
            "print(generate_latest(build_registry(MeteredOutbox(), CachedConfigLoader())).decode())\n")
    shown = subprocess.run([sys.executable, "-c", read], env=unit.env(), capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert 'mailwright_token_expiry_timestamp_seconds{profile="o365"} 1.9e+09' in shown.stdout
    assert _files_holding(unit.home, '"secret": "at"') == []
