"""`mailwright profile set NAME [options]`: change a saved profile; the headless twin of the wizard's pages.

Every option changes one setting and leaves the others as they are; secrets come from standard input only.
The values pass the same rules as the pages (Profile.validated and policy.validated_sender_settings).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from wizard.commands.output import (
    add_json_option,
    config_unusable,
    emit_json,
    open_services,
    read_stdin_secret,
    usage_error,
)
from wizard.commands.profile_next import after_saving, refuse_problems

if TYPE_CHECKING:
    from wizard.services.model import Profile

# (option, Profile field, metavar, help): options that set one text field
_TEXT_OPTIONS = (
    ("--from", "from_address", "ADDR", "sender address"),
    ("--display-name", "display_name", "TEXT", "the name shown with the sender address (empty: none)"),
    ("--host", "host", "HOST", "SMTP server host name"),
    ("--username", "username", "NAME", "sign-in name (the password stays in the keyring unless given again)"),
    ("--ca-file", "ca_file", "PEM", "trust this CA file instead of the system store (empty: the system store)"),
    ("--tenant", "tenant", "ID", "Microsoft: the Directory (tenant) ID, a GUID or a verified domain"),
    ("--client-id", "client_id", "GUID", "Microsoft: the app registration's Application (client) ID"),
    ("--client-secret-expires", "client_secret_expires", "YYYY-MM-DD", "when the client secret expires"),
    ("--certificate", "certificate_path", "PEM|PFX", "client certificate for app-only sign-in"),
    ("--certificate-thumbprint", "certificate_thumbprint", "HEX", "the certificate's thumbprint as Entra shows it"),
    ("--authority", "authority", "URL", "Microsoft: the sign-in authority (https://)"),
    ("--graph-endpoint", "graph_endpoint", "URL", "Graph: the API endpoint (https://)"),
    ("--preset", "preset", "ID", "the provider preset the settings came from"),
    ("--postmaster", "postmaster", "ADDR", "the postmaster address (empty: none)"),
)
# (option, Profile field, help): on/off settings, each with its --no- twin
_SWITCHES = (
    ("--force-postmaster", "force_postmaster_sender",
     "always send as the postmaster: From becomes the postmaster, the original From goes to Reply-To"),
    ("--allow-plaintext-loopback", "allow_plaintext_loopback",
     "with --security none to 127.0.0.1/localhost: allow signing in without encryption"),
    ("--save-to-sent-items", "save_to_sent_items", "Graph: keep a copy of each message in Sent Items"),
)


def register_set(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "set", help="change settings of a saved profile (what the wizard's pages change)",
        description="Change a saved profile: only the options given change. Sender settings, policy, priority and "
                    "the connection settings of `profile add`; secrets are read from standard input, never argv.")
    parser.add_argument("name", help="the profile to change (`mailwright profile list` shows them)")
    for option, field, metavar, text in _TEXT_OPTIONS:
        parser.add_argument(option, dest=field, metavar=metavar, help=text)
    parser.add_argument("--provider", choices=["smtp", "gmail", "m365-smtp", "graph"],
                        help="smtp, gmail, m365-smtp (Microsoft 365 over SMTP) or graph (Microsoft Graph)")
    parser.add_argument("--port", type=int, help="SMTP port 1-65535")
    parser.add_argument("--security", choices=["starttls", "tls", "none"],
                        help="starttls (port 587), tls (implicit TLS, port 465) or none (only to this computer)")
    parser.add_argument("--auth", choices=["password", "oauth-interactive", "oauth-device", "client-secret",
                                           "client-certificate"], help="how to sign in")
    parser.add_argument("--priority", type=int, choices=range(1, 6), metavar="1-5",
                        help="the account's priority, 1 (very high) to 5 (very low)")
    parser.add_argument("--fallback", metavar="NAME,...",
                        help="profiles to try, in order, when this one fails (empty: none)")
    parser.add_argument("--authorized-domain", action="append", default=[], metavar="DOMAIN",
                        help="allow senders of this domain and the domains under it (repeatable; added to the list)")
    parser.add_argument("--authorized-sender", action="append", default=[], metavar="ADDR",
                        help="allow this sender address (repeatable; added to the list)")
    parser.add_argument("--clear-authorized", action="store_true",
                        help="empty both lists first (then only the --authorized-* given here remain; none: "
                             "everyone may send)")
    parser.add_argument("--unauthorized", dest="unauthorized_action", choices=["block", "alert"],
                        help="mail from other senders: block (refused, nothing queued) or alert (sent, and an alert "
                             "is logged)")
    for option, field, text in _SWITCHES:
        parser.add_argument(option, dest=field, action=argparse.BooleanOptionalAction, default=None, help=text)
    parser.add_argument("--password-stdin", action="store_true", help="read a new password from standard input")
    parser.add_argument("--client-secret-stdin", action="store_true",
                        help="read a new client secret from standard input")
    parser.add_argument("--certificate-passphrase-stdin", action="store_true",
                        help="read the passphrase of the PFX or encrypted PEM from standard input")
    parser.add_argument("--check", action="store_true",
                        help="run `mailwright check` on the profile right after saving it")
    add_json_option(parser)
    parser.set_defaults(handler=run_set)


def _changes(args: argparse.Namespace, current: Profile) -> dict[str, Any]:
    from wizard.services.model import AuthMode, ProviderKind, Security

    changes: dict[str, Any] = {}
    for _, field, _, _ in _TEXT_OPTIONS:
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field).strip()
    for _, field, _ in _SWITCHES:
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field)
    for field, kind in (("provider", ProviderKind), ("security", Security), ("auth", AuthMode)):
        if getattr(args, field) is not None:
            changes[field] = kind(getattr(args, field))
    for field in ("port", "priority", "unauthorized_action"):
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field)
    if args.fallback is not None:
        changes["fallback"] = tuple(n.strip() for n in args.fallback.split(",") if n.strip())
    if args.clear_authorized or args.authorized_domain:
        kept = () if args.clear_authorized else current.authorized_domains
        changes["authorized_domains"] = (*kept, *args.authorized_domain)
    if args.clear_authorized or args.authorized_sender:
        kept = () if args.clear_authorized else current.authorized_senders
        changes["authorized_senders"] = (*kept, *args.authorized_sender)
    return changes


def _check_certificate(profile: Profile, passphrase: str) -> None:
    from wizard.services.oauth.certificates import CertificateError, load_certificate

    if not profile.certificate_path:
        raise ValueError("--certificate-passphrase-stdin needs a certificate (--certificate PEM|PFX).")
    try:
        load_certificate(profile.certificate_path, passphrase)
    except CertificateError as exc:
        raise ValueError(str(exc)) from None


def run_set(args: argparse.Namespace) -> int:
    from wizard.commands.profile import _public
    from wizard.services import accounts, secrets
    from wizard.services.policy import validated_sender_settings
    from wizard.services.validation import InvalidInputError

    stdin_secrets = [args.password_stdin, args.client_secret_stdin, args.certificate_passphrase_stdin]
    if sum(stdin_secrets) > 1:
        return usage_error("Give one --*-stdin secret at a time.", as_json=args.json)
    try:
        services = open_services()
        store = services.store
        current = store.load().profile(args.name)
    except KeyError as exc:
        return usage_error(exc.args[0], as_json=args.json)
    except InvalidInputError as exc:
        return config_unusable(exc, as_json=args.json)
    changes = _changes(args, current)
    if not changes and not any(stdin_secrets):
        return usage_error("Nothing to change: give at least one option (`mailwright profile set --help`).",
                           as_json=args.json)
    try:
        profile = validated_sender_settings(replace(current, **changes)).validated()
        password = read_stdin_secret("password") if args.password_stdin else None
        warnings = refuse_problems(profile, password)
        if args.client_secret_stdin:
            secrets.store_secret(profile.name, secrets.SecretKind.CLIENT_SECRET, read_stdin_secret("client-secret"))
        if args.certificate_passphrase_stdin:
            passphrase = read_stdin_secret("certificate-passphrase")
            _check_certificate(profile, passphrase)
            secrets.store_secret(profile.name, secrets.SecretKind.CERTIFICATE_PASSPHRASE, passphrase)
        saved = accounts.save_profile(profile, password, store)
    except (InvalidInputError, ValueError) as exc:
        return usage_error(str(exc), as_json=args.json)
    except secrets.KeyringUnavailableError as exc:
        return usage_error(str(exc), as_json=args.json, code="keyring_unavailable")
    changed = sorted(f for f in changes if getattr(saved, f) != getattr(current, f))
    changed += [kind for kind, given in zip(("password", "client_secret", "certificate_passphrase"), stdin_secrets,
                                            strict=True) if given]
    if args.json and not args.check:
        emit_json({"ok": True, "profile": _public(saved), "changed": changed, "warnings": warnings,
                   "next": f"mailwright check --profile {saved.name}"})
    elif not args.json:
        print(f"Updated profile '{saved.name}': {', '.join(changed)}." if changed else
              f"Profile '{saved.name}' already had these settings.")
    return after_saving(saved.name, warnings, args, services)
