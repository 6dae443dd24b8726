"""How commands print: JSON for --json (always with "ok"), plain text otherwise, exit codes 0/1/2."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from wizard.services.diagnostics import Diagnosis

if TYPE_CHECKING:
    from wizard.services.app_services import Services
    from wizard.services.config import ConfigStore
    from wizard.services.model import Profile

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


JSON_HELP = 'print one JSON object (it always has "ok"; failures carry "diagnosis") instead of text'


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 message`, `2 messages`: never `message(s)`."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def emit_json(payload: dict[str, Any] | list[dict[str, Any]]) -> None:
    """One JSON answer, or a list of them (a command asked about several things, e.g. `dns A B`)."""
    assert all("ok" in item for item in (payload if isinstance(payload, list) else [payload])), \
        "every JSON answer carries ok"
    json.dump(payload, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def usage_error(message: str, *, as_json: bool = False, code: str = "invalid_input") -> int:
    """Bad usage or input: exit 2, with the reason on stderr (and as a diagnosis for --json)."""
    if as_json:
        emit_json({"ok": False, "diagnosis": {"code": code, "title": "Invalid input", "explanation": message,
                                              "fix": "Correct the value and try again."}})
    else:
        print(f"mailwright: {message}", file=sys.stderr)
    return EXIT_USAGE


def naming_option(error: Exception) -> str:
    """The message of an `InvalidInputError` whose field is an option, starting with that option's name."""
    field = str(getattr(error, "field", ""))
    message = str(error)
    return message if not field or message.startswith(field) else f"{field}: {message}"


def config_unusable(error: Exception, *, as_json: bool = False) -> int:
    """config.toml cannot be used: exit 2 with the loader's message (it names the file, line and key)."""
    message = str(error) if getattr(error, "path", None) else f"config.toml: {error}"
    return usage_error(message, as_json=as_json, code="config_invalid")


def read_stdin_secret(what: str) -> str:
    """One line of standard input for `--<what>-stdin` (secrets never come from argv)."""
    if sys.stdin is None or sys.stdin.closed:
        raise ValueError(f"--{what}-stdin was given but there is no standard input.")
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise ValueError(f"--{what}-stdin was given but standard input was empty.")
    return value


def print_diagnosis(diagnosis: Diagnosis) -> None:
    print(f"\n{diagnosis.title}", file=sys.stderr)
    print(f"  What happened: {diagnosis.explanation}", file=sys.stderr)
    print(f"  How to fix it: {diagnosis.fix}", file=sys.stderr)
    if diagnosis.detail and diagnosis.detail not in diagnosis.explanation:
        print(f"  Server said:   {diagnosis.detail}", file=sys.stderr)


def open_services() -> Services:
    """The composition root of this command's invocation: its config store, its token sessions and its outbox,
    which is opened only when the command first uses it (`profile show` neither creates nor waits for it)."""
    from wizard.services.app_services import Services

    return Services.open(outbox_when_used=True)


def load_profile(args: argparse.Namespace, store: ConfigStore) -> Profile | int:
    """The profile `--profile` names (else the default one), or the exit code after saying why there is none."""
    from wizard.services.validation import InvalidInputError

    try:
        return store.load().profile(args.profile)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)


def failed_before_connecting(profile: Profile, as_json: bool) -> bool:
    """Say so (as a diagnosis) when the profile cannot work at all: its CA file went missing or bad."""
    from wizard.services.profile_rules import ca_file_diagnosis

    diagnosis = ca_file_diagnosis(profile)
    if diagnosis is None:
        return False
    if as_json:
        emit_json({"ok": False, "profile": profile.name, "diagnosis": diagnosis.to_json()})
    else:
        print_diagnosis(diagnosis)
    return True
