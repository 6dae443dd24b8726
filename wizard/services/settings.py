"""The settings registry: every `[delivery]`, `[relay]` and `[alerts]` key with its type, range, help and default.

One table drives loading config.toml, `mailwright config get|set`, `mailwright config --help` and the pages'
validation, so a key's rule is written once. The typed tables (`DeliverySettings`, ...) hold the defaults;
the registry reads them from there rather than repeating them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from wizard.services.validation import InvalidInputError, validate_address, validate_https_url

RELAY_TLS_MODES = ("starttls", "implicit")
DEFAULT_RELAY_LISTEN = "127.0.0.1:2525"
RELAY_USER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@+")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")


@dataclass(frozen=True)
class DeliverySettings:
    """The `[delivery]` table; keys and defaults are a contract (see README)."""

    enabled: bool = True
    send_pending_at_startup: bool = True
    send_interval_ms: int = 0
    retry_backoff_initial_s: int = 60
    retry_backoff_max_s: int = 3600
    max_retry_time_s: int = 172800
    retention_days: int = 30
    max_concurrent_connections: int = 3

    def __post_init__(self) -> None:
        if self.retry_backoff_max_s < self.retry_backoff_initial_s:
            raise InvalidInputError("delivery.retry_backoff_max_s",
                                    "delivery.retry_backoff_max_s must be at least delivery.retry_backoff_initial_s.")

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> DeliverySettings:
        """The `[delivery]` table checked by the registry; the error names the key."""
        table: DeliverySettings = parse_table("delivery", data)
        return table


@dataclass(frozen=True)
class RelaySettings:
    """The `[relay]` table. The TLS files and users matter only for a non-loopback relay (`serve --allow-remote`);
    user names live here, their passwords only in the keyring (`mailwright relay user add`)."""

    enabled: bool = False
    listen: str = DEFAULT_RELAY_LISTEN
    allow_remote: bool = False  # the app's --allow-remote: a network `listen` address (then TLS + AUTH)
    tls_certificate: str = ""
    tls_key: str = ""
    tls_mode: str = "starttls"
    users: tuple[str, ...] = ()
    # Shared machines (terminal servers, several services on one host): the loopback relay also asks for a relay
    # user's sign-in (AUTH PLAIN/LOGIN without TLS, loopback only) and answers 530 to MAIL without it.
    require_auth: bool = False
    # The relay's limits, each with its own reply (relay_smtp.py). Defaults as Postfix: smtpd_recipient_limit =
    # 1000, anvil-style 50 connections, smtpd_timeout = 300 s (RFC 5321 4.5.3.2.7: at least 5 minutes).
    max_recipients: int = 1000  # per message: 452 4.5.3 beyond
    max_connections: int = 50  # at the same time: 421 4.7.0 beyond
    idle_timeout_s: int = 300  # no byte from the client for this long: 421 4.4.2, closed

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> RelaySettings:
        """The `[relay]` table checked by the registry; the error names the key."""
        table: RelaySettings = parse_table("relay", data)
        return table


@dataclass(frozen=True)
class AlertSettings:
    """The `[alerts]` table (see alerts.py): nothing is sent unless email_to or webhook_url is set."""

    email_to: str = ""
    via_profile: str = ""
    webhook_url: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.email_to or self.webhook_url)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> AlertSettings:
        """The `[alert]` table checked by the registry; the error names the key."""
        table: AlertSettings = parse_table("alerts", data)
        return table


@dataclass(frozen=True)
class ServiceSettings:
    """The `[service]` table: what `mailwright serve` adds when it runs as a service."""

    metrics: str = ""  # HOST:PORT for Prometheus /metrics and /healthz ("" = off; `serve --metrics` overrides)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> ServiceSettings:
        table: ServiceSettings = parse_table("service", data)
        return table


TABLES: dict[str, type[DeliverySettings] | type[RelaySettings] | type[AlertSettings] | type[ServiceSettings]] = {
    "delivery": DeliverySettings, "relay": RelaySettings, "alerts": AlertSettings, "service": ServiceSettings}
# Keys this version does not know: an error in [delivery] and [alerts] (a typo must not pass silently); left
# alone in [relay], which a newer version may have extended.
TABLES_KEEPING_UNKNOWN_KEYS = frozenset({"relay"})

# (key, value, check_files) -> the normalised value, or InvalidInputError naming the key
Normalise = Callable[[str, Any, bool], Any]


@dataclass(frozen=True)
class Setting:
    """One key of the registry. `set_with` set: `config set` refuses it and names the command to use instead."""

    key: str
    help: str
    kind: type[bool] | type[int] | type[str] | type[tuple[str, ...]]
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    normalise: Normalise | None = None
    set_with: str = ""
    says: str = ""  # what the value must be, in words, when the generic wording is not clear enough

    @property
    def table(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]

    @property
    def default(self) -> Any:
        return next(f.default for f in fields(TABLES[self.table]) if f.name == self.name)

    @property
    def expected(self) -> str:
        if self.says:
            return self.says
        if self.kind is bool:
            return "true or false"
        if self.kind is int:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is tuple:
            return "a list of text values"
        return "text"

    def parse(self, value: Any, *, typed: bool, check_files: bool = False) -> Any:
        """The checked value. `typed`: it comes from TOML and must already have the right type; otherwise it
        is text typed on a command line (`true`, `500`)."""
        parsed = self._parse_type(value, typed)
        if self.kind is int and not (self._low <= parsed <= self._high):
            raise self.wrong(value)
        if self.choices and parsed not in self.choices:
            raise self.wrong(value)
        if self.normalise is None:
            return parsed
        try:
            return self.normalise(self.key, parsed, check_files)
        except InvalidInputError as exc:
            if self.key in str(exc):
                raise
            raise InvalidInputError(self.key, f"{self.key}: {exc}", expected=exc.expected) from None

    @property
    def _low(self) -> int:
        return self.minimum if self.minimum is not None else 0

    @property
    def _high(self) -> int:
        return self.maximum if self.maximum is not None else 0

    def _parse_type(self, value: Any, typed: bool) -> Any:
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if not typed:
                return parse_bool(self.key, value)
        elif self.kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if not typed and _WHOLE_NUMBER.fullmatch(str(value).strip()):
                return int(str(value).strip())
        elif self.kind is tuple:
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return tuple(value)
        elif isinstance(value, str):
            return value.strip().lower() if self.choices else value.strip()
        raise self.wrong(value)

    def wrong(self, value: Any) -> InvalidInputError:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return InvalidInputError(self.key, f"{self.key} must be {self.expected}, not {shown}.",
                                 expected=self.expected)


def parse_bool(name: str, value: Any) -> bool:
    """A TOML boolean, or true/false, yes/no, on/off, 1/0 typed on the command line."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise InvalidInputError(name, f"{name} must be true or false, not {value!r}.")


