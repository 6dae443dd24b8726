"""Input validation shared by the wizard pages, the CLI and the services.

Every function returns the normalised value or raises `InvalidInputError`, whose message is written
for the administrator ("Port must be a whole number from 1 to 65535"), never a stack trace.
"""

from __future__ import annotations

import ipaddress
import re


class InvalidInputError(ValueError):
    """A value the user typed is not acceptable; `field` names it, the message says why, and `expected`
    (when known) says what would have been accepted ("a whole number from 1 to 65535")."""

    def __init__(self, field: str, message: str, *, expected: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.expected = expected


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\r\n\x00]")


def reject_header_injection(field: str, value: str) -> str:
    """CR, LF or NUL in a header value would let it start a new header (RFC 5322 section 2.2)."""
    if _CONTROL.search(value):
        raise InvalidInputError(field, f"{field} must be a single line: line breaks are not allowed here.")
    return value


def validate_host(value: str, field: str = "host") -> str:
    reject_header_injection(field, value)
    host = value.strip().rstrip(".").lower()
    if not host:
        raise InvalidInputError(field, "Enter the server's host name, e.g. smtp.example.com.")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if len(host) > 253:
        raise InvalidInputError(field, "A host name is at most 253 characters long.")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInputError(field, f"'{value}' is not a valid host name.") from None
    if not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise InvalidInputError(field, f"'{value}' is not a valid host name (letters, digits, dots and hyphens only).")
    return host


def validate_port(value: int | str, field: str = "port") -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise InvalidInputError(field, "Port must be a whole number from 1 to 65535.") from None
    if not 1 <= port <= 65535:
        raise InvalidInputError(field, "Port must be a whole number from 1 to 65535.")
    return port


def validate_address(value: str, field: str = "address") -> str:
    """Syntax check only (no DNS): the address as email-validator normalises it."""
    reject_header_injection(field, value)
    text = value.strip()
    if not text:
        raise InvalidInputError(field, "Enter an e-mail address, e.g. support@example.com.")
    # imported here: it compiles its regular expressions on import (about 20 ms) and the first window needs none
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidInputError(field, f"'{text}' is not a valid e-mail address: {exc}") from None
    return str(result.normalized)


def validate_addresses(value: str, field: str = "address") -> list[str]:
    """A comma or semicolon separated list; empty items are ignored."""
    items = [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    return [validate_address(item, field) for item in items]


def validate_display_name(value: str, field: str = "display name") -> str:
    return reject_header_injection(field, value.strip())


def validate_guid_or_domain(value: str, field: str) -> str:
    """Azure tenant ids are a GUID or a verified domain (contoso.onmicrosoft.com); client ids are GUIDs."""
    text = value.strip()
    try:
        import uuid  # ~4 ms at import; only the Microsoft pages need it

        return str(uuid.UUID(text))
    except ValueError:
        pass
    if text.lower() in {"common", "organizations", "consumers"}:
        return text.lower()
    try:
        host = validate_host(text, field)
    except InvalidInputError:
        raise InvalidInputError(field, f"{field} must be a GUID (like 0a1b2c3d-...) or a domain name.") from None
    if "." not in host:
        raise InvalidInputError(field, f"{field} must be a GUID (like 0a1b2c3d-...) or a domain name.")
    return host


def validate_guid(value: str, field: str) -> str:
    try:
        import uuid

        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise InvalidInputError(field, f"{field} must be a GUID like 0a1b2c3d-4e5f-6789-abcd-ef0123456789.") from None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_https_url(field: str, value: str) -> str:
    """A URL that carries a token or a secret (an authority, a Graph endpoint, a webhook): https only, so
    nothing travels in clear (issue 12). Empty stays empty (the default applies)."""
    from urllib.parse import urlsplit

    text = value.strip()
    if not text:
        return ""
    try:
        host = urlsplit(text).hostname
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        host, scheme = None, ""
    if scheme != "https" or not host or any(c.isspace() or ord(c) < 32 for c in text):
        shown = repr(text) if len(text) <= 80 else repr(text[:77] + "...")
        raise InvalidInputError(field, f"{field} must be an https:// URL (it carries a token or secret, which is "
                                f"never sent over plain http), not {shown}.")
    return text
