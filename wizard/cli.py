"""Headless commands (argparse): the same services the GUI uses.

Each subcommand lives in `wizard/commands/<name>.py` with `register(subparsers)`; a command
module imports its heavy dependencies (Qt, msal, dnspython ...) inside its handler, so
`mailwright dns` or `mailwright --version` never load Qt. Only the command being run is
registered (all of them for --help or a mistyped command), so the GUI starts without
importing the other ten command modules.

No option may be abbreviated (`--password` must never be taken for `--password-stdin`): every parser and
subparser is a `CommandParser`. Whatever a command does not handle ends in `wizard.commands.failures`:
one line and exit 2/1, or the log file's name and exit 70; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from wizard import __version__

COMMAND_MODULES = ("gui", "profile", "check", "send_test", "send", "queue", "serve", "config", "oauth", "dns", "detect",
                   "relay", "m365", "service", "secrets")


class CommandParser(argparse.ArgumentParser):
    """No abbreviations, here and in every subparser (`add_subparsers` builds them with this class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


def requested_commands(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules `argv` needs: the one it starts with, none for a bare start, else all (--help, typos)."""
    if not argv or list(argv) == ["--version"]:
        return ()
    module = argv[0].replace("-", "_")
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="mailwright",
        description="Connect an application's outbound e-mail to your own mail account. "
        "Without a command, the wizard opens.",
    )
    parser.add_argument("--version", action="version", version=f"mailwright {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        try:
            module = importlib.import_module(f"wizard.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"wizard.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def open_app() -> int:
    """The app, as `mailwright` with no command and the `mailwright-gui` launcher open it: without a usable
    display, one paragraph that says what to do instead (exit 2), before Qt could abort."""
    from wizard.display import explain_missing_display

    problem = explain_missing_display()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from wizard.app import run

    return run([])


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(requested_commands(arguments))
        args = parser.parse_args(arguments)
        handler = getattr(args, "handler", None)
        return int(handler(args)) if handler is not None else open_app()
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BrokenPipeError:  # `mailwright queue list | head`: the reader left; nothing to say to it
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except BaseException as exc:
        from wizard.commands.failures import report

        as_json = "--json" in arguments
        command = " ".join(word for word in arguments[:2] if not word.startswith("-"))
        return report(exc, command or "(no command)", as_json=as_json)


if __name__ == "__main__":
    raise SystemExit(main())