def parse_host_port(text: str) -> tuple[str, int]:
    """`127.0.0.1:2525` or `[::1]:2525` -> (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or len(port) > 5 or not 0 < int(port) < 65536:
        raise ValueError(f"The relay address must be HOST:PORT, e.g. 127.0.0.1:2525, not {text!r}.")
    return host.strip("[]"), int(port)


def format_host_port(host: str, port: int) -> str:
    """The inverse of `parse_host_port`: an IPv6 host gets its brackets back."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def validate_relay_user(name: str) -> str:
    """A relay user name: 1-64 of letters, digits and `._-@+` (it is a keyring entry name and an SMTP login)."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or not set(cleaned) <= RELAY_USER_CHARACTERS:
        raise InvalidInputError("relay.users", f"{name!r} is not a valid relay user name: use 1-64 letters, "
                                "digits and . _ - @ +.")
    return cleaned


def _listen(key: str, value: str, check_files: bool) -> str:
    try:
        parse_host_port(value)
    except ValueError:
        raise InvalidInputError(key, f"{key} must be HOST:PORT, e.g. 127.0.0.1:2525, not {value!r}.") from None
    return value


def _pem_file(key: str, value: str, check_files: bool) -> str:
    """Made absolute (the relay may run from another directory); when `check_files`, it must exist."""
    if not value:
        return ""
    try:
        path = Path(value).expanduser()
        found = path.resolve().is_file() if check_files else True
    except (RuntimeError, ValueError, OSError) as exc:  # ~nobody, a NUL byte, a name too long
        raise InvalidInputError(key, f"{key} must be the path of a PEM file, not {value!r} ({exc}).") from None
    if not found:
        raise InvalidInputError(key, f"{key}: the file {path.resolve()} does not exist.")
    return str(path.resolve() if check_files else path)


def _relay_users(key: str, value: tuple[str, ...], check_files: bool) -> tuple[str, ...]:
    return tuple(validate_relay_user(user) for user in value)


def _address(key: str, value: str, check_files: bool) -> str:
    return validate_address(value, key) if value else ""


def _profile_name(key: str, value: str, check_files: bool) -> str:
    from wizard.services.model import validate_profile_name

    return validate_profile_name(value, key) if value else ""


def _optional_listen(key: str, value: str, check_files: bool) -> str:
    return _listen(key, value, check_files) if value else ""


def _https(key: str, value: str, check_files: bool) -> str:
    return validate_https_url(key, value)


_DAY = 86_400
REGISTRY: tuple[Setting, ...] = (
    Setting("delivery.enabled", "Send queued mail in the background (false: mail only queues).", bool),
    Setting("delivery.send_pending_at_startup", "At start, send mail queued while Mailwright was closed "
            "(false: hold it until released).", bool),
    Setting("delivery.send_interval_ms", "Pause between two messages of one profile, in milliseconds "
            "(0 = none; at most one hour).", int, 0, 3_600_000),
    Setting("delivery.retry_backoff_initial_s", "First wait before retrying a temporary failure, in seconds "
            "(doubles each attempt).", int, 0, _DAY),
    Setting("delivery.retry_backoff_max_s", "Longest wait between two retries, in seconds (at least "
            "retry_backoff_initial_s).", int, 0, 7 * _DAY),
    Setting("delivery.max_retry_time_s", "Give a message up after retrying this long, in seconds "
            "(at most 30 days).", int, 0, 30 * _DAY),
    Setting("delivery.retention_days", "Keep sent and failed messages this many days, then purge them.",
            int, 1, 3650),
    Setting("delivery.max_concurrent_connections", "Accounts (profiles) delivering at the same time, one "
            "connection each.",
            int, 1, 100),
    Setting("relay.enabled", "Run the loopback SMTP relay with the app (`mailwright serve` always runs it).", bool),
    Setting("relay.listen", "The relay's address, HOST:PORT (e.g. 127.0.0.1:2525).", str, normalise=_listen),
    Setting("relay.allow_remote", "Listen on a network address (then TLS and AUTH are required).", bool),
    Setting("relay.tls_certificate", "PEM certificate (chain) for a remote relay.", str, normalise=_pem_file),
    Setting("relay.tls_key", "PEM private key for a remote relay.", str, normalise=_pem_file),
    Setting("relay.tls_mode", "TLS for a remote relay: starttls (port 587 style) or implicit (port 465 style).",
            str, choices=RELAY_TLS_MODES, says="starttls (port 587 style) or implicit (port 465 style)"),
    Setting("relay.users", "Relay login names (passwords only in the keyring).", tuple, normalise=_relay_users,
            set_with="Relay users are managed with `mailwright relay user add|remove NAME` (the password goes "
            "to the keyring)."),
    Setting("relay.require_auth", "Loopback relay: require a relay user's sign-in too (shared machines; "
            "AUTH without TLS on loopback only).", bool),
    Setting("relay.max_recipients", "Recipients one message may have; each one beyond gets 452 4.5.3.", int,
            1, 100_000),
    Setting("relay.max_connections", "Client connections at the same time; one beyond gets 421 4.7.0.", int,
            1, 10_000),
    Setting("relay.idle_timeout_s", "Seconds a client may send nothing (no command, no DATA bytes) before 421 4.4.2 "
            "and disconnection.", int, 1, 3600),
    Setting("service.metrics", "HOST:PORT where `mailwright serve` serves Prometheus /metrics and /healthz "
            "(empty: off; a network address needs --allow-remote).", str, normalise=_optional_listen),
    Setting("alerts.email_to", "Who gets an alert mail when a profile starts failing (empty: no alert mails).",
            str, normalise=_address),
    Setting("alerts.via_profile", "The profile that sends alert mails (never the failing one; empty: the "
            "default profile).", str, normalise=_profile_name),
    Setting("alerts.webhook_url", "An https:// URL that receives each alert as JSON (POST).", str,
            normalise=_https),
)
SETTINGS: dict[str, Setting] = {setting.key: setting for setting in REGISTRY}


def setting(key: str) -> Setting:
    """The registry entry for `key`, or `InvalidInputError` listing where the keys are documented."""
    try:
        return SETTINGS[key]
    except KeyError:
        raise InvalidInputError(key, f"Unknown setting {key} (`mailwright config --help` lists every key).") from None


def parse_table(table: str, data: Mapping[str, Any]) -> Any:
    """A typed table (`DeliverySettings`, ...) from its TOML values; `InvalidInputError` names the first bad key."""
    cls = TABLES[table]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown and table not in TABLES_KEEPING_UNKNOWN_KEYS:
        raise InvalidInputError(f"{table}.{unknown[0]}", f"Unknown setting {table}.{unknown[0]} "
                                "(`mailwright config --help` lists every key).")
    values = {name: SETTINGS[f"{table}.{name}"].parse(data[name], typed=True) for name in known if name in data}
    return cls(**values)


def help_lines() -> list[str]:
    """`mailwright config --help`: every key, its type and range, its default and what it does."""
    lines = []
    for entry in REGISTRY:
        default = entry.default
        shown = str(default).lower() if isinstance(default, bool) else ", ".join(default) if isinstance(
            default, tuple) else default
        lines.append(f"  {entry.key}  ({entry.expected}; default: {shown if shown != '' else 'empty'})")
        lines.append(f"      {entry.help}")
    return lines
