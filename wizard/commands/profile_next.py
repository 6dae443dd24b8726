"""What `profile add` and `profile set` share after the options are read: the rules beyond field types
(services/profile_rules.py, the pages' rule set) and the step after saving (the check to run, or --check)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from wizard.commands.output import EXIT_OK

if TYPE_CHECKING:
    from wizard.services.app_services import Services
    from wizard.services.model import Profile

_OPTIONS = {"from_address": "--from", "ca_file": "--ca-file", "client_id": "--client-id", "name": "NAME",
            "password": "--password-stdin", "certificate_path": "--certificate"}


def option_for(field: str) -> str:
    """The command-line option that sets a Profile field."""
    return _OPTIONS.get(field, "--" + field.replace("_", "-").replace(" ", "-"))


def refuse_problems(profile: Profile, password: str | None) -> list[str]:
    """`InvalidInputError` naming every option that breaks a rule; else the warnings to print after saving."""
    from wizard.services.profile_rules import profile_problems
    from wizard.services.validation import InvalidInputError

    problems = profile_problems(profile, password)
    errors = [problem for problem in problems if not problem.warning]
    if errors:
        raise InvalidInputError(errors[0].field, " ".join(f"{option_for(p.field)}: {p.message}" for p in errors))
    return [problem.message for problem in problems if problem.warning]


def after_saving(name: str, warnings: list[str], args: argparse.Namespace, services: Services) -> int:
    """Warnings on stderr, then the check (with the command's services): run now with --check, else named as the
    next step."""
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.check:
        from wizard.commands import check

        return check.run(argparse.Namespace(profile=name, json=args.json), services)
    if not args.json:
        print(f"Next: run `mailwright check --profile {name}` to prove it can sign in and send.")
    return EXIT_OK
