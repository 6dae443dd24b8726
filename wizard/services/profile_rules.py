"""What a profile must satisfy before it is saved, beyond the types of its fields: one rule set for the
wizard's pages and `mailwright profile add`.

`Profile.validated()` normalises the fields it owns (name, addresses, host, port, priority); the rules here
need more context (the provider, the password that is about to be stored, a file on disk) and come back as a
list, errors first, so a page can show them all while typing and the CLI can refuse with every one named.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from wizard.services import diagnostics
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import DiagnosisCode
from wizard.services.model import AuthMode, Profile, ProviderKind

_APP_PASSWORD = re.compile(r"^[a-z]{16}$")
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class ProfileProblem:
    field: str  # the profile field, e.g. "client_id" (the CLI names its option from it)
    message: str
    warning: bool = False  # saved anyway, but said


def normalise_app_password(text: str) -> str:
    """Google shows app passwords as four groups of four letters; spaces are not part of it."""
    return "".join(text.split()).lower()


def is_app_password(text: str) -> bool:
    return bool(_APP_PASSWORD.match(normalise_app_password(text)))


def ca_file_problem(path: str) -> str | None:
    """Why the CA file at `path` cannot be trusted from (missing, unreadable, no PEM certificate); None if it can."""
    file = Path(path)
    if not file.exists():
        return f"The CA file {path} does not exist."
    if not file.is_file():
        return f"The CA file {path} is not a file."
    try:
        data = file.read_bytes()
    except OSError as exc:
        return f"The CA file {path} cannot be read: {exc.strerror or exc}."
    if _PEM_CERTIFICATE not in data:
        return (f"The CA file {path} holds no PEM certificate (a text file with -----BEGIN CERTIFICATE----- "
                "blocks); a DER or PFX file must be converted first.")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError) as exc:
        return f"The CA file {path} is not a valid PEM certificate file: {exc}."
    return None


def ca_file_diagnosis(profile: Profile) -> Diagnosis | None:
    """The profile's CA file went missing or bad after it was saved: a diagnosis instead of a failing handshake."""
    problem = ca_file_problem(profile.ca_file) if profile.ca_file else None
    if problem is None:
        return None
    server = profile.host or "the server"
    reason = f"{problem} Mailwright needs it to verify {server}'s certificate, so nothing was sent."
    return diagnostics.make(DiagnosisCode.CA_FILE_UNREADABLE, detail=problem, reason=reason)


def _microsoft_problems(profile: Profile) -> list[ProfileProblem]:
    from wizard.services.oauth.azure_guide import validate_client_id, validate_tenant

    problems: list[ProfileProblem] = []
    kind = "Microsoft Graph" if profile.provider is ProviderKind.GRAPH else "Microsoft 365"
    for field, value, validate, what in (("tenant", profile.tenant, validate_tenant, "Directory (tenant) ID"),
                                         ("client_id", profile.client_id, validate_client_id,
                                          "Application (client) ID")):
        if not value.strip():
            problems.append(ProfileProblem(field, f"A {kind} profile needs the app registration's {what}."))
        else:
            problem = validate(value)
            if problem:
                problems.append(ProfileProblem(field, f"{value!r}: {problem}"))
    return problems


def profile_problems(profile: Profile, password: str | None = None) -> list[ProfileProblem]:
    """Every rule this profile (with the password about to be stored) breaks; errors first, then warnings."""
    problems: list[ProfileProblem] = []
    if profile.ca_file:
        problem = ca_file_problem(profile.ca_file)
        if problem:
            problems.append(ProfileProblem("ca_file", problem))
    if profile.provider in {ProviderKind.M365_SMTP, ProviderKind.GRAPH}:
        problems.extend(_microsoft_problems(profile))
    if (profile.provider is ProviderKind.GMAIL and profile.auth is AuthMode.PASSWORD and password is not None
            and not is_app_password(password)):
        problems.append(ProfileProblem(
            "password", "Gmail accepts an app password here: 16 letters (Google shows them in four groups; spaces "
            "are ignored). This is not one, so Gmail will probably refuse it; create one at "
            "https://myaccount.google.com/apppasswords.", warning=True))
    return sorted(problems, key=lambda problem: problem.warning)
