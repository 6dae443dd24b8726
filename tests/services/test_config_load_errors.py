"""A damaged config.toml is answered with where and what: the file, the line and column, the key, the type.

Each case is a file a person or a crash could leave behind (issue 12: truncated, binary, invalid UTF-8,
`profiles = 5`, `port = "x"`, numbers past any sensible bound), loaded through the one loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import mailwright
from wizard.services.config import ConfigStore
from wizard.services.config_error import ConfigError

GOOD_PROFILE = '[profiles.main]\nfrom_address = "app@example.com"\nhost = "smtp.example.com"\n'


def _load_error(home: Path, content: str | bytes) -> ConfigError:
    path = home / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        ConfigStore().load()
    assert error.value.path == path
    assert str(path) in str(error.value)
    return error.value


@pytest.mark.parametrize(("content", "line", "column"), [
    ("[delivery\nenabled = true\n", 1, 10),
    (GOOD_PROFILE + "port = 587\nport = 25\n", 5, 10),
    ('[profiles.main]\nhost = "smtp.exam', 2, 18),  # truncated mid-string
    (GOOD_PROFILE + "security = \n", 4, 12),
])
def test_a_syntax_error_names_the_file_line_and_column(data_home: Path, content: str, line: int, column: int) -> None:
    error = _load_error(data_home, content)
    assert (error.line, error.column) == (line, column)
    assert f"line {line}, column {column}" in str(error)
    assert "not valid TOML" in str(error)


def test_binary_garbage_is_named_not_parsed(data_home: Path) -> None:
    error = _load_error(data_home, b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(32)))
    assert error.line == 1


def test_invalid_utf8_names_the_line(data_home: Path) -> None:
    error = _load_error(data_home, GOOD_PROFILE.encode() + b'display_name = "Caf\xe9"\n')
    assert error.line == 4
    assert "UTF-8" in str(error)


@pytest.mark.parametrize(("content", "key", "expected", "line"), [
    ("profiles = 5\n", "profiles", "a table", 1),
    ('default_profile = 3\n' + GOOD_PROFILE, "default_profile", "text", 1),
    ('delivery = "fast"\n', "delivery", "a table", 1),
    ("[profiles]\nmain = 5\n", "profiles.main", "a table", 2),
    (GOOD_PROFILE + 'port = "x"\n', "profiles.main.port", "a whole number", 4),
    (GOOD_PROFILE + "port = 70000\n", "profiles.main.port", "", 4),
    (GOOD_PROFILE + 'security = "ssl"\n', "profiles.main.security", "one of starttls, tls, none", 4),
    (GOOD_PROFILE + "authorized_domains = \"example.com\"\n", "profiles.main.authorized_domains",
     "a list of text values", 4),
    (GOOD_PROFILE + "save_to_sent_items = \"yes\"\n", "profiles.main.save_to_sent_items", "true or false", 4),
    ("[delivery]\nenabled = 1\n", "delivery.enabled", "true or false", 2),
    ("[delivery]\nsend_interval_ms = \"500\"\n", "delivery.send_interval_ms", "a whole number from 0 to 3600000", 2),
    ("[delivery]\n\nsend_interval_ms = 99999999999999999999\n", "delivery.send_interval_ms",
     "a whole number from 0 to 3600000", 3),
    ("[delivery]\nretention_days = 100000\n", "delivery.retention_days", "a whole number from 1 to 3650", 2),
    ("[delivery]\nretry_backoff_max_s = 99999999\n", "delivery.retry_backoff_max_s",
     "a whole number from 0 to 604800", 2),
    ("[relay]\ntls_mode = 5\n", "relay.tls_mode", "starttls (port 587 style) or implicit (port 465 style)", 2),
    ("[alerts]\nemail_to = [\"it@example.com\"]\n", "alerts.email_to", "text", 2),
])
def test_a_wrong_type_or_range_names_the_key_the_expected_type_and_the_line(
        data_home: Path, content: str, key: str, expected: str, line: int) -> None:
    error = _load_error(data_home, content)
    assert error.key == key
    assert key in str(error)
    assert error.expected == expected
    if expected:
        assert f"must be {expected}" in str(error)
    assert error.line == line


def test_a_directory_in_place_of_the_file_is_named(data_home: Path) -> None:
    (data_home / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="directory"):
        ConfigStore().load()


def test_writers_refuse_a_broken_file_with_the_same_error_and_leave_it_alone(data_home: Path) -> None:
    path = data_home / "config.toml"
    path.write_text("[delivery\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1, column 10"):
        ConfigStore().set("delivery.enabled", "false")
    assert path.read_text(encoding="utf-8") == "[delivery\n"


@pytest.mark.parametrize("content", [b"[delivery\n", b"profiles = 5\n", b"\xff\xfe\x00",
                                     b'[profiles.main]\nport = "x"\n'])
def test_the_cli_answers_a_damaged_file_with_exit_2_and_no_traceback(data_home: Path, content: bytes) -> None:
    (data_home / "config.toml").write_bytes(content)
    result = mailwright("config", "get", "delivery.enabled")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert str(data_home / "config.toml") in result.stderr
