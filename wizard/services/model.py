"""The domain types: a sending account (`Profile`) and the enums it is made of.

Pure values with no I/O: the config file (config.py), the wizard's pages, the transports and the CLI
all speak these types, so they live apart from the module that persists them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from wizard.services.validation import (
    InvalidInputError,
    validate_address,
    validate_display_name,
    validate_host,
    validate_port,
)


class Security(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class AuthMode(StrEnum):
    PASSWORD = "password"
    OAUTH_INTERACTIVE = "oauth-interactive"
    OAUTH_DEVICE = "oauth-device"
    CLIENT_SECRET = "client-secret"
    CLIENT_CERTIFICATE = "client-certificate"

    @property
    def is_app_only(self) -> bool:
        """Client credentials (secret or certificate): the app signs in as itself, no user is involved."""
        return self in {AuthMode.CLIENT_SECRET, AuthMode.CLIENT_CERTIFICATE}


class ProviderKind(StrEnum):
    SMTP = "smtp"
    GMAIL = "gmail"
    M365_SMTP = "m365-smtp"
    GRAPH = "graph"


DEFAULT_PORTS = {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}


@dataclass(frozen=True)
class Profile:
    """One sending account: how to reach the provider and what the application may send as."""

    name: str
    provider: ProviderKind = ProviderKind.SMTP
    from_address: str = ""
    display_name: str = ""
    host: str = ""
    port: int = 587
    security: Security = Security.STARTTLS
    username: str = ""
    auth: AuthMode = AuthMode.PASSWORD
    ca_file: str = ""
    # security = none sends credentials in clear: only to loopback, and only when the admin said so.
    allow_plaintext_loopback: bool = False
    preset: str = ""
    timeout_s: float = 30.0
    # OAuth / Microsoft / Google
    tenant: str = ""
    client_id: str = ""
    authority: str = ""
    graph_endpoint: str = ""
    certificate_path: str = ""
    certificate_thumbprint: str = ""
    client_secret_expires: str = ""
    save_to_sent_items: bool = True
    # Sender settings and policy
    priority: int = 3
    authorized_domains: tuple[str, ...] = ()
    authorized_senders: tuple[str, ...] = ()
    unauthorized_action: str = "block"
    postmaster: str = ""
    force_postmaster_sender: bool = False
    sending_ips: tuple[str, ...] = ()
    # Profiles tried in this order when this one fails with a non-permanent or auth error (issue 7).
    fallback: tuple[str, ...] = ()

    @property
    def login_name(self) -> str:
        return self.username or self.from_address

    def validated(self) -> Profile:
        """The same profile with normalised values, or `InvalidInputError` naming the bad field."""
        if not self.name.strip() or any(c in self.name for c in "\r\n\"'[]."):
            raise InvalidInputError("name", "A profile name is a single word (letters, digits, - and _).")
        from_address = validate_address(self.from_address, "from address")
        display_name = validate_display_name(self.display_name)
        host = self.host
        if self.provider is not ProviderKind.GRAPH:
            host = validate_host(self.host)
        port = validate_port(self.port)
        if not 1 <= self.priority <= 5:
            raise InvalidInputError("priority", "Priority is 1 (very high) to 5 (very low).")
        if self.unauthorized_action not in {"block", "alert"}:
            raise InvalidInputError("unauthorized_action", "unauthorized_action is 'block' or 'alert'.")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise InvalidInputError("ca file", f"The CA file {self.ca_file} does not exist.")
        postmaster = validate_address(self.postmaster, "postmaster") if self.postmaster else ""
        fallback = validate_fallback(self.name, self.fallback)
        return replace(self, from_address=from_address, display_name=display_name, host=host, port=port,
                       postmaster=postmaster, fallback=fallback)

    def to_toml(self) -> dict[str, Any]:
        data = asdict(self)
        del data["name"]
        return {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, StrEnum) else v)
                for k, v in data.items() if v != _DEFAULTS[k]}

    @classmethod
    def from_toml(cls, name: str, data: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for key, enum in (("provider", ProviderKind), ("security", Security), ("auth", AuthMode)):
            if key in values:
                try:
                    values[key] = enum(values[key])
                except ValueError:
                    choices = ", ".join(e.value for e in enum)
                    raise InvalidInputError(key, f"profile {name}: {key} must be one of {choices}.") from None
        for key in ("authorized_domains", "authorized_senders", "sending_ips", "fallback"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(name=name, **values)


_DEFAULTS = {f.name: f.default for f in fields(Profile)}


def validate_fallback(name: str, fallback: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Normalise a fallback list: no self-reference, no duplicates (existence is checked against the store)."""
    names = tuple(str(n).strip() for n in fallback if str(n).strip())
    if name in names:
        raise InvalidInputError("fallback", f"Profile '{name}' cannot be its own fallback.")
    if len(set(names)) != len(names):
        raise InvalidInputError("fallback", f"Profile '{name}' lists the same fallback profile twice.")
    return names


def check_fallback_names(profiles: dict[str, Profile] | set[str], profile: Profile) -> None:
    unknown = [n for n in profile.fallback if n not in profiles]
    if unknown:
        raise InvalidInputError("fallback", f"Profile '{profile.name}' falls back to '{unknown[0]}', "
                                "which is not a configured profile.")
