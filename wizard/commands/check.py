"""`mailwright check [--profile NAME] [--json]`: the step-by-step connection check; exit 0 only if all passed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    emit_json,
    failed_before_connecting,
    load_profile,
    open_services,
    print_diagnosis,
)

if TYPE_CHECKING:
    from wizard.services.app_services import Services

SYMBOLS = {"passed": "ok  ", "failed": "FAIL", "skipped": " -- ", "running": " .. "}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("check", help="check the connection and sign-in, without sending anything")
    parser.add_argument("--profile", metavar="NAME", help="profile to check (default: the default profile)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, services: Services | None = None) -> int:
    """`services`: the invocation's (`profile add --check` passes the one it saved with); else opened here."""
    from wizard.services.check import Step, StepStatus

    services = services or open_services()
    profile = load_profile(args, services.store)
    if isinstance(profile, int):
        return profile

    if failed_before_connecting(profile, args.json):
        return EXIT_FAILED

    def show(step: Step) -> None:
        if not args.json and step.status is not StepStatus.RUNNING:
            detail = f"  {step.detail}" if step.detail else ""
            print(f"[{SYMBOLS[step.status.value]}] {step.title}{detail}", flush=True)

    if not args.json:
        print(f"Checking profile '{profile.name}' ({profile.from_address} via {profile.host}:{profile.port})")
    report = asyncio.run(services.check(profile, on_step=show))
    if args.json:
        payload = report.to_json()
        payload["profile"] = profile.name
        emit_json(payload)
    elif report.diagnosis is not None:
        for step in report.steps:
            if step.status is StepStatus.SKIPPED:
                print(f"[{SYMBOLS['skipped']}] {step.title}")
        print_diagnosis(report.diagnosis)
    else:
        print("All steps passed: this profile can send mail.", file=sys.stdout)
    return EXIT_OK if report.ok else EXIT_FAILED
