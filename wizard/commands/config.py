"""`mailwright config get|set KEY [VALUE] [--json]`: read or change a setting such as delivery.send_interval_ms."""

from __future__ import annotations

import argparse

from wizard.commands.output import EXIT_OK, add_json_option, emit_json, open_services, usage_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config", help="get or set a setting, e.g. delivery.retry_backoff_initial_s",
        description="Read or change one setting of config.toml. Profile settings are changed with "
                    "`mailwright profile set NAME ...`, relay users with `mailwright relay user ...`.",
        epilog=_settings_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["get", "set"], help="get: print the value; set: change it")
    parser.add_argument("key", help="the setting, e.g. delivery.max_retry_time_s (all keys are listed below)")
    parser.add_argument("value", nargs="?", help="set: the new value (true/false, a number, or text)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _settings_epilog() -> str:
    """Every key with its type, range, default and help: the settings registry's own words."""
    from wizard.services.settings import help_lines

    return "\n".join(["settings:", *help_lines(),
                      "  default_profile  (`mailwright profile default NAME` sets it)"])


def run(args: argparse.Namespace) -> int:
    from wizard.services.validation import InvalidInputError

    store = open_services().store
    try:
        if args.action == "get":
            value = store.get(args.key)
        else:
            if args.value is None:
                return usage_error(f"config set {args.key} needs a value.", as_json=args.json)
            value = store.set(args.key, args.value)
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.json:
        emit_json({"ok": True, "key": args.key, "value": value})
    else:
        print(_plain(value))
    return EXIT_OK


def _plain(value: object) -> str:
    """As it would be typed back: true/false, a list one item per line (empty prints nothing)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)
