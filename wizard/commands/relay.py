"""`mailwright relay user add|list|remove`: who may submit to a relay on a network address (`serve --allow-remote`).

User names go to `[relay] users` in config.toml, passwords only to the keyring: typed at a prompt (twice) or
read from standard input with `--password-stdin`, never from the command line.
"""

from __future__ import annotations

import argparse
import sys

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    config_unusable,
    emit_json,
    read_stdin_secret,
    usage_error,
)

MIN_PASSWORD_LENGTH = 12


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("relay", help="manage the users who may submit to a relay on a network address")
    areas = parser.add_subparsers(dest="area", metavar="AREA", required=True)
    user = areas.add_parser("user", help="add, list or remove relay users (passwords live in the keyring)")
    actions = user.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user, or set a new password for one")
    add.add_argument("name", help="the login name the application uses (letters, digits, . _ - @ +)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input instead of asking for it twice")
    add_json_option(add)
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="list relay users and whether the keyring has their password")
    add_json_option(listing)
    listing.set_defaults(handler=run_list)

    remove = actions.add_parser("remove", help="remove a user and their password")
    remove.add_argument("name", help="the relay user to remove (`mailwright relay user list` shows them)")
    add_json_option(remove)
    remove.set_defaults(handler=run_remove)


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        password = read_stdin_secret("password")
    else:
        if sys.stdin is None or not sys.stdin.isatty():
            raise ValueError("There is no terminal to ask for the password: pipe it in with --password-stdin.")
        import getpass

        password = getpass.getpass(f"Password for relay user {name}: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise ValueError("The two passwords differ; nothing was changed.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"A relay password needs at least {MIN_PASSWORD_LENGTH} characters: the relay can be "
                         "reached from the network.")
    return password


def _configured_users() -> list[str]:
    from wizard.services.config import ConfigStore
    from wizard.services.settings import RelaySettings

    relay: RelaySettings = ConfigStore().load_table("relay")  # a ConfigError names the file and the key
    return list(relay.users)


def run_add(args: argparse.Namespace) -> int:
    from wizard.services import secrets
    from wizard.services.config import ConfigStore
    from wizard.services.settings import validate_relay_user
    from wizard.services.validation import InvalidInputError

    try:
        name = validate_relay_user(args.name)
        users = _configured_users()
        password = _read_password(name, args.password_stdin)
    except (InvalidInputError, ValueError) as exc:
        return usage_error(str(exc), as_json=args.json)
    try:
        secrets.store_relay_password(name, password)  # the keyring first: a user is never listed without one
    except secrets.KeyringUnavailableError as exc:
        return _failed(str(exc), args.json)
    existed = name in users
    if not existed:
        ConfigStore().set_table_value("relay", "users", [*users, name])
    if args.json:
        emit_json({"ok": True, "user": name, "created": not existed})
    else:
        print(f"Relay user {name} {'has a new password' if existed else 'added'}.")
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from wizard.services import secrets
    from wizard.services.validation import InvalidInputError

    try:
        users = _configured_users()
        rows = [{"name": name, "has_password": secrets.load_relay_password(name) is not None} for name in users]
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)
    except secrets.KeyringUnavailableError as exc:
        return _failed(str(exc), args.json)
    if args.json:
        emit_json({"ok": True, "users": rows})
    elif not rows:
        print("No relay users. Add one with `mailwright relay user add NAME`.")
    else:
        for row in rows:
            print(row["name"] if row["has_password"] else f"{row['name']}  (no password in the keyring: add it again)")
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    from wizard.services import secrets
    from wizard.services.config import ConfigStore
    from wizard.services.validation import InvalidInputError

    try:
        users = _configured_users()
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)
    if args.name in users:
        ConfigStore().set_table_value("relay", "users", [u for u in users if u != args.name])
    try:
        had_password = secrets.delete_relay_password(args.name)
    except secrets.KeyringUnavailableError as exc:
        return _failed(str(exc), args.json)
    if args.name not in users and not had_password:
        return usage_error(f"There is no relay user named '{args.name}'.", as_json=args.json)
    if args.json:
        emit_json({"ok": True, "user": args.name, "removed": True})
    else:
        print(f"Relay user {args.name} removed.")
    return EXIT_OK


def _failed(message: str, as_json: bool) -> int:
    if as_json:
        emit_json({"ok": False, "diagnosis": {"code": "keyring_unavailable", "title": "Keyring unavailable",
                                              "explanation": message, "fix": "Unlock the keyring and try again."}})
    else:
        print(f"mailwright: {message}", file=sys.stderr)
    return EXIT_FAILED
