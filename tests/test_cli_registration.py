"""The CLI registers only the command it runs, so the GUI and `--version` start without the other command modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wizard.cli import COMMAND_MODULES, build_parser, requested_commands


@pytest.mark.parametrize(("argv", "expected"), [
    ([], ()),
    (["--version"], ()),
    (["gui", "--screenshot", "x.png"], ("gui",)),
    (["send-test", "--to", "a@example.com"], ("send_test",)),
    (["dns", "example.com", "--json"], ("dns",)),
    (["--help"], COMMAND_MODULES),
    (["-h"], COMMAND_MODULES),
    (["bogus"], COMMAND_MODULES),
    (["--bogus"], COMMAND_MODULES),
    (["--version", "gui"], COMMAND_MODULES),
])
def test_requested_commands(argv: list[str], expected: tuple[str, ...]) -> None:
    assert requested_commands(argv) == expected


def test_a_command_parser_alone_parses_its_own_arguments() -> None:
    args = build_parser(requested_commands(["send-test", "--to", "a@example.com"])).parse_args(
        ["send-test", "--to", "a@example.com"])
    assert args.command == "send-test" and callable(args.handler)


def test_the_gui_path_imports_no_other_command_module() -> None:
    code = ("import sys; from wizard.cli import build_parser, requested_commands; "
            "build_parser(requested_commands(['gui', '--list-pages'])); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('wizard.commands.'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["wizard.commands.gui"]  # not even output (json): only to print an error


def test_help_and_typos_still_list_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser(requested_commands(["bogus"])).parse_args(["bogus"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in error
    for name in ("gui", "send-test", "dns", "detect"):
        assert f"'{name}'" in error
