"""`mailwright service install|uninstall|status|logs [--system|--user] [--relay HOST:PORT] [--dry-run]`.

Runs `mailwright serve` at boot (a system service with its own user and the encrypted service secret store)
or in a desktop user's session. `--dry-run` prints every file and command `install` would write and run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from wizard.commands.output import EXIT_FAILED, EXIT_OK, add_json_option, emit_json, open_services, usage_error

if TYPE_CHECKING:
    from wizard.services.config import ConfigStore
    from wizard.services.secrets import SecretKind
    from wizard.services.service_install import InstallPlan
    from wizard.services.service_units import ServiceSpec


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("service", help="run Mailwright as a system service (at boot, nobody logged in)")
    parser.add_argument("action", choices=["install", "uninstall", "status", "logs"],
                        help="install or uninstall the service, show whether it runs, or show its log")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--system", dest="system", action="store_true", default=True,
                       help="a system service: starts at boot, runs as its own user (default)")
    scope.add_argument("--user", dest="system", action="store_false",
                       help="a service of your own desktop session (systemd --user, a LaunchAgent)")
    parser.add_argument("--relay", metavar="HOST:PORT", help="the service also runs the relay on this address")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a network relay address (it then requires TLS and relay users)")
    parser.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus /metrics and /healthz there")
    parser.add_argument("--profile", dest="profiles", metavar="NAME", action="append", default=[],
                        help="whose secrets move into the service store (repeatable; default: every profile)")
    parser.add_argument("--linger", action="store_true",
                        help="with --user: run `loginctl enable-linger` so the service outlives your log-off")
    parser.add_argument("--dry-run", action="store_true", help="print what would be written and run; change nothing")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.services.service_install import ServiceInstallError, default_command, plan_install, plan_uninstall
    from wizard.services.service_units import ServiceSpec
    from wizard.services.settings import parse_host_port

    try:
        relay = parse_host_port(args.relay) if args.relay else None
        metrics = parse_host_port(args.metrics) if args.metrics else None
    except ValueError as exc:
        return usage_error(str(exc), as_json=args.json)
    spec = ServiceSpec(default_command(), system=args.system, relay=relay, allow_remote=args.allow_remote,
                       metrics=metrics)
    if args.action == "status":
        return _status(spec, as_json=args.json)
    if args.action == "logs":
        return _logs(spec)
    store = open_services().store
    try:
        if args.action == "uninstall":
            plan = plan_uninstall(spec)
        else:
            config = store.load()
            unknown = sorted(set(args.profiles) - set(config.profiles))
            if unknown:
                return usage_error(f"No profile named {', '.join(unknown)}.", as_json=args.json)
            plan = plan_install(spec, args.profiles or sorted(config.profiles))
    except ServiceInstallError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.dry_run:
        if args.json:
            emit_json({"ok": True, "dry_run": True, "plan": plan.describe().splitlines()})
        else:
            print(plan.describe())
        return EXIT_OK
    if sys.platform.startswith("linux") and spec.system and os.geteuid() != 0:
        print(f"Installing a system service needs root: run `sudo {' '.join(sys.argv)}` "
              "(or add --user for a service of your own session).", file=sys.stderr)
        return EXIT_FAILED
    try:
        _carry_out(plan, store, linger=args.linger)
    except ServiceInstallError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(f"Done: `mailwright service status{'' if spec.system else ' --user'}` shows whether it runs.")
    return EXIT_OK


def _carry_out(plan: InstallPlan, store: ConfigStore, *, linger: bool) -> None:
    from pathlib import Path

    from wizard.services.service_install import MoveSecrets, carry_out
    from wizard.services.service_secrets import forget_moved, hand_over
    from wizard.services.service_store import new_key
    from wizard.services.settings import RelaySettings

    moved: list[tuple[str, SecretKind | None]] = []

    def write(path: Path, content: bytes, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)

    def move(step: MoveSecrets, key: bytes) -> list[str]:
        users = list(RelaySettings.from_toml(store.table_values("relay")).users)
        lines, entries = hand_over(step, key, users, store.home, write)
        moved.extend(entries)
        return lines

    carry_out(plan, new_key(), move, print)
    forget_moved(moved)
    if moved:
        print(f"Moved {len(moved)} secret(s) out of your keyring into the service store.")
    if linger and not plan.spec.system:
        subprocess.run(["loginctl", "enable-linger"], check=False)


def _status(spec: ServiceSpec, *, as_json: bool) -> int:
    import asyncio

    from wizard.services.service_status import read_service_status

    status = asyncio.run(read_service_status(system=spec.system))
    if as_json:
        emit_json(status.to_json())
    else:
        print(status.summary())
    return EXIT_OK if status.known else EXIT_FAILED


def _logs(spec: ServiceSpec) -> int:
    from wizard.services.service_units import SERVICE_NAME

    if shutil.which("journalctl") is None:
        print("journalctl is not available; the service also logs to its data home's logs/ folder.", file=sys.stderr)
        return EXIT_FAILED
    scope = [] if spec.system else ["--user"]
    return subprocess.run(["journalctl", *scope, "-u", f"{SERVICE_NAME}.service", "-n", "200", "--no-pager"],
                          check=False).returncode
