"""The domain types: a sending account (`Profile`) and the enums it is made of.

Pure values with no I/O: the config file (config.py), the wizard's pages, the transports and the CLI
all speak these types, so they live apart from the module that persists them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from wizard.services.validation import (
    InvalidInputError,
    validate_address,
    validate_display_name,
    validate_host,
    validate_https_url,
    validate_port,
)

# A profile name becomes a TOML key, a keyring entry and part of file names (tokens/NAME.bin): no separators,
# no leading dot, nothing a path could be made of (issue 12).
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PROFILE_NAME_RULE = ("A profile name is one word: 1 to 64 letters, digits, dots, hyphens and underscores, starting "
                     "with a letter or digit.")
# The profile's URLs that receive a token or a secret: https only.
SECRET_URL_FIELDS = ("authority", "graph_endpoint")


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
        validate_profile_name(self.name)
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
        authority = validate_https_url("authority", self.authority)
        graph_endpoint = validate_https_url("graph endpoint", self.graph_endpoint)
        return replace(self, from_address=from_address, display_name=display_name, host=host, port=port,
                       postmaster=postmaster, fallback=fallback, authority=authority, graph_endpoint=graph_endpoint)

    def to_toml(self) -> dict[str, Any]:
        data = asdict(self)
        del data["name"]
        return {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, StrEnum) else v)
                for k, v in data.items() if v != _DEFAULTS[k]}

    @classmethod
    def from_toml(cls, name: str, data: dict[str, Any]) -> Profile:
        """A profile from its `[profiles.NAME]` table: every known key type-checked, the rules that protect
        the file system and the secrets applied; `InvalidInputError` names the dotted key and what it expects."""
        validate_profile_name(name, f"profiles.{name}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in _DEFAULTS and key != "name":
                values[key] = _typed(f"profiles.{name}.{key}", value, _DEFAULTS[key])
        for key in SECRET_URL_FIELDS:
            if key in values:
                values[key] = validate_https_url(f"profiles.{name}.{key}", values[key])
        for key, low, high in (("port", 1, 65535), ("priority", 1, 5)):
            if key in values and not low <= values[key] <= high:
                raise InvalidInputError(f"profiles.{name}.{key}", f"profiles.{name}.{key} must be a whole number "
                                        f"from {low} to {high}, not {values[key]}.")
        if "timeout_s" in values and not 0 < values["timeout_s"] <= MAX_TIMEOUT_S:
            raise InvalidInputError(f"profiles.{name}.timeout_s", f"profiles.{name}.timeout_s must be more than 0 "
                                    f"and at most {MAX_TIMEOUT_S:g} seconds.")
        return cls(name=name, **values)


MAX_TIMEOUT_S = 600.0


def _typed(key: str, value: Any, default: Any) -> Any:
    """`value` from TOML if it has the type of the field's default, else `InvalidInputError` naming the key."""
    if isinstance(default, StrEnum):
        enum = type(default)
        if isinstance(value, str) and value in {e.value for e in enum}:
            return enum(value)
        expected = "one of " + ", ".join(e.value for e in enum)
    elif isinstance(default, bool):
        if isinstance(value, bool):
            return value
        expected = "true or false"
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        expected = "a whole number"
    elif isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        expected = "a number"
    elif isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        expected = "a list of text values"
    else:
        if isinstance(value, str):
            return value
        expected = "text"
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise InvalidInputError(key, f"{key} must be {expected}, not {shown}.", expected=expected)


def is_profile_name(name: str) -> bool:
    return PROFILE_NAME.fullmatch(name) is not None


def validate_profile_name(name: str, field: str = "name") -> str:
    """`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`: the name is used in file names and keyring entries, never as a path."""
    if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:37] + "..."
        raise InvalidInputError(field, f"{shown} is not a valid profile name. {PROFILE_NAME_RULE}")
    return name


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
