"""`mailwright gui [--page ID] [--screenshot PNG] [--list-pages]`: open the wizard, or render a page to a PNG."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.pages.ids import PageId


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("gui", help="open the wizard (optionally at a page), or render a page to a PNG")
    from wizard.pages.ids import PageId  # a plain IntEnum: no Qt

    parser.add_argument("--page", metavar="ID",
                        help="page to open: " + ", ".join(page.cli_name for page in PageId))
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="render the page (800x600) to this PNG file and exit, without opening a window")
    parser.add_argument("--list-pages", action="store_true", help="print the page ids and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.pages.ids import PageId

    if args.list_pages:
        from wizard.commands.output import EXIT_OK
        from wizard.pages.wizard import PAGE_TITLES

        for page in PageId:
            print(f"{page.cli_name:<20} {PAGE_TITLES[page]}")
        return EXIT_OK
    try:
        start = PageId.from_cli(args.page) if args.page else PageId.WELCOME
    except ValueError as exc:
        return _usage_error(str(exc))
    # Startup allocates objects that live as long as the app (modules, classes, widgets): automatic collections
    # during it would only rescan them, about 8 ms before the first page shows. The app's own collector
    # (wizard.app.MainThreadGarbageCollector) takes over once the loop runs; a screenshot collects at exit.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _open(args, start)
    finally:
        if collecting:
            gc.enable()


def _usage_error(message: str) -> int:
    from wizard.commands.output import usage_error

    return usage_error(message)


def _open(args: argparse.Namespace, start: PageId) -> int:
    if args.screenshot is None:
        from wizard.display import explain_missing_display

        problem = explain_missing_display()
        if problem is not None:
            print(problem, file=sys.stderr)
            return 2
    from wizard import app

    if args.screenshot is not None:
        if not (os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen (CI, ssh)
        if args.screenshot.suffix.lower() != ".png":
            return _usage_error(f"--screenshot writes a PNG file: {args.screenshot} does not end in .png")
        try:
            app.screenshot(start, args.screenshot)
        except OSError as exc:
            return _usage_error(str(exc))
        print(f"Wrote {args.screenshot} ({start.cli_name} page).")
        from wizard.commands.output import EXIT_OK  # json: not on the way to the first page

        return EXIT_OK
    return app.run([], start=start)
