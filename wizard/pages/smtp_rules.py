"""What the SMTP page accepts: a pure function from the typed state to the problems to show.

Kept apart from the widgets so the rules (including the security ones) are read and tested
without a window. A problem with `shown=False` blocks Next without nagging (an empty field).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wizard.pages.state import WizardState
from wizard.services.model import Security
from wizard.services.profile_rules import ca_file_problem
from wizard.services.validation import (
    InvalidInputError,
    is_loopback,
    validate_address,
    validate_display_name,
    validate_host,
    validate_port,
)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    shown: bool = True


def smtp_problems(state: WizardState, port_text: str) -> list[Problem]:
    problems: list[Problem] = []

    def check(field: str, text: str, validate: Callable[[str], object]) -> None:
        if not text.strip():
            problems.append(Problem(field, f"{field} is required.", shown=False))
            return
        try:
            validate(text)
        except InvalidInputError as exc:
            problems.append(Problem(field, str(exc)))

    # Entered on the sender page: named here so a profile opened straight at this page says where to fix it.
    back = " Change it on the sender page (Back)."
    if not state.draft.from_address.strip():
        problems.append(Problem("Sender address", "Enter the sender address on the sender page (Back)."))
    else:
        try:
            validate_address(state.draft.from_address, "sender address")
        except InvalidInputError as exc:
            problems.append(Problem("Sender address", str(exc) + back))
    try:
        validate_display_name(state.draft.display_name, "Display name")
    except InvalidInputError as exc:
        problems.append(Problem("Display name", str(exc) + back))
    check("Server", state.draft.host, validate_host)
    check("Port", port_text, validate_port)
    username = state.draft.username.strip()
    if username and any(c in username for c in "\r\n\x00"):
        problems.append(Problem("User name", "User name must be a single line: line breaks are not allowed."))
    if username and not state.secrets.password and not state.editing:
        problems.append(Problem("Password", "Enter the password (or app password) for this user.", shown=False))
    ca_file = state.draft.ca_file.strip()
    ca_problem = ca_file_problem(ca_file) if ca_file else None
    if ca_problem:
        problems.append(Problem("CA file", ca_problem))
    problems.extend(plaintext_problems(state))
    return problems


def plaintext_problems(state: WizardState) -> list[Problem]:
    """Security `none`: a password may only travel unencrypted to this computer, and only when confirmed."""
    if state.draft.security is not Security.NONE or not state.draft.username.strip() or not state.draft.host.strip():
        return []
    if not is_loopback(state.draft.host.strip()):
        return [Problem("Security", f"Mailwright will not send your password to {state.draft.host.strip()} without "
                        "encryption: anyone on the network could read it. Choose STARTTLS or implicit TLS, or "
                        "leave the user name empty if this server accepts mail without signing in.")]
    if not state.draft.allow_plaintext_loopback:
        return [Problem("Security", "With security 'None' the password travels unencrypted. That is only "
                        "allowed to a server on this computer (such as a local relay), and only if you confirm it.")]
    return []


def needs_plaintext_confirmation(state: WizardState) -> bool:
    return (state.draft.security is Security.NONE and bool(state.draft.username.strip())
            and is_loopback(state.draft.host.strip()))
