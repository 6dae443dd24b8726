"""`mailwright relay user add|list|remove` and `serve --allow-remote` as real subprocesses with the real keyring."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.fixtures.cli import as_json, mailwright
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import Outbox

pytestmark = pytest.mark.keyring


@pytest.fixture
def user(request: pytest.FixtureRequest) -> Iterator[str]:
    """A relay user name unique to the test; its keyring entry is removed afterwards whatever happened."""
    name = f"cli-{abs(hash(request.node.nodeid)) % 10**8}"
    yield name
    secrets.delete_relay_password(name)


def test_user_add_list_remove_keeps_the_password_in_the_keyring_only(user: str, data_home: Path) -> None:
    password = "a long relay password 42"
    added = mailwright("relay", "user", "add", user, "--password-stdin", "--json", stdin=password + "\n")
    assert added.returncode == 0, added.stderr
    assert as_json(added) == {"ok": True, "user": user, "created": True}
    assert secrets.load_relay_password(user) == password
    config_text = (data_home / "config.toml").read_text(encoding="utf-8")
    assert password not in config_text and user in config_text
    assert ConfigStore().load().relay.users == (user,)
    assert mailwright("config", "get", "relay.users").stdout == f"{user}\n"  # as typed, not a Python list

    listed = mailwright("relay", "user", "list", "--json")
    [row] = as_json(listed)["users"]
    assert (row["name"], row["has_password"], row["active"], row["priority"]) == (user, True, True, 3)
    assert row["counts"]["24h"] == {"accepted": 0, "sent": 0, "failed": 0, "held": 0}
    assert password not in listed.stdout + listed.stderr

    changed = mailwright("relay", "user", "add", user, "--password-stdin", stdin="another long password\n")
    assert changed.returncode == 0 and "new password" in changed.stdout
    assert secrets.load_relay_password(user) == "another long password"
    assert ConfigStore().load().relay.users == (user,)

    removed = mailwright("relay", "user", "remove", user)
    assert removed.returncode == 0, removed.stderr
    assert secrets.load_relay_password(user) is None
    assert ConfigStore().load().relay.users == ()
    assert "No relay users" in mailwright("relay", "user", "list").stdout


def test_user_add_refuses_short_passwords_bad_names_and_a_missing_terminal(user: str) -> None:
    short = mailwright("relay", "user", "add", user, "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    bad_name = mailwright("relay", "user", "add", "two words", "--password-stdin", stdin="long enough password\n")
    assert bad_name.returncode == 2 and "not a valid relay user name" in bad_name.stderr
    no_terminal = mailwright("relay", "user", "add", user)  # stdin is a pipe: nobody could answer a prompt
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr
    assert secrets.load_relay_password(user) is None and ConfigStore().load().relay.users == ()


def test_a_password_on_the_command_line_is_not_accepted(user: str) -> None:
    result = mailwright("relay", "user", "add", user, "--password", "a long relay password 42")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr
    assert secrets.load_relay_password(user) is None


def test_removing_an_unknown_user_is_an_error() -> None:
    result = mailwright("relay", "user", "remove", "nobody-here", "--json")
    assert result.returncode == 2 and "no relay user named 'nobody-here'" in as_json(result)["diagnosis"]["explanation"]


def test_config_set_relay_settings(tmp_path: Path, data_home: Path) -> None:
    cert = tmp_path / "relay.pem"
    cert.write_text("placeholder: existence is checked here, loading when the relay starts\n")
    result = mailwright("config", "set", "relay.tls_certificate", str(cert))
    assert result.returncode == 0 and result.stdout.strip() == str(cert)
    assert mailwright("config", "get", "relay.tls_certificate").stdout.strip() == str(cert)
    bad = mailwright("config", "set", "relay.tls_mode", "ssl")
    assert bad.returncode == 2 and "relay.tls_mode must be starttls" in bad.stderr
    missing = mailwright("config", "set", "relay.tls_key", str(tmp_path / "nope.pem"))
    assert missing.returncode == 2 and "relay.tls_key: the file" in missing.stderr


# --- serve --allow-remote -----------------------------------------------------------------------------------------


def _network_address() -> tuple[str, str]:
    """(bind, connect): this machine's own non-loopback IPv4 if it has one, else the wildcard via 127.0.0.1."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = str(probe.getsockname()[0])
        if not address.startswith("127."):
            return address, address
    except OSError:
        pass
    return "0.0.0.0", "127.0.0.1"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def test_serve_allow_remote_refuses_without_tls_and_users() -> None:
    bind, _ = _network_address()
    result = subprocess.run([sys.executable, "-m", "wizard", "serve", "--relay", f"{bind}:{_free_port(bind)}",
                             "--allow-remote"], capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert result.returncode == 2 and "set relay.tls_certificate" in result.stderr
    no_flag = subprocess.run([sys.executable, "-m", "wizard", "serve", "--relay", f"{bind}:{_free_port(bind)}"],
                             capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert no_flag.returncode == 2 and "loopback-only" in no_flag.stderr


@pytest.mark.slow
def test_serve_allow_remote_accepts_starttls_and_auth_from_the_network(
        user: str, trusted_ca: trustme.CA, tmp_path: Path) -> None:
    bind, connect = _network_address()
    combined = tmp_path / "relay.pem"
    trusted_ca.issue_cert(connect, "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(combined))
    password = "a long relay password 42"
    assert mailwright("config", "set", "relay.tls_certificate", str(combined)).returncode == 0
    assert mailwright("relay", "user", "add", user, "--password-stdin", stdin=password + "\n").returncode == 0
    assert mailwright("profile", "add", "main", "--from", "app@example.com", "--host", "127.0.0.1", "--port",
                      str(_free_port("127.0.0.1"))).returncode == 0
    port = _free_port(bind)
    serve = subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--relay", f"{bind}:{port}", "--allow-remote"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert serve.stdout is not None
        first_line = serve.stdout.readline()
        assert "relay listening" in first_line, serve.stderr.read() if serve.stderr else first_line
        context = ssl.create_default_context()
        trusted_ca.configure_trust(context)
        with smtplib.SMTP(connect, port, timeout=10) as client:
            client.starttls(context=context)
            client.login(user, password)
            refused = client.sendmail("app@example.com", ["bob@example.net"],
                                      b"From: app@example.com\r\nSubject: via serve\r\n\r\nhi\r\n")
        assert refused == {}
        assert any(b"Subject: via serve" in message.raw for message in Outbox().messages())
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)
    assert serve.returncode == 0


def test_user_attributes_set_reset_password_and_list_never_show_a_password(user: str, data_home: Path) -> None:
    ConfigStore().save_profile(Profile(name="erp", from_address="erp@example.com"))
    added = mailwright("relay", "user", "add", user, "--password-stdin", "--priority", "2", "--note", "ERP server",
                       "--authorized-domain", "Example.com", "--profile", "erp", stdin="first long password\n")
    assert added.returncode == 0, added.stderr
    changed = mailwright("relay", "user", "set", user, "--inactive", "--unauthorized", "alert",
                         "--authorized-sender", "billing@example.org", "--json")
    assert changed.returncode == 0, changed.stderr
    stored = ConfigStore().load().relay_users[user]
    assert (stored.active, stored.priority, stored.note, stored.profile, stored.unauthorized_action) == (
        False, 2, "ERP server", "erp", "alert")
    assert (stored.authorized_domains, stored.authorized_senders) == (("example.com",), ("billing@example.org",))
    assert mailwright("relay", "user", "set", user, "--profile", "nope").returncode == 2
    assert mailwright("relay", "user", "set", user, "--priority", "9").returncode == 2

    reset = mailwright("relay", "user", "reset-password", user)
    assert reset.returncode == 0, reset.stderr
    new_password = reset.stdout.strip().splitlines()[-1]
    assert "shown once" in reset.stdout and len(new_password) >= 24
    assert secrets.load_relay_password(user) == new_password
    listed = mailwright("relay", "user", "list")
    assert user in listed.stdout and "inactive" in listed.stdout and "ERP server" in listed.stdout
    listed_json = mailwright("relay", "user", "list", "--json")
    for text in (listed.stdout, listed_json.stdout, (data_home / "config.toml").read_text()):
        assert new_password not in text and "first long password" not in text
    assert mailwright("relay", "user", "reset-password", "nobody-here").returncode == 2
