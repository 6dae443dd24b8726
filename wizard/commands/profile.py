"""`mailwright profile add|list|show|remove|default`: the account settings, secrets via stdin only."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wizard.commands.output import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_option,
    emit_json,
    open_services,
    plural,
    read_stdin_secret,
    usage_error,
)
from wizard.commands.profile_next import after_saving, refuse_problems

PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "smtp": {"auth": "password"},
    "gmail": {"host": "smtp.gmail.com", "port": 587, "security": "starttls", "auth": "password"},
    "m365-smtp": {"host": "smtp.office365.com", "port": 587, "security": "starttls", "auth": "oauth-interactive"},
    "graph": {"host": "", "port": 443, "security": "tls", "auth": "client-secret"},
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("profile", help="add, change, list, show or remove sending profiles")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add", help="add or replace a profile (secrets are read from stdin, never argv)",
        description="Save a sending account. Values are checked by the same rules as the wizard's pages; "
                    "secrets go to the keyring. Afterwards, run `mailwright check --profile NAME` (or give --check).")
    add.add_argument("name", help="the profile's name: a letter or digit, then letters, digits, . _ - (max 64)")
    add.add_argument("--provider", choices=list(PROVIDER_DEFAULTS), default="smtp",
                     help="smtp (any SMTP server), gmail, m365-smtp (Microsoft 365 over SMTP with OAuth) or graph "
                          "(Microsoft Graph); default smtp")
    add.add_argument("--from", dest="from_address", required=True, metavar="ADDR", help="sender address")
    add.add_argument("--display-name", default="", metavar="TEXT", help="the name shown with the sender address")
    add.add_argument("--host", help="SMTP server host name (default: the provider's or the preset's)")
    add.add_argument("--port", type=int, help="SMTP port 1-65535 (default: 587 for starttls, 465 for tls, 25 for none)")
    add.add_argument("--security", choices=["starttls", "tls", "none"],
                     help="starttls (port 587), tls (implicit TLS, port 465) or none (only to this computer)")
    add.add_argument("--username", help="sign-in name (default: the sender address when a password is given)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--ca-file", default="", metavar="PEM", help="trust this CA file instead of the system store")
    add.add_argument("--allow-plaintext-loopback", action="store_true",
                     help="with --security none to 127.0.0.1/localhost: allow signing in without encryption")
    add.add_argument("--auth", choices=["password", "oauth-interactive", "oauth-device", "client-secret",
                                        "client-certificate"],
                     help="how to sign in (default: password; m365-smtp oauth-interactive; graph client-secret)")
    add.add_argument("--tenant", default="", metavar="ID",
                     help="Microsoft: the Directory (tenant) ID, a GUID, or a verified domain such as contoso.com")
    add.add_argument("--client-id", default="", metavar="GUID",
                     help="Microsoft: the app registration's Application (client) ID")
    add.add_argument("--client-secret-stdin", action="store_true", help="read the client secret from standard input")
    add.add_argument("--client-secret-expires", default="", metavar="YYYY-MM-DD",
                     help="when the client secret expires (Mailwright warns 30 days before)")
    add.add_argument("--certificate", default="", metavar="PEM|PFX", help="client certificate for app-only auth")
    add.add_argument("--certificate-thumbprint", default="", metavar="HEX",
                     help="the certificate's thumbprint as Entra shows it under Certificates & secrets")
    add.add_argument("--certificate-passphrase-stdin", action="store_true",
                     help="read the passphrase of the PFX or encrypted PEM from standard input")
    add.add_argument("--authority", default="", metavar="URL",
                     help="Microsoft: the sign-in authority (https://; default https://login.microsoftonline.com)")
    add.add_argument("--graph-endpoint", default="", metavar="URL",
                     help="Graph: the API endpoint (https://; default https://graph.microsoft.com)")
    add.add_argument("--no-save-to-sent-items", action="store_true",
                     help="Graph: do not keep a copy of each message in the mailbox's Sent Items")
    presets = _preset_ids()
    add.add_argument("--preset", default="", metavar="ID", choices=["", *presets],
                     help="a provider preset that fills the server, port and security when not given: "
                          + ", ".join(presets))
    add.add_argument("--priority", type=int, default=3, help="1 (very high) to 5 (very low)")
    add.add_argument("--fallback", default="", metavar="NAME,...",
                     help="profiles to try, in order, when this one fails (not for permanent rejections)")
    add.add_argument("--check", action="store_true",
                     help="run `mailwright check` on the profile right after saving it")
    add_json_option(add)
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="list profiles")
    add_json_option(listing)
    listing.set_defaults(handler=run_list)

    for name, handler, text in (("show", run_show, "show one profile"), ("remove", run_remove,
                                "remove a profile and its secrets"), ("default", run_default,
                                "make a profile the default")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("name", help="the profile's name (`mailwright profile list` shows them)")
        if name == "remove":
            sub.add_argument("--force", action="store_true",
                             help="remove even when mail of this profile is still waiting in the outbox")
        add_json_option(sub)
        sub.set_defaults(handler=handler)

    from wizard.commands.profile_set import register_set

    register_set(actions)


def _preset_ids() -> list[str]:
    from wizard.services.providers import load_catalogue

    return [provider_id for provider_id, provider in load_catalogue().items() if provider.smtp]


def _preset_settings(args: argparse.Namespace) -> dict[str, Any]:
    """host, port and security from `--preset` for the ones not given on the command line."""
    if not args.preset:
        return {}
    from wizard.services.providers import load_catalogue

    smtp = load_catalogue()[args.preset].smtp[0]
    if not args.host and (not smtp.host or "{" in smtp.host):
        raise ValueError(f"--preset {args.preset} needs --host: the server name depends on your account "
                         f"({smtp.host or 'see the provider'}).")
    return {"host": smtp.host, "port": smtp.port, "security": smtp.security}


def run_add(args: argparse.Namespace) -> int:
    from wizard.services import accounts, secrets
    from wizard.services.model import AuthMode, Profile, ProviderKind, Security, validate_profile_name
    from wizard.services.validation import InvalidInputError

    if args.password_stdin and args.client_secret_stdin:
        return usage_error("Give either --password-stdin or --client-secret-stdin, not both.", as_json=args.json)
    try:
        defaults = {**PROVIDER_DEFAULTS[args.provider], **_preset_settings(args)}
    except ValueError as exc:
        return usage_error(str(exc), as_json=args.json)
    security = Security(args.security or defaults.get("security", "starttls"))
    # --port 0 stays 0 and is refused by the port rule (it used to become 587 silently)
    port = args.port if args.port is not None else (
        defaults.get("port") or {"starttls": 587, "tls": 465, "none": 25}[security.value])
    auth = AuthMode(args.auth or defaults["auth"])
    username = args.username
    if username is None:
        username = args.from_address if (auth is AuthMode.PASSWORD and args.password_stdin) or auth is not \
            AuthMode.PASSWORD else ""
    services = open_services()
    try:
        validate_profile_name(args.name)  # before any secret is stored under it
        password = read_stdin_secret("password") if args.password_stdin else None
        client_secret = read_stdin_secret("client-secret") if args.client_secret_stdin else None
        passphrase = read_stdin_secret("certificate-passphrase") if args.certificate_passphrase_stdin else None
        profile = Profile(
            name=args.name, provider=ProviderKind(args.provider), from_address=args.from_address,
            display_name=args.display_name, host=args.host or defaults.get("host", ""), port=port, security=security,
            username=username, auth=auth, ca_file=args.ca_file, allow_plaintext_loopback=args.allow_plaintext_loopback,
            preset=args.preset, tenant=args.tenant, client_id=args.client_id, authority=args.authority,
            graph_endpoint=args.graph_endpoint, certificate_path=args.certificate,
            certificate_thumbprint=args.certificate_thumbprint, client_secret_expires=args.client_secret_expires,
            save_to_sent_items=not args.no_save_to_sent_items, priority=args.priority,
            fallback=tuple(n.strip() for n in args.fallback.split(",") if n.strip()))
        if auth is AuthMode.PASSWORD and username and password is None:
            raise InvalidInputError("password", "A user name was given: pass the password with --password-stdin.")
        warnings = refuse_problems(profile, password)
        if client_secret is not None:
            secrets.store_secret(args.name, secrets.SecretKind.CLIENT_SECRET, client_secret)
        if passphrase is not None:
            _check_certificate(profile, passphrase)
            secrets.store_secret(args.name, secrets.SecretKind.CERTIFICATE_PASSPHRASE, passphrase)
        saved = accounts.save_profile(profile, password, services.store)
    except (InvalidInputError, ValueError) as exc:
        field = getattr(exc, "field", "")
        message = str(exc)
        if field == "port":
            message = f"--port {port}: {message}"
        return usage_error(message, as_json=args.json)
    except secrets.KeyringUnavailableError as exc:
        return usage_error(str(exc), as_json=args.json, code="keyring_unavailable")
    if args.json and not args.check:
        emit_json({"ok": True, "profile": _public(saved), "warnings": warnings,
                   "next": f"mailwright check --profile {saved.name}"})
    elif not args.json:
        print(f"Saved profile '{saved.name}' ({saved.provider.value}, {saved.from_address}).")
    return after_saving(saved.name, warnings, args, services)


def _check_certificate(profile: Any, passphrase: str) -> None:
    """Refuse a passphrase that does not open the certificate before anything is stored."""
    from wizard.services.oauth.certificates import CertificateError, load_certificate

    if not profile.certificate_path:
        raise ValueError("--certificate-passphrase-stdin needs --certificate PEM|PFX.")
    try:
        load_certificate(profile.certificate_path, passphrase)
    except CertificateError as exc:
        raise ValueError(str(exc)) from None


def _public(profile: Any) -> dict[str, Any]:
    data = asdict(profile)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def _secret_state(name: str) -> str:
    from wizard.services import secrets

    try:
        kinds = [kind.value for kind in secrets.SecretKind if secrets.load_secret(name, kind) is not None]
    except secrets.KeyringUnavailableError:
        return "keyring unavailable"
    return ", ".join(kinds) + " in keyring" if kinds else "none"


def run_list(args: argparse.Namespace) -> int:
    config = open_services().store.load()
    rows = [{"name": p.name, "provider": p.provider.value, "from_address": p.from_address, "host": p.host,
             "port": p.port, "default": p.name == config.default_profile} for p in config.profiles.values()]
    if args.json:
        emit_json({"ok": True, "default": config.default_profile, "profiles": rows})
        return EXIT_OK
    if not rows:
        print("No profiles yet. Run `mailwright` for the wizard or `mailwright profile add NAME ...`.")
        return EXIT_OK
    table = [("", "NAME", "PROVIDER", "FROM", "SERVER")] + [
        ("*" if row["default"] else "", str(row["name"]), str(row["provider"]), str(row["from_address"]),
         f"{row['host']}:{row['port']}" if row["host"] else "-") for row in rows]
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    for line in table:  # columns as wide as their longest value: a long name never shifts the others
        print("  ".join([*(value.ljust(width) for value, width in zip(line, widths, strict=False)), line[4]]))
    print("(* the default profile)")
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    config = open_services().store.load()
    try:
        profile = config.profile(args.name)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    data = _public(profile)
    data["secrets"] = _secret_state(profile.name)
    data["default"] = profile.name == config.default_profile
    if args.json:
        emit_json({"ok": True, "profile": data})
    else:
        for key, value in data.items():
            shown = (", ".join(value) or "(none)") if isinstance(value, list) else value
            print(f"{key:<26} {shown}")
    return EXIT_OK


def _waiting_mail(name: str, outbox_path: Path) -> int:
    """Messages of this profile still to be sent (queued, being sent or held)."""
    from wizard.services.outbox import MessageState
    from wizard.services.outbox_stats import read_profile_stats

    stats = read_profile_stats(outbox_path).get(name)
    if stats is None:
        return 0
    return sum(stats.counts.get(state, 0) for state in (MessageState.QUEUED, MessageState.SENDING,
                                                        MessageState.HELD))


def _confirm(question: str) -> bool:
    if sys.stdin is None or not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}
    except EOFError:
        return False


def run_remove(args: argparse.Namespace) -> int:
    from wizard.services import accounts
    from wizard.services.validation import InvalidInputError

    services = open_services()
    if args.name not in services.store.load().profiles:
        return usage_error(f"There is no profile named '{args.name}'.", as_json=args.json)
    waiting = _waiting_mail(args.name, services.outbox_path)
    if waiting and not args.force:
        warning = (f"Profile '{args.name}' still has {plural(waiting, 'message')} waiting in the outbox: once the "
                   "profile is gone nothing sends it.")
        if args.json or not _confirm(f"{warning} Remove the profile anyway?"):
            return usage_error(f"{warning} Let it be sent first (`mailwright queue status`), or remove anyway with "
                               f"`mailwright profile remove {args.name} --force` (then `mailwright queue delete "
                               f"--profile {args.name}` deletes that mail).", as_json=args.json)
    from wizard.services.m365 import record

    try:
        registration = record.load(args.name)
    except (InvalidInputError, ValueError):
        registration = None  # an unreadable record is removed with the profile all the same
    try:
        removed = accounts.remove_profile(args.name, services.store)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)
    left_in_tenant = (f"The app \u201c{registration.display_name}\u201d (client id {registration.app_id}) is still "
                      f"registered in tenant {registration.tenant_id}: delete it in the Entra admin center "
                      "(App registrations) if it is no longer needed." if registration is not None else "")
    if args.json:
        emit_json({"ok": True, "removed": args.name, "secrets_removed": [k.value for k in removed],
                   "waiting_mail": waiting, "m365_app_left_in_tenant": registration.app_id if registration else None})
    else:
        print(f"Removed profile '{args.name}'" + (f" and its {', '.join(k.value for k in removed)} from the keyring."
                                                  if removed else "."))
        if waiting:
            print(f"{plural(waiting, 'message')} of '{args.name}' stay in the outbox unsent: `mailwright queue "
                  f"delete --profile {args.name}` deletes them.")
        if left_in_tenant:
            print(f"Its Microsoft 365 key and record were removed from this computer. {left_in_tenant}")
    return EXIT_OK


def run_default(args: argparse.Namespace) -> int:
    from wizard.services.validation import InvalidInputError

    try:
        open_services().store.set_default(args.name)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    except InvalidInputError as exc:
        return usage_error(str(exc), as_json=args.json)
    if args.json:
        emit_json({"ok": True, "default": args.name})
    else:
        print(f"'{args.name}' is now the default profile.")
    return EXIT_OK if args.name else EXIT_FAILED
