"""What can go wrong while setting up, rotating or removing the Microsoft 365 app, in plain words.

One place for the words: the set-up steps raise `M365Error(code, ...)` with the facts (the Graph error code,
the AADSTS number, the roles that can do the step), and `diagnose` renders the `Diagnosis` that the CLI, the
wizard page and `--json` show. Sources: ../shared/REFERENCE.md (Entra app registration section).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from wizard.services.diagnostics import Diagnosis

REGISTER_ROLES = "Application Administrator or Cloud Application Administrator"
GRANT_ROLES = "Privileged Role Administrator or Global Administrator"
MANUAL = "Or choose \u201cI'll register the app myself\u201d and follow the manual guide."


@dataclass(frozen=True)
class _Words:
    title: str
    explanation: str
    fix: str


_WORDS: dict[str, _Words] = {
    "admin_role_required": _Words(
        "This account may not {action}",
        "Microsoft 365 refused: {action} needs one of these roles: {roles}. The account that signed in has none.",
        "Sign in again as someone with one of those roles, or ask them to run this set-up. " + MANUAL),
    "admin_consent_required": _Words(
        "An administrator must sign in",
        "The account that signed in cannot approve what this set-up needs ({scopes}). Registering the app needs "
        f"{REGISTER_ROLES}; granting its permissions needs {GRANT_ROLES}.",
        "Sign in with an administrator account. " + MANUAL),
    "client_not_authorized": _Words(
        "The sign-in app is not allowed in this tenant",
        "The tenant does not let the sign-in app ({client_id}) ask for these permissions (AADSTS65002 or a blocked "
        "first-party app).",
        "Register your own public client for administrators and pass its id with --admin-client-id (or the "
        "\u201cSign-in app\u201d field). " + MANUAL),
    "consent_declined": _Words(
        "The permissions were not approved",
        "The administrator declined the request for {scopes} in the browser, so nothing was created.",
        "Start again and approve the request, or choose the manual guide."),
    "conditional_access": _Words(
        "A Conditional Access policy blocked the sign-in",
        "Your organisation's Conditional Access rules refused this sign-in ({reason}). Device-code sign-in is often "
        "blocked on purpose.",
        "Sign in in the browser on a compliant device (not with a device code), or ask whoever manages Conditional "
        "Access to allow it. " + MANUAL),
    "tenant_not_found": _Words(
        "This tenant was not found at {authority}",
        "The identity platform does not know the tenant {tenant} ({reason}). It may be a typo, or a tenant in a "
        "national cloud.",
        "Check the tenant. For US Government use --authority https://login.microsoftonline.us --graph-endpoint "
        "https://graph.microsoft.us; for the China cloud --authority https://login.chinacloudapi.cn "
        "--graph-endpoint https://microsoftgraph.chinacloudapi.cn."),
    "domain_not_verified": _Words(
        "{domain} is not a verified domain of this tenant",
        "The sender {from_address} must be a mailbox of the tenant you signed in to, but its verified domains are: "
        "{domains}.",
        "Sign in to the tenant that owns {domain}, or verify the domain in the Microsoft 365 admin center "
        "(Settings > Domains) first."),
    "resource_missing": _Words(
        "{resource} is not available in this tenant",
        "The tenant has no service principal for {resource}, or it does not offer the permission {permission}.",
        "Check that the tenant has Exchange Online (a Microsoft 365 licence with a mailbox)."),
    "replication_timeout": _Words(
        "The new app is still not known to Microsoft's sign-in service",
        "The app was created ({app_id}), but after {waited} the sign-in service still answers: {reason}. New apps "
        "usually become usable within a few minutes.",
        "Wait a few minutes, then run \u201cmailwright check --profile {profile}\u201d. Nothing needs to be created "
        "again."),
    "exchange_step_pending": _Words(
        "Exchange Online must still allow the app",
        "The app and its permission exist, but Exchange Online has not been told yet which mailbox it may use, so "
        "the check failed ({reason}).",
        "Run the PowerShell shown (Exchange Online PowerShell, as an Exchange administrator), then "
        "\u201cmailwright check --profile {profile}\u201d."),
    "directory_error": _Words(
        "Microsoft Graph refused a set-up step",
        "{step} failed: {reason}",
        "Try again in a minute. If it keeps failing, use the manual guide and keep this message for support."),
    "not_set_up": _Words(
        "Profile '{profile}' was not set up by Mailwright",
        "There is no record of an app that Mailwright registered for this profile.",
        "Run \u201cmailwright m365 setup {profile} --from ADDRESS --mode ...\u201d first."),
    "sign_in_impossible": _Words(
        "No administrator could sign in",
        "{reason}",
        "Sign in with --device (the code works on any other device), or use --offline for this computer's record "
        "alone."),
    "tenant_changed": _Words(
        "The app in the tenant no longer matches this computer's record",
        "{reason}",
        "Do what each difference says, then run \u201cmailwright check --profile {profile}\u201d."),
    "rotation_failed": _Words(
        "The certificate could not be renewed",
        "{reason}",
        "If the current certificate has expired, only an administrator can add a new one: run \u201cmailwright m365 "
        "setup\u201d again (it replaces the app), or upload a certificate in the Entra admin center."),
    "keyring_unavailable": _Words(
        "No secure keyring on this computer",
        "The app's private key is stored encrypted with a key held by the system keyring, and no keyring is "
        "available ({reason}).",
        "Unlock or install a keyring (GNOME Keyring, KWallet, macOS Keychain, Windows Credential Manager) and try "
        "again."),
    "exists": _Words(
        "Profile '{profile}' already has an app",
        "Mailwright already registered an app for this profile ({app_id}).",
        "Use \u201cmailwright m365 teardown {profile}\u201d first, or choose another profile name."),
}


class _Context(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


class M365Error(Exception):
    """A set-up, rotation or teardown step failed; `diagnosis` says why in words. Never holds a token or key."""

    def __init__(self, code: str, *, detail: str = "", **context: str) -> None:
        self.code = code
        self.context = dict(context)
        self.detail = detail
        self.diagnosis = diagnose(code, detail=detail, **context)
        super().__init__(f"{self.diagnosis.title}: {self.diagnosis.explanation}")


def diagnose(code: str, *, detail: str = "", **context: str) -> Diagnosis:
    words = _WORDS[code]
    values = _Context({"reason": detail or "no details were given", **context})
    return Diagnosis(code, words.title.format_map(values), words.explanation.format_map(values),
                     words.fix.format_map(values), detail)


AADSTS_CODES = {
    "65001": "admin_consent_required", "90094": "admin_consent_required", "90095": "admin_consent_required",
    "65004": "consent_declined", "65002": "client_not_authorized", "700016": "client_not_authorized",
    "53000": "conditional_access", "53001": "conditional_access", "53003": "conditional_access",
    "530034": "conditional_access", "90002": "tenant_not_found",
}


def sign_in_error(response: Mapping[str, object], *, scopes: str, client_id: str, tenant: str,
                  authority: str) -> M365Error | None:
    """The admin sign-in's error answer -> the set-up diagnosis, or None when it is not one we explain here."""
    description = " ".join(str(response.get("error_description", "")).split()).split(" Trace ID:")[0]
    listed = response.get("error_codes")
    numbers = [str(n) for n in listed] if isinstance(listed, list) else []
    numbers += re.findall(r"AADSTS(\d+)", description)
    code = next((AADSTS_CODES[n] for n in numbers if n in AADSTS_CODES), None)
    if code is None and response.get("error") == "access_denied":
        code = "consent_declined"
    if code is None:
        return None
    detail = f"{response.get('error', '')}: {description}".strip(": ")
    return M365Error(code, detail=detail, scopes=scopes, client_id=client_id, tenant=tenant, authority=authority)
