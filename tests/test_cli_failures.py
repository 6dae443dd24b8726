"""No traceback reaches a user of the CLI (issue 12): a damaged file, a bad value or an unexpected error each end
in one message and the contract's exit code (2 bad input, 1 failed, 70 unexpected with the log file named)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from wizard.cli import main

pytestmark = pytest.mark.keyring

GOOD_CONFIG = ('default_profile = "p"\n\n[profiles.p]\nfrom_address = "app@example.com"\nhost = "smtp.example.com"\n'
               'port = 587\n')

# Damaged config.toml files that a parser rejects before any value is looked at.
SYNTAX_VARIANTS: dict[str, bytes] = {
    "truncated": GOOD_CONFIG.encode()[:70],
    "binary": bytes(range(256)) * 4,
    "invalid-utf8": b'default_profile = "p\xff\xfe"\n',
    "unclosed-table": b"[profiles.p\nhost = 1\n",
    "duplicate-key": (GOOD_CONFIG + 'host = "other.example.com"\n').encode(),
    "nul-bytes": b"default_profile = \x00\x00\n",
    "sqlite-file": b"SQLite format 3\x00" + bytes(100),
}

# Valid TOML with a value of the wrong type or out of range: the key is named, with what it expects.
PROFILE = GOOD_CONFIG
TYPE_VARIANTS: dict[str, str] = {
    "profiles-is-a-number": 'default_profile = "p"\nprofiles = 5\n',
    "profile-is-a-string": 'default_profile = "p"\nprofiles = { p = "x" }\n',
    "port-is-text": PROFILE.replace("port = 587", 'port = "x"'),
    "port-is-zero": PROFILE.replace("port = 587", "port = 0"),
    "port-too-large": PROFILE.replace("port = 587", "port = 70000"),
    "host-is-a-list": PROFILE.replace('host = "smtp.example.com"', 'host = ["smtp.example.com"]'),
    "provider-unknown": PROFILE + 'provider = "carrier-pigeon"\n',
    "security-is-a-number": PROFILE + "security = 5\n",
    "priority-is-text": PROFILE + 'priority = "high"\n',
    "fallback-is-text": PROFILE + 'fallback = "other"\n',
    "authority-over-http": PROFILE + 'authority = "http://login.example.com/tenant"\n',
    "delivery-is-a-number": "delivery = 5\n" + PROFILE,
    "send-interval-is-text": PROFILE + '\n[delivery]\nsend_interval_ms = "soon"\n',
    "retention-negative": PROFILE + "\n[delivery]\nretention_days = -1\n",
    "send-interval-huge": PROFILE + "\n[delivery]\nsend_interval_ms = 999999999999999999\n",
    "relay-is-text": 'relay = "x"\n' + PROFILE,
    "relay-users-is-text": PROFILE + '\n[relay]\nusers = "bob"\n',
    "default-profile-is-a-number": PROFILE.replace('default_profile = "p"', "default_profile = 5"),
}

# Commands that read config.toml (each also reads and writes other things: the outbox, the keyring, the network).
COMMANDS: dict[str, list[str]] = {
    "profile-list": ["profile", "list"],
    "profile-show": ["profile", "show", "p"],
    "check": ["check"],
    "send": ["send", "--to", "someone@example.org", "--subject", "Hi", "--body", "text"],
    "send-test": ["send-test", "--to", "someone@example.org"],
    "queue-status": ["queue", "status"],
    "config-get": ["config", "get", "delivery.send_interval_ms"],
    "oauth-status": ["oauth", "status"],
    "dns-profile": ["dns", "example.org", "--provider", "p", "--nameserver", "127.0.0.1:9", "--timeout", "0.2"],
    "relay-users": ["relay", "user", "list"],
}


def run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("variant", SYNTAX_VARIANTS.values(), ids=SYNTAX_VARIANTS.keys())
def test_a_damaged_config_is_named_with_exit_2(variant: bytes, command: list[str], data_home: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = data_home / "config.toml"
    config.write_bytes(variant)
    code, out, err = run_in_process(command, capsys)
    assert "Traceback" not in out + err
    # the outbox's status needs no profile: shown, with a note that the profiles could not be read
    assert code == (0 if command[0] == "queue" else 2), out + err
    assert str(config) in err
    assert config.read_bytes() == variant  # never rewritten behind the user's back


@pytest.mark.parametrize("command_name", COMMANDS)
@pytest.mark.parametrize("variant_name", TYPE_VARIANTS)
def test_a_wrong_value_in_config_names_the_file_with_exit_2(variant_name: str, command_name: str, data_home: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = data_home / "config.toml"
    variant = TYPE_VARIANTS[variant_name]
    config.write_text(variant)
    code, out, err = run_in_process(COMMANDS[command_name], capsys)
    assert "Traceback" not in out + err
    assert config.read_text() == variant
    assert code == (0 if command_name == "queue-status" else 2), out + err
    assert str(config) in err


def test_a_damaged_config_as_a_user_runs_it(data_home: Path) -> None:
    (data_home / "config.toml").write_bytes(SYNTAX_VARIANTS["invalid-utf8"])
    result = mailwright("profile", "list", "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert as_json(result)["diagnosis"]["code"] == "config_invalid"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "directory"])
def test_a_damaged_outbox_is_named_and_left_alone(damage: str, data_home: Path) -> None:
    outbox = data_home / "outbox.sqlite3"
    if damage == "directory":
        outbox.mkdir()
    elif damage == "garbage":
        outbox.write_bytes(b"this is not a database\n" * 100)
    else:
        connection = sqlite3.connect(outbox)
        connection.execute("CREATE TABLE t (x)")
        connection.executemany("INSERT INTO t VALUES (?)", [(b"x" * 500,) for _ in range(200)])
        connection.commit()
        connection.close()
        outbox.write_bytes(outbox.read_bytes()[:5000])
    before = b"" if damage == "directory" else outbox.read_bytes()
    result = mailwright("queue", "status")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 2
    assert str(outbox) in result.stderr
    assert "never deletes or rewrites it" in result.stderr and "move it aside" in result.stderr
    assert damage == "directory" or outbox.read_bytes() == before


def _read_only_home(tmp_path: Path) -> tuple[Path, list[str]]:
    """A data home this user cannot write (root ignores mode bits: run the CLI as nobody then)."""
    home = Path(tmp_path) / "read-only-home"
    home.mkdir()
    (home / "config.toml").write_text(GOOD_CONFIG)
    home.chmod(0o555)
    if os.geteuid() != 0:
        return home, []
    for folder in (home, *home.parents):
        folder.chmod(folder.stat().st_mode | 0o005)  # nobody may look in, not write
    return home, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def test_a_read_only_data_home_is_said_in_one_line(tmp_path: Path) -> None:
    home, prefix = _read_only_home(tmp_path)
    environment = {**os.environ, "MAILWRIGHT_HOME": str(home), "TMPDIR": str(tmp_path)}
    result = subprocess.run([*prefix, sys.executable, "-m", "wizard", "send", "--to", "a@example.org", "--body", "x"],
                            capture_output=True, text=True, timeout=60, env=environment)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1, result.stderr
    assert str(home) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--to", "victim@example.org\r\nBcc: all@example.org", "--to"),
    ("--to", "no-at-sign.example.org", "--to"),
    ("--subject", "Hello\r\nBcc: all@example.org", "--subject"),
    ("--subject", "Hello\nX-Evil: 1", "--subject"),
])
def test_send_refuses_line_breaks_and_bad_recipients(option: str, value: str, named: str, data_home: Path) -> None:
    (data_home / "config.toml").write_text(GOOD_CONFIG)
    argv = {"--to": "someone@example.org", "--subject": "Hi", "--body": "text"}
    argv[option] = value
    result = mailwright("send", *[part for pair in argv.items() for part in pair])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"mailwright: {named}")
    assert not (data_home / "outbox.sqlite3").exists() or "queued" not in result.stdout


@pytest.mark.parametrize("target", ["99999999999999999999", "9223372036854775808", "0", "-1", "²", "12a"])
@pytest.mark.parametrize("action", ["show", "retry", "delete"])
def test_queue_ids_out_of_range_are_bad_input(action: str, target: str) -> None:
    result = mailwright("queue", action, target)
    assert "Traceback" not in result.stderr and "Overflow" not in result.stderr
    assert result.returncode == 2
    assert "a number from 1 to 9223372036854775807" in result.stderr


def test_the_largest_id_is_simply_not_found() -> None:
    result = mailwright("queue", "show", "9223372036854775807")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["check"], ["send-test", "--to", "someone@example.org"]],
                         ids=["check", "send-test"])
def test_a_missing_ca_file_is_a_diagnosis(command: list[str], data_home: Path, tmp_path: Path) -> None:
    import trustme

    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    (data_home / "config.toml").write_text(GOOD_CONFIG + f'ca_file = "{ca_file}"\n')
    ca_file.unlink()
    result = mailwright(*command, "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    answer = as_json(result)
    assert answer["diagnosis"]["code"] == "ca_file_unreadable"
    assert f"The CA file {ca_file} does not exist." in answer["diagnosis"]["explanation"]


def test_an_unexpected_error_names_the_log_file_with_exit_70(data_home: Path, tmp_path: Path) -> None:
    # A command module that raises what no command expects: the boundary in wizard.cli must catch it.
    package = tmp_path / "plugin" / "wizard_boom"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    code = ("import sys, wizard.cli, argparse\n"
            "def boom(args):\n"
            "    raise RuntimeError('internal state broke, password=hunter2secret')\n"
            "def register(sub):\n"
            "    sub.add_parser('boom', help='x').set_defaults(handler=boom)\n"
            "sys.modules['wizard.commands.boom'] = sys.modules[__name__]\n"
            "wizard.cli.COMMAND_MODULES = (*wizard.cli.COMMAND_MODULES, 'boom')\n"
            "raise SystemExit(wizard.cli.main(['boom']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MAILWRIGHT_HOME": str(data_home)})
    assert result.returncode == 70
    log = data_home / "logs" / "mailwright.log"
    assert result.stderr.strip().splitlines() == [
        f"mailwright: An unexpected error happened (RuntimeError); the details are in {log}. Please include that "
        "file when you report it."]
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: internal state broke" in text
    assert "hunter2secret" not in text


def test_oauth_status_without_network_says_so(profile_name: str) -> None:
    from tests.fixtures.smtp_servers import refused_port

    port = refused_port()
    added = mailwright("profile", "add", profile_name, "--provider", "m365-smtp", "--from", "app@contoso.com",
                       "--tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47",
                       "--client-id", "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d", "--authority", f"https://127.0.0.1:{port}")
    assert added.returncode == 0, added.stderr
    result = mailwright("oauth", "status", "--profile", profile_name)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Could not reach the sign-in service https://127.0.0.1:{port} (Connection "
                                     "refused): this computer may be offline, or a firewall or proxy blocks it. "
                                     "Nothing was changed; try again when the network is back.")
    answer = as_json(mailwright("oauth", "status", "--profile", profile_name, "--json"))
    assert answer["ok"] is False and answer["diagnosis"]["code"] == "connect_failed"
    mailwright("profile", "remove", profile_name)


def test_gmail_oauth_login_without_a_client_names_client_json(profile_name: str) -> None:
    assert mailwright("profile", "add", profile_name, "--provider", "gmail", "--from", "someone@gmail.com",
                      "--auth", "oauth-interactive").returncode == 0
    result = mailwright("oauth", "login", "--profile", profile_name)
    assert result.returncode == 2
    assert "Waiting for you to sign in" not in result.stdout
    assert f"then run `mailwright oauth login --profile {profile_name} --client-json FILE`." in result.stderr
    assert "Sign in: mailwright oauth login" not in result.stderr
    mailwright("profile", "remove", profile_name)
