"""`mailwright oauth login|status|logout [--profile NAME] [--device] [--client-json FILE] [--json]`: OAuth sign-in."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from typing import Any

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    emit_json,
    load_profile,
    open_services,
    print_diagnosis,
    usage_error,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("oauth", help="sign in with OAuth, show or remove the stored sign-in")
    parser.add_argument("action", choices=["login", "status", "logout"],
                        help="login: sign in and store the token (encrypted); status: who is signed in and until "
                             "when; logout: remove the stored sign-in")
    parser.add_argument("--profile", metavar="NAME", help="profile (default: the default profile)")
    parser.add_argument("--device", action="store_true", help="device code sign-in (no browser on this computer)")
    parser.add_argument("--client-json", metavar="FILE",
                        help="Gmail: import your Google OAuth client (Desktop app) JSON before signing in")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def run(args: argparse.Namespace) -> int:
    from wizard.services import oauth
    from wizard.services.model import AuthMode, ProviderKind

    services = open_services()
    profile = load_profile(args, services.store)
    if isinstance(profile, int):
        return profile
    if profile.auth is AuthMode.PASSWORD:
        return usage_error(f"Profile '{profile.name}' signs in with a password, not OAuth.", as_json=args.json)
    payload: dict[str, Any] = {"ok": True, "profile": profile.name}
    if args.client_json:
        from pathlib import Path

        from wizard.services.oauth import google

        try:
            google.import_client_json(profile, Path(args.client_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return usage_error(f"{args.client_json}: {exc}", as_json=args.json)
    if args.action == "login" and profile.provider is ProviderKind.GMAIL and not args.client_json:
        from wizard.services.oauth import google

        try:
            google.load_client(profile)
        except (oauth.OAuthError, OSError, ValueError):
            return usage_error(f"Profile '{profile.name}' has no Google OAuth client yet. Create one in Google Cloud "
                               "Console (APIs & Services > Credentials > Create credentials > OAuth client ID > "
                               "Desktop app), download its JSON, then run `mailwright oauth login --profile "
                               f"{profile.name} --client-json FILE`.", as_json=args.json)
    try:
        if args.action == "login":
            if not args.json:
                print("Waiting for you to sign in in your browser… (Ctrl+C cancels)" if not args.device
                      else "Requesting a device code…", flush=True)
            device = args.device or profile.auth is AuthMode.OAUTH_DEVICE
            signed = asyncio.run(oauth.login(profile, device=device, tokens=services.tokens))
            payload.update(account=signed.account, scopes=list(signed.scopes), expires_at=signed.expires_at,
                           warnings=list(signed.warnings))
            if not args.json:
                print(signed.message)
                for warning in signed.warnings:
                    print(f"Note: {warning}")
        elif args.action == "status":
            state = asyncio.run(oauth.status(profile, tokens=services.tokens))
            payload.update(state.to_json())
            if not args.json:
                if not state.signed_in:
                    print(f"Profile '{profile.name}': not signed in. Run  mailwright oauth login --profile "
                          f"{profile.name}")
                else:
                    age = state.token_age_s()
                    print(f"Account:        {state.account}\nGranted scopes: {' '.join(state.scopes) or '-'}\n"
                          f"Token age:      {'-' if age is None else f'{age / 60:.0f} min'}\n"
                          f"Expires:        {_when(state.expires_at)}\n"
                          f"Refresh token:  {'stored (encrypted)' if state.has_refresh_token else 'none'}")
                    for warning in state.warnings:
                        print(f"Note: {warning}")
        else:
            result = asyncio.run(oauth.logout(profile, tokens=services.tokens))
            payload.update(removed=result.removed, revoke=result.revoke_instructions)
            if not args.json:
                print("Removed the stored sign-in." if result.removed else "No stored sign-in was found.")
                print(result.revoke_instructions)
    except oauth.OAuthError as exc:
        if args.json:
            emit_json({"ok": False, "profile": profile.name, "diagnosis": exc.diagnosis.to_json()})
        else:
            print_diagnosis(exc.diagnosis)
        return EXIT_FAILED
    except OSError as exc:  # requests' and httpx's connection errors: no network, DNS, a proxy
        from wizard.services.oauth.errors import network_error

        endpoint = profile.authority or ("oauth2.googleapis.com" if profile.provider is ProviderKind.GMAIL
                                         else "login.microsoftonline.com")
        diagnosis = network_error(exc, endpoint).diagnosis
        if args.json:
            emit_json({"ok": False, "profile": profile.name, "diagnosis": diagnosis.to_json()})
        else:
            reasons = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
            reason = reasons[-1].strip() if reasons else type(exc).__name__
            print(f"Could not reach the sign-in service {endpoint} ({reason}): this computer may be offline, or a "
                  "firewall or proxy blocks it. Nothing was changed; try again when the network is back.",
                  file=sys.stderr)
        return EXIT_FAILED
    except oauth.SignInCancelledError as exc:
        if args.json:
            emit_json({"ok": False, "profile": profile.name, "error": str(exc)})
        else:
            print(str(exc))
        return EXIT_FAILED
    if args.json:
        emit_json(payload)
    return EXIT_OK
