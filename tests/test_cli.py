"""The CLI contract from DESIGN.md, run as a real subprocess against real servers and the real keyring."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, RunningSmtpServer, SmtpServerFactory
from wizard import __version__

pytestmark = pytest.mark.keyring


def add_profile(server: RunningSmtpServer, name: str,
                password: str = GOOD_PASSWORD) -> subprocess.CompletedProcess[str]:
    return mailwright("profile", "add", name, "--provider", "smtp", "--host", "localhost", "--port", str(server.port),
                      "--security", "starttls", "--username", GOOD_USER, "--from", GOOD_USER, "--ca-file",
                      server.ca_file, "--password-stdin", stdin=password + "\n")


def test_version() -> None:
    result = mailwright("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mailwright {__version__}"


def test_profile_add_check_send_test_remove(smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    server = smtp_server("starttls")
    added = add_profile(server, profile_name)
    assert added.returncode == 0, added.stderr
    config_text = (data_home / "config.toml").read_text()
    assert GOOD_PASSWORD not in config_text
    assert f"[profiles.{profile_name}]" in config_text

    listed = as_json(mailwright("profile", "list", "--json"))
    assert listed["ok"] is True and listed["default"] == profile_name
    shown = as_json(mailwright("profile", "show", profile_name, "--json"))
    assert shown["profile"]["secrets"] == "password in keyring"
    assert GOOD_PASSWORD not in json.dumps(shown)

    checked = mailwright("check", "--json")
    report = as_json(checked)
    assert checked.returncode == 0, checked.stdout
    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == ["resolve", "connect", "tls", "ehlo", "auth", "sender"]
    assert all(set(s) >= {"name", "ok", "detail"} for s in report["steps"])

    sent = mailwright("send-test", "--to", "someone@example.org", "--json")
    result = as_json(sent)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert result["queue_id"] == "Q00001"
    assert len(server.messages) == 1
    assert server.messages[0].rcpt_tos == ["someone@example.org"]
    assert server.messages[0].authenticated_as == GOOD_USER
    assert result["message_id"].encode() in server.messages[0].data

    removed = as_json(mailwright("profile", "remove", profile_name, "--json"))
    assert removed["secrets_removed"] == ["password"]
    assert as_json(mailwright("profile", "list", "--json"))["profiles"] == []


def test_check_with_wrong_password_exits_1_with_diagnosis(smtp_server: SmtpServerFactory, profile_name: str) -> None:
    server = smtp_server("starttls")
    assert add_profile(server, profile_name, password="wrong-password").returncode == 0
    checked = mailwright("check", "--profile", profile_name, "--json")
    assert checked.returncode == 1
    report = as_json(checked)
    assert report["ok"] is False
    assert report["diagnosis"]["code"] == "auth_failed"
    assert set(report["diagnosis"]) >= {"code", "title", "explanation", "fix"}
    assert "wrong-password" not in checked.stdout + checked.stderr
    mailwright("profile", "remove", profile_name)


def test_check_text_output_names_the_failing_step(smtp_server: SmtpServerFactory, profile_name: str) -> None:
    server = smtp_server("starttls", certificate="untrusted")
    assert add_profile(server, profile_name).returncode == 0
    checked = mailwright("check")
    assert checked.returncode == 1
    assert "[FAIL] Encrypt the connection (TLS)" in checked.stdout
    assert "Unknown certificate authority" in checked.stderr
    mailwright("profile", "remove", profile_name)


@pytest.mark.parametrize("bad", [
    ["--port", "70000"],
    ["--from", "not an address"],
    ["--host", "bad host name!"],
    ["--display-name", "Evil\r\nBcc: victim@example.org"],
])
def test_bad_input_exits_2_and_saves_nothing(bad: list[str], data_home: Path) -> None:
    args = {"--host": "smtp.example.com", "--port": "587", "--from": "app@example.com"}
    args.update({bad[0]: bad[1]})
    flat = [part for pair in args.items() for part in pair if pair[0] not in {"--display-name"}]
    if bad[0] == "--display-name":
        flat += bad
    result = mailwright("profile", "add", "p", *flat, "--json")
    assert result.returncode == 2, result.stdout
    assert as_json(result)["ok"] is False
    assert not (data_home / "config.toml").exists()


def test_send_test_rejects_header_injection_in_subject(smtp_server: SmtpServerFactory, profile_name: str) -> None:
    server = smtp_server("starttls")
    assert add_profile(server, profile_name).returncode == 0
    result = mailwright("send-test", "--to", "a@example.org", "--subject", "Hi\r\nBcc: victim@example.org")
    assert result.returncode == 2
    assert "line breaks are not allowed" in result.stderr
    assert server.messages == []
    mailwright("profile", "remove", profile_name)


def test_unknown_profile_is_usage_error() -> None:
    result = mailwright("check", "--profile", "nope", "--json")
    assert result.returncode == 2
    assert "no profile named 'nope'" in as_json(result)["diagnosis"]["explanation"]
