"""`mailwright m365 show NAME` without --offline: the app as it is in the tenant now (an administrator signs in,
read-only), this computer's record, and where they differ. When no one can sign in, the record alone, said so.

Exit status: 0 the tenant matches the record; 1 it differs, or the tenant could not be read (the record is still
printed, with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, emit_json, print_diagnosis

if TYPE_CHECKING:
    from wizard.services.diagnostics import Diagnosis
    from wizard.services.m365 import Registration
    from wizard.services.m365.live import TenantView
    from wizard.services.oauth.model import DeviceCode


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _device_code(code: DeviceCode) -> None:
    _to_stderr(code.message or f"Open {code.verification_uri} and enter the code {code.user_code}")


def show_live(args: argparse.Namespace, registration: Registration) -> int:
    from wizard.services import m365
    from wizard.services.m365.live import read_tenant
    from wizard.services.oauth import OAuthError, SignInCancelledError

    # Steps and a device code go to stderr: stdout holds only what is shown (or the JSON).
    progress = m365.Progress(on_step=lambda _n, text: _to_stderr(text), on_device_code=_device_code)
    try:
        registration, view = asyncio.run(read_tenant(args.name, device=args.device,
                                                     admin_client_id=args.admin_client_id, progress=progress))
    except (m365.M365Error, OAuthError) as exc:
        return _record_only(args, registration, exc.diagnosis)
    except (SignInCancelledError, OSError) as exc:  # cancelled, or no browser can be started here
        return _record_only(args, registration, m365.M365Error("sign_in_impossible", detail=str(exc)).diagnosis)
    return _show(args, registration, view)


def _record_only(args: argparse.Namespace, registration: Registration, diagnosis: Diagnosis) -> int:
    note = ("The tenant could not be read, so this is only this computer's record of what was created (as with "
            "--offline); it may no longer match the tenant.")
    if args.json:
        emit_json({"ok": False, "profile": args.name, "offline": True, "live": None, "note": note,
                   "diagnosis": diagnosis.to_json(), "registration": registration.to_json(),
                   "rotation_due": registration.rotation_due()})
        return EXIT_FAILED
    from wizard.commands.m365 import print_record

    print_diagnosis(diagnosis)
    _to_stderr(f"\n{note}")
    print("This computer's record (not checked against the tenant):")
    print_record(registration)
    return EXIT_FAILED


def _show(args: argparse.Namespace, registration: Registration, view: TenantView) -> int:
    from wizard.services.m365.diagnosis import diagnose
    from wizard.services.m365.live import exchange_state

    exchange = exchange_state(registration)
    diagnosis = None
    if not view.matches:
        diagnosis = diagnose("tenant_changed", detail=" ".join(d.text for d in view.differences),
                             profile=registration.profile)
    if args.json:
        payload: dict[str, Any] = {"ok": view.matches, "profile": args.name, "offline": False,
                                   "live": view.to_json(), "exchange": exchange,
                                   "differences": [d.code for d in view.differences],
                                   "registration": registration.to_json(), "rotation_due": registration.rotation_due()}
        if diagnosis is not None:
            payload["diagnosis"] = diagnosis.to_json()
        emit_json(payload)
        return EXIT_OK if view.matches else EXIT_FAILED
    from wizard.commands.m365 import print_record

    print(f"In the tenant now (read as {view.account or 'the administrator'}):")
    _print_view(view, exchange)
    print("\nThis computer's record:")
    print_record(registration)
    if view.matches:
        print("\nThe tenant matches this computer's record.")
        return EXIT_OK
    print("\nDifferences from this computer's record:")
    for difference in view.differences:
        print(f"  - {difference.text}")
    return EXIT_FAILED


def _print_view(view: TenantView, exchange: str) -> None:
    if not view.app_exists:
        print("App:               none: it was deleted from the tenant")
        return
    print(f"App:               {view.display_name}")
    print(f"Client id:         {view.app_id}")
    print(f"Service principal: {view.service_principal_id or 'none'}")
    if not view.keys:
        print("Certificates:      none")
    for index, key in enumerate(view.keys):
        mine = " (the one this computer signs in with)" if key.in_use else ""
        label = "Certificates:" if index == 0 else ""
        print(f"{label:<19}{key.thumbprint or key.key_id}, expires {key.not_after[:10]}{mine}")
    if not view.permissions:
        print("Granted:           nothing")
    for permission in view.permissions:
        print(f"Granted:           {permission.permission}")
    if exchange:
        print(f"Exchange Online:   {exchange}")
