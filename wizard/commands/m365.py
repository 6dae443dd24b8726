"""`mailwright m365 setup|show|rotate|teardown`: Microsoft 365 set up by one administrator sign-in (headless twin
of the wizard's "Set it up for me")."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, config_unusable, emit_json, print_diagnosis, usage_error

if TYPE_CHECKING:
    from wizard.services.m365 import Registration, WaitTick
    from wizard.services.oauth.model import DeviceCode

MODES = ("graph-app", "graph-delegated", "smtp-delegated", "smtp-app")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "m365", help="set up Microsoft 365 with one administrator sign-in (app registration, certificate, consent)",
        description="Registers a Microsoft Entra app for a profile with one administrator sign-in, keeps its "
                    "certificate renewed, and removes it again.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="sign in as an administrator and set everything up; exit 0 only when "
                                             "the profile is saved and its check passed")
    setup.add_argument("name", metavar="NAME", help="the profile to create")
    setup.add_argument("--from", dest="sender", metavar="ADDR", required=True,
                       help="the sender mailbox (its domain must be verified in the tenant)")
    setup.add_argument("--mode", choices=MODES, required=True,
                       help="graph-app: Graph Mail.Send, no one signed in; graph-delegated: Graph as the mailbox "
                            "owner; smtp-delegated: SMTP.Send as the owner; smtp-app: SMTP.SendAsApp (+ an Exchange "
                            "PowerShell step)")
    setup.add_argument("--tenant", metavar="T", default="",
                       help="tenant id or domain (default: the administrator's own tenant)")
    setup.add_argument("--admin-client-id", metavar="ID", default="",
                       help="public client the administrator signs in with (default: Microsoft Graph Command Line "
                            "Tools 14d82eec-204b-4c2f-b7e8-296a70dab67e)")
    setup.add_argument("--authority", metavar="URL", default="",
                       help="sign-in host of a national cloud, e.g. https://login.microsoftonline.us")
    setup.add_argument("--graph-endpoint", metavar="URL", default="",
                       help="Graph of a national cloud, e.g. https://graph.microsoft.us")
    setup.add_argument("--ca-file", metavar="PEM", default="", help="CA certificates to trust (a TLS-inspecting proxy)")
    setup.add_argument("--device", action="store_true",
                       help="sign in with a device code instead of the browser (Conditional Access may block it)")
    setup.add_argument("--cert-months", metavar="N", type=int, default=12,
                       help="certificate lifetime in months, 1-24 (default 12; renewed automatically 30 days "
                            "before it expires)")
    setup.add_argument("--json", action="store_true", help="print the result as JSON")
    setup.set_defaults(handler=run_setup)
    show = actions.add_parser("show", help="the profile's app as it is in the tenant now (an administrator signs in, "
                                           "read-only), and where it differs from what Mailwright recorded")
    show.add_argument("name", metavar="NAME", help="the profile `m365 setup` created")
    show.add_argument("--offline", action="store_true",
                      help="print only this computer's record of what was created (no sign-in)")
    _add_admin_sign_in(show)
    show.add_argument("--json", action="store_true", help="print the result as JSON")
    show.set_defaults(handler=run_show)
    rotate = actions.add_parser("rotate", help="renew the app's certificate now (no administrator needed: the app "
                                               "proves it holds the current key)")
    rotate.add_argument("name", metavar="NAME", help="the profile `m365 setup` created")
    rotate.add_argument("--cert-months", metavar="N", type=int, default=12,
                        help="lifetime of the new certificate in months, 1-24 (default 12)")
    rotate.add_argument("--json", action="store_true", help="print the result as JSON")
    rotate.set_defaults(handler=run_rotate)
    teardown = actions.add_parser("teardown", help="sign in as an administrator, delete the app from the tenant and "
                                                   "forget its key (and the profile, unless --keep-profile)")
    teardown.add_argument("name", metavar="NAME", help="the profile `m365 setup` created")
    teardown.add_argument("--keep-profile", action="store_true",
                          help="keep the profile's settings (it cannot send until it is set up again)")
    _add_admin_sign_in(teardown)
    teardown.add_argument("--json", action="store_true", help="print the result as JSON")
    teardown.set_defaults(handler=run_teardown)


def _print_step(_name: str, text: str) -> None:
    print(text, flush=True)


class _Countdown:
    """One line per retry on a pipe; an updating line on a terminal."""

    def __init__(self) -> None:
        self.attempt = 0

    def __call__(self, tick: WaitTick) -> None:
        minutes, seconds = divmod(max(tick.left_s, 0), 60)
        line = (f"  Not ready yet ({tick.reason[:90]}); trying again in {tick.retry_in_s} s "
                f"(giving up in {minutes}:{seconds:02d})")
        if sys.stdout.isatty():
            print(f"\r{line}\x1b[K", end="", flush=True)
        elif tick.attempt != self.attempt:
            print(line, flush=True)
        self.attempt = tick.attempt


def _show_device_code(code: DeviceCode) -> None:
    print(code.message or f"Open {code.verification_uri} and enter the code {code.user_code}", flush=True)


def run_setup(args: argparse.Namespace) -> int:
    from wizard.services import m365
    from wizard.services.config import ConfigStore
    from wizard.services.oauth import OAuthError, SignInCancelledError
    from wizard.services.validation import InvalidInputError

    try:
        existing = ConfigStore().load().profiles.get(args.name)
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)
    request = m365.SetupRequest(
        args.name, args.sender, m365.SetupMode(args.mode),
        m365.Endpoints(args.tenant, args.authority, args.graph_endpoint, args.ca_file),
        admin_client_id=args.admin_client_id, device=args.device, cert_months=args.cert_months, base=existing)
    problem = m365.validate_request(request)
    if problem:
        return usage_error(problem, as_json=args.json)
    quiet = args.json
    progress = m365.Progress(on_step=(lambda _n, _t: None) if quiet else _print_step,
                             on_wait=None if quiet else _Countdown(), on_device_code=_show_device_code)
    try:
        result = asyncio.run(m365.set_up(request, progress))
    except (m365.M365Error, OAuthError) as exc:
        return _failed(args, exc.diagnosis.to_json(), m365.registration(args.name))
    except SignInCancelledError as exc:
        if args.json:
            emit_json({"ok": False, "profile": args.name, "error": str(exc)})
        else:
            print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    payload: dict[str, Any] = {"ok": result.ok, "profile": args.name,
                               "registration": result.registration.to_json(),
                               "check": result.report.to_json() if result.report else None}
    diagnosis = result.report.diagnosis if result.report else None
    if not result.ok and "exchange" in result.registration.pending:
        diagnosis = m365.M365Error("exchange_step_pending", profile=args.name,
                                   detail=diagnosis.detail if diagnosis else "").diagnosis
    if diagnosis is not None:
        payload["diagnosis"] = diagnosis.to_json()
    if args.json:
        emit_json(payload)
    else:
        _print_registration(result.registration)
        if diagnosis is not None:
            print_diagnosis(diagnosis)
        else:
            print("Done: the profile is saved and its check passed.")
    return EXIT_OK if result.ok else EXIT_FAILED


def _failed(args: argparse.Namespace, diagnosis: dict[str, str], registration: Registration | None) -> int:
    if args.json:
        payload: dict[str, Any] = {"ok": False, "profile": args.name, "diagnosis": diagnosis}
        if registration is not None:
            payload["registration"] = registration.to_json()
        emit_json(payload)
        return EXIT_FAILED
    from wizard.services.diagnostics import Diagnosis

    print_diagnosis(Diagnosis(**diagnosis))
    if registration is not None:
        print(f"\nWhat exists in the tenant so far is recorded; remove it with: mailwright m365 teardown {args.name}",
              file=sys.stderr)
    return EXIT_FAILED


def _print_registration(registration: Registration) -> None:
    print(f"\nApp:               {registration.display_name}")
    print(f"Client id:         {registration.app_id}")
    print(f"Object id:         {registration.application_id}")
    print(f"Service principal: {registration.service_principal_id}")
    print(f"Tenant:            {registration.tenant_id}")
    for grant in registration.grants:
        print(f"Granted:           {grant.permission}")
    if registration.thumbprint:
        print(f"Certificate:       {registration.thumbprint}, expires {registration.not_after[:10]} "
              "(renewed automatically 30 days before)")
    renewal = registration.renewal
    if renewal is not None:
        when = f"{renewal.when:%Y-%m-%d %H:%M} UTC"
        print(f"Last renewal:      {'done on ' + when if renewal.ok else 'failed on ' + when}")
        if not renewal.ok:
            print(f"                   {renewal.title}. {renewal.explanation}")
            print(f"                   Retry: mailwright m365 rotate {registration.profile}")
    if registration.pending:
        print(f"Still to do:       {', '.join(registration.pending)}")
    if registration.exchange_script and "exchange" in registration.pending:
        print(f"\nExchange Online PowerShell (run as an Exchange administrator):\n{registration.exchange_script}")


def run_show(args: argparse.Namespace) -> int:
    from wizard.services import m365

    try:
        registration = m365.registration(args.name)
    except ValueError as exc:
        return usage_error(str(exc), as_json=args.json)
    if registration is None:
        return _failed(args, m365.M365Error("not_set_up", profile=args.name).diagnosis.to_json(), None)
    if args.offline:
        return _show_offline(args, registration)
    from wizard.commands.m365_show import show_live

    return show_live(args, registration)


def _show_offline(args: argparse.Namespace, registration: Registration) -> int:
    if args.json:
        emit_json({"ok": True, "profile": args.name, "offline": True, "registration": registration.to_json(),
                   "rotation_due": registration.rotation_due()})
    else:
        print_record(registration)
    return EXIT_OK


def print_record(registration: Registration) -> None:
    _print_registration(registration)
    if registration.rotation_due():
        print(f"\nThe certificate expires within 30 days: mailwright m365 rotate {registration.profile}")


def run_rotate(args: argparse.Namespace) -> int:
    from wizard.services import m365
    from wizard.services.m365 import keypair
    from wizard.services.m365.rotation import renew

    if not 1 <= args.cert_months <= keypair.MAX_MONTHS:
        return usage_error(f"--cert-months is 1 to {keypair.MAX_MONTHS}, not {args.cert_months}.", as_json=args.json)
    try:
        outcome = asyncio.run(renew(args.name, months=args.cert_months,
                                    on_step=None if args.json else (lambda text: print(text, flush=True))))
    except m365.M365Error as exc:
        return _failed(args, exc.diagnosis.to_json(), None)
    if outcome.diagnosis is not None or outcome.registration is None:
        # Recorded with the profile like an automatic renewal's failure: `m365 show` and the main window say it.
        diagnosis = outcome.diagnosis or m365.M365Error("rotation_failed").diagnosis
        code = _failed(args, diagnosis.to_json(), m365.registration(args.name) if args.json else None)
        if not args.json:
            print(f"\nThis failure is recorded with the profile (mailwright m365 show {args.name}); the current "
                  "certificate stays in use.", file=sys.stderr)
        return code
    registration = outcome.registration
    if args.json:
        emit_json({"ok": True, "profile": args.name, "registration": registration.to_json()})
    else:
        print(f"Done: certificate {registration.thumbprint}, valid until {registration.not_after[:10]}.")
    return EXIT_OK


def run_teardown(args: argparse.Namespace) -> int:
    from wizard.services import m365
    from wizard.services.m365.teardown import tear_down
    from wizard.services.oauth import OAuthError, SignInCancelledError

    progress = m365.Progress(on_step=(lambda _n, _t: None) if args.json else _print_step,
                             on_device_code=_show_device_code)
    try:
        result = asyncio.run(tear_down(args.name, keep_profile=args.keep_profile, device=args.device,
                                       admin_client_id=args.admin_client_id, progress=progress))
    except (m365.M365Error, OAuthError) as exc:
        return _failed(args, exc.diagnosis.to_json(), None)
    except SignInCancelledError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        emit_json({"ok": True, "profile": args.name, "app_deleted": result.app_deleted,
                   "profile_removed": result.profile_removed})
    else:
        print("The key and the record were forgotten" + (", and the profile removed." if result.profile_removed
                                                          else "; the profile's settings were kept."))
    return EXIT_OK


def _add_admin_sign_in(parser: argparse.ArgumentParser) -> None:
    """The administrator's sign-in options of the commands that read or change the tenant after `setup`."""
    parser.add_argument("--device", action="store_true", help="sign in with a device code instead of the browser")
    parser.add_argument("--admin-client-id", metavar="ID", default="",
                        help="public client the administrator signs in with (default: Microsoft Graph Command Line "
                             "Tools)")
