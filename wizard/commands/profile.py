"""`mailwright profile add|list|show|remove|default`: the account settings, secrets via stdin only."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from wizard.commands.output import EXIT_FAILED, EXIT_OK, emit_json, read_stdin_secret, usage_error

PROVIDER_DEFAULTS: dict[str, dict[str, Any]] = {
    "smtp": {"auth": "password"},
    "gmail": {"host": "smtp.gmail.com", "port": 587, "security": "starttls", "auth": "password"},
    "m365-smtp": {"host": "smtp.office365.com", "port": 587, "security": "starttls", "auth": "oauth-interactive"},
    "graph": {"host": "", "port": 443, "security": "tls", "auth": "client-secret"},
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("profile", help="add, change, list, show or remove sending profiles")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add or replace a profile (secrets are read from stdin, never argv)")
    add.add_argument("name")
    add.add_argument("--provider", choices=list(PROVIDER_DEFAULTS), default="smtp")
    add.add_argument("--from", dest="from_address", required=True, metavar="ADDR", help="sender address")
    add.add_argument("--display-name", default="")
    add.add_argument("--host")
    add.add_argument("--port", type=int)
    add.add_argument("--security", choices=["starttls", "tls", "none"])
    add.add_argument("--username", help="sign-in name (default: the sender address when a password is given)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--ca-file", default="", metavar="PEM", help="trust this CA file instead of the system store")
    add.add_argument("--allow-plaintext-loopback", action="store_true",
                     help="with --security none to 127.0.0.1/localhost: allow signing in without encryption")
    add.add_argument("--auth", choices=["password", "oauth-interactive", "oauth-device", "client-secret",
                                        "client-certificate"])
    add.add_argument("--tenant", default="")
    add.add_argument("--client-id", default="")
    add.add_argument("--client-secret-stdin", action="store_true", help="read the client secret from standard input")
    add.add_argument("--client-secret-expires", default="", metavar="YYYY-MM-DD")
    add.add_argument("--certificate", default="", metavar="PEM|PFX", help="client certificate for app-only auth")
    add.add_argument("--certificate-thumbprint", default="")
    add.add_argument("--certificate-passphrase-stdin", action="store_true",
                     help="read the passphrase of the PFX or encrypted PEM from standard input")
    add.add_argument("--authority", default="", metavar="URL")
    add.add_argument("--graph-endpoint", default="", metavar="URL")
    add.add_argument("--no-save-to-sent-items", action="store_true")
    add.add_argument("--preset", default="", help="provider catalogue id the settings came from")
    add.add_argument("--priority", type=int, default=3, help="1 (very high) to 5 (very low)")
    add.add_argument("--fallback", default="", metavar="NAME,...",
                     help="profiles to try, in order, when this one fails (not for permanent rejections)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="list profiles")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    for name, handler, text in (("show", run_show, "show one profile"), ("remove", run_remove,
                                "remove a profile and its secrets"), ("default", run_default,
                                "make a profile the default")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("name")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(handler=handler)

    from wizard.commands.profile_set import register_set

    register_set(actions)


def run_add(args: argparse.Namespace) -> int:
    from wizard.services import accounts, secrets
    from wizard.services.model import AuthMode, Profile, ProviderKind, Security
    from wizard.services.validation import InvalidInputError

    defaults = PROVIDER_DEFAULTS[args.provider]
    if args.password_stdin and args.client_secret_stdin:
        return usage_error("Give either --password-stdin or --client-secret-stdin, not both.", as_json=args.json)
    security = Security(args.security or defaults.get("security", "starttls"))
    port = args.port or defaults.get("port") or {"starttls": 587, "tls": 465, "none": 25}[security.value]
    auth = AuthMode(args.auth or defaults["auth"])
    username = args.username
    if username is None:
        username = args.from_address if (auth is AuthMode.PASSWORD and args.password_stdin) or auth is not \
            AuthMode.PASSWORD else ""
    try:
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
        if client_secret is not None:
            secrets.store_secret(args.name, secrets.SecretKind.CLIENT_SECRET, client_secret)
        if passphrase is not None:
            _check_certificate(profile, passphrase)
            secrets.store_secret(args.name, secrets.SecretKind.CERTIFICATE_PASSPHRASE, passphrase)
        saved = accounts.save_profile(profile, password)
    except (InvalidInputError, ValueError) as exc:
        return usage_error(str(exc), as_json=args.json)
    except secrets.KeyringUnavailableError as exc:
        return usage_error(str(exc), as_json=args.json, code="keyring_unavailable")
    if args.json:
        emit_json({"ok": True, "profile": _public(saved)})
    else:
        print(f"Saved profile '{saved.name}' ({saved.provider.value}, {saved.from_address}).")
    return EXIT_OK


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
    from wizard.services.config import ConfigStore

    config = ConfigStore().load()
    rows = [{"name": p.name, "provider": p.provider.value, "from_address": p.from_address, "host": p.host,
             "port": p.port, "default": p.name == config.default_profile} for p in config.profiles.values()]
    if args.json:
        emit_json({"ok": True, "default": config.default_profile, "profiles": rows})
        return EXIT_OK
    if not rows:
        print("No profiles yet. Run `mailwright` for the wizard or `mailwright profile add NAME ...`.")
    for row in rows:
        marker = "*" if row["default"] else " "
        print(f"{marker} {row['name']:<16} {row['provider']:<10} {row['from_address']:<32} {row['host']}:{row['port']}")
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    from wizard.services.config import ConfigStore

    config = ConfigStore().load()
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


def run_remove(args: argparse.Namespace) -> int:
    from wizard.services import accounts

    try:
        removed = accounts.remove_profile(args.name)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    if args.json:
        emit_json({"ok": True, "removed": args.name, "secrets_removed": [k.value for k in removed]})
    else:
        print(f"Removed profile '{args.name}'" + (f" and its {', '.join(k.value for k in removed)} from the keyring."
                                                  if removed else "."))
    return EXIT_OK


def run_default(args: argparse.Namespace) -> int:
    from wizard.services.config import ConfigStore

    try:
        ConfigStore().set_default(args.name)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    if args.json:
        emit_json({"ok": True, "default": args.name})
    else:
        print(f"'{args.name}' is now the default profile.")
    return EXIT_OK if args.name else EXIT_FAILED
