"""Headless commands (argparse): the same services the GUI uses.

Each subcommand lives in `wizard/commands/<name>.py` with `register(subparsers)`; a command
module imports its heavy dependencies (Qt, msal, dnspython ...) inside its handler, so
`mailwright dns` or `mailwright --version` never load Qt. Only the command being run is
registered (all of them for --help or a mistyped command), so the GUI starts without
importing the other ten command modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wizard import __version__

COMMAND_MODULES = ("gui", "profile", "check", "send_test", "send", "queue", "serve", "config", "oauth", "dns", "detect",
                   "relay", "m365", "service", "secrets")


def requested_commands(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules `argv` needs: the one it starts with, none for a bare start, else all (--help, typos)."""
    if not argv or list(argv) == ["--version"]:
        return ()
    module = argv[0].replace("-", "_")
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(requested_commands(arguments))
    args = parser.parse_args(arguments)
    handler = getattr(args, "handler", None)
    if handler is None:
        from wizard.app import run

        return run([])
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
