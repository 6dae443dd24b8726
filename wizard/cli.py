"""Headless commands (argparse): the same services the GUI uses.

Each subcommand lives in `wizard/commands/<name>.py` with `register(subparsers)`; a command
module imports its heavy dependencies (Qt, msal, dnspython ...) inside its handler, so
`mailwright dns` or `mailwright --version` never load Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wizard import __version__

COMMAND_MODULES = ("gui", "profile", "check", "send_test", "send", "queue", "serve", "config", "oauth", "dns", "detect")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailwright",
        description="Connect an application's outbound e-mail to your own mail account. "
        "Without a command, the wizard opens.",
    )
    parser.add_argument("--version", action="version", version=f"mailwright {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"wizard.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"wizard.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
