"""Every option of every subcommand explains itself, and none can be abbreviated (issue 12 item 8, issue 14 item 10)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.cli import mailwright
from wizard.cli import build_parser


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...],
                                                                                   argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


ALL_PARSERS = list(_walk(build_parser(), ()))
COMMANDS = [path for path, _parser in ALL_PARSERS if path]


def test_every_parser_refuses_abbreviations() -> None:
    assert len(ALL_PARSERS) > 15
    assert [path for path, parser in ALL_PARSERS if parser.allow_abbrev] == []


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_of_every_subcommand_has_help(path: tuple[str, ...]) -> None:
    result = mailwright(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    parser = dict(ALL_PARSERS)[path]
    missing = [action.option_strings or action.dest for action in parser._actions
               if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
               and (not action.help or not action.help.strip())]
    assert missing == []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        for option in action.option_strings:  # what the parser says is what the user reads
            assert option in result.stdout


def test_a_password_option_is_not_taken_for_password_stdin(data_home: Path) -> None:
    result = mailwright("profile", "add", "p", "--from", "app@example.com", "--host", "smtp.example.com",
                        "--password", "MyRealPassw0rd")
    assert result.returncode == 2
    assert "unrecognized arguments: --password MyRealPassw0rd" in result.stderr
    assert not (data_home / "config.toml").exists()


@pytest.mark.parametrize("argv", [
    ["send", "--to", "a@example.org", "--bod", "x"],
    ["queue", "list", "--js"],
    ["dns", "example.org", "--sel", "s1"],
    ["profile", "add", "p", "--fr", "a@example.org"],
])
def test_no_option_can_be_abbreviated(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_preset_help_lists_the_presets() -> None:
    text = mailwright("profile", "add", "--help").stdout
    for preset in ("sendgrid", "outlook-com", "mailgun", "fastmail"):
        assert preset in text


def test_config_help_lists_the_keys() -> None:
    text = mailwright("config", "--help").stdout
    for key in ("delivery.send_interval_ms", "delivery.retention_days", "relay.listen", "default_profile"):
        assert key in text
