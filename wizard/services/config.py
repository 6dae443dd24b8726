"""Profiles and settings (never secrets) as TOML in the data home.

`config.toml` is edited with tomlkit so that comments and keys a human added survive every
write; reading needs only the standard library's tomllib, so starting the app does not import tomlkit.
Secrets live in the keyring (see secrets.py); nothing in this module ever holds one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from wizard.services.model import Profile, check_fallback_names, validate_fallback
from wizard.services.private_files import make_private_dir, write_private_text
from wizard.services.validation import InvalidInputError

if TYPE_CHECKING:
    import tomlkit

CONFIG_FILE = "config.toml"


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

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> DeliverySettings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = parse_delivery_value(f.name, data[f.name])
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidInputError(f"delivery.{sorted(unknown)[0]}", f"Unknown setting delivery.{sorted(unknown)[0]}.")
        settings = cls(**values)
        if settings.retry_backoff_max_s < settings.retry_backoff_initial_s:
            raise InvalidInputError("delivery.retry_backoff_max_s",
                               "delivery.retry_backoff_max_s must be at least delivery.retry_backoff_initial_s.")
        return settings


_DELIVERY_MINIMUM = {"send_interval_ms": 0, "retry_backoff_initial_s": 0, "retry_backoff_max_s": 0,
                     "max_retry_time_s": 0, "retention_days": 1, "max_concurrent_connections": 1}


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


def parse_delivery_value(key: str, value: Any) -> bool | int:
    """Validate one `[delivery]` value (from TOML or from the command line), naming the key on error."""
    default = getattr(DeliverySettings, key, None)
    if default is None:
        raise InvalidInputError(f"delivery.{key}", f"Unknown setting delivery.{key}.")
    if isinstance(default, bool):
        return parse_bool(f"delivery.{key}", value)
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < _DELIVERY_MINIMUM[key]:
        raise InvalidInputError(f"delivery.{key}",
                           f"delivery.{key} must be a whole number >= {_DELIVERY_MINIMUM[key]}, not {value!r}.")
    return number


RELAY_TLS_MODES = ("starttls", "implicit")
# The relay's limits, each with its own reply (relay_smtp.py): (default, lowest, highest). Defaults as Postfix:
# smtpd_recipient_limit = 1000, anvil-style 50 connections, smtpd_timeout = 300 s (RFC 5321 4.5.3.2.7: >= 5 min).
RELAY_LIMITS = {"max_recipients": (1000, 1, 100_000), "max_connections": (50, 1, 10_000),
                "idle_timeout_s": (300, 1, 3600)}
DEFAULT_RELAY_LISTEN = "127.0.0.1:2525"
RELAY_USER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@+")


def parse_host_port(text: str) -> tuple[str, int]:
    """`127.0.0.1:2525` or `[::1]:2525` -> (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"The relay address must be HOST:PORT, e.g. 127.0.0.1:2525, not {text!r}.")
    return host.strip("[]"), int(port)


def format_host_port(host: str, port: int) -> str:
    """The inverse of `parse_host_port`: an IPv6 host gets its brackets back."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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
    max_recipients: int = RELAY_LIMITS["max_recipients"][0]  # per message: 452 4.5.3 beyond
    max_connections: int = RELAY_LIMITS["max_connections"][0]  # at the same time: 421 4.7.0 beyond
    idle_timeout_s: int = RELAY_LIMITS["idle_timeout_s"][0]  # no command for this long: 421 4.4.2, closed

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> RelaySettings:
        """Known keys are checked (the error names the key); keys this version does not know are left alone."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            if f.name == "users":
                users = data["users"]
                if not isinstance(users, list):
                    raise InvalidInputError("relay.users", "relay.users must be a list of user names.")
                values["users"] = tuple(validate_relay_user(str(u)) for u in users)
            elif f.name == "listen":
                values["listen"] = str(data["listen"])
            else:
                values[f.name] = parse_relay_value(f.name, data[f.name], check_files=False)
        return cls(**values)


def validate_relay_user(name: str) -> str:
    """A relay user name: 1-64 of letters, digits and `._-@+` (it is a keyring entry name and an SMTP login)."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or not set(cleaned) <= RELAY_USER_CHARACTERS:
        raise InvalidInputError("relay.users", f"{name!r} is not a valid relay user name: use 1-64 letters, "
                                "digits and . _ - @ +.")
    return cleaned


def parse_relay_value(key: str, value: Any, *, check_files: bool = True) -> bool | int | str:
    """Validate one `[relay]` value that `config set relay.<key>` may change, naming the key on error.

    Certificate and key paths are made absolute (the relay may run from another directory) and, when
    `check_files`, must exist; whether they load and are in date is checked when a remote relay starts.
    """
    name = f"relay.{key}"
    if key in {"enabled", "allow_remote"}:
        return parse_bool(name, value)
    if key in RELAY_LIMITS:
        _, lowest, highest = RELAY_LIMITS[key]
        text = str(value).strip()
        if isinstance(value, bool) or not (isinstance(value, int) or (text.isascii() and text.isdigit())) \
                or not lowest <= int(text) <= highest:
            raise InvalidInputError(name, f"{name} must be a whole number from {lowest} to {highest:,}, "
                                    f"not {value!r}.")
        return int(text)
    if key == "listen":
        try:
            parse_host_port(str(value).strip())
        except ValueError:
            raise InvalidInputError(name, f"{name} must be HOST:PORT, e.g. 127.0.0.1:2525, not {value!r}.") from None
        return str(value).strip()
    if key in {"tls_certificate", "tls_key"}:
        if not isinstance(value, str):
            raise InvalidInputError(name, f"{name} must be the path of a PEM file.")
        if not value.strip():
            return ""
        path = Path(value.strip()).expanduser()
        if check_files:
            path = path.resolve()
            if not path.is_file():
                raise InvalidInputError(name, f"{name}: the file {path} does not exist.")
        return str(path)
    if key == "tls_mode":
        text = str(value).strip().lower()
        if text not in RELAY_TLS_MODES:
            raise InvalidInputError(name, f"{name} must be starttls (port 587 style) or implicit (port 465 style), "
                                    f"not {value!r}.")
        return text
    if key == "users":
        raise InvalidInputError(name, "Relay users are managed with `mailwright relay user add|remove NAME` "
                                "(the password goes to the keyring).")
    raise InvalidInputError(name, f"Unknown setting {name}.")


@dataclass(frozen=True)
class Config:
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str = ""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    relay: RelaySettings = field(default_factory=RelaySettings)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, or the default one; `KeyError` with a readable message otherwise."""
        wanted = name or self.default_profile
        if not wanted:
            raise KeyError("No profile is configured yet: run the wizard or `mailwright profile add`.")
        try:
            return self.profiles[wanted]
        except KeyError:
            raise KeyError(f"There is no profile named '{wanted}'.") from None


def data_home() -> Path:
    override = os.environ.get("MAILWRIGHT_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("mailwright", appauthor=False))
    return make_private_dir(path)


class ConfigStore:
    """Reads and writes `config.toml`, keeping comments and unknown keys."""

    _lock = threading.Lock()

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or data_home()
        self.path = self.home / CONFIG_FILE

    def _read(self) -> dict[str, Any]:
        """The file as plain values ({} when there is none), for reading only."""
        if not self.path.exists():
            return {}
        import tomllib  # a first start has no file to parse

        return tomllib.loads(self.path.read_text(encoding="utf-8"))

    def _document(self) -> tomlkit.TOMLDocument:
        """The file as a tomlkit document that keeps comments and layout, for writing."""
        import tomlkit  # about 10 ms: only the writers need it, not the app's startup

        if not self.path.exists():
            return tomlkit.document()
        return tomlkit.parse(self.path.read_text(encoding="utf-8"))

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        import tomlkit

        make_private_dir(self.home)
        tmp = self.path.with_suffix(".toml.tmp")
        write_private_text(tmp, tomlkit.dumps(document))
        os.replace(tmp, self.path)

    def load(self) -> Config:
        document = self._read()
        profiles = {name: Profile.from_toml(name, data) for name, data in document.get("profiles", {}).items()}
        for profile in profiles.values():
            validate_fallback(profile.name, profile.fallback)
            check_fallback_names(profiles, profile)
        default = str(document.get("default_profile", ""))
        if default not in profiles:
            default = next(iter(profiles), "")
        relay = document.get("relay", {})
        return Config(profiles=profiles, default_profile=default,
                      delivery=DeliverySettings.from_toml(document.get("delivery", {})),
                      relay=RelaySettings.from_toml(relay if isinstance(relay, dict) else {}))

    def save_profile(self, profile: Profile) -> None:
        import tomlkit
        from tomlkit.items import Table

        with self._lock:
            document = self._document()
            profiles = document.get("profiles")
            if not isinstance(profiles, Table):
                profiles = tomlkit.table(is_super_table=True)
                document["profiles"] = profiles
            validate_fallback(profile.name, profile.fallback)
            check_fallback_names(set(profiles.keys()), profile)
            table = tomlkit.table()
            for key, value in profile.to_toml().items():
                table[key] = value
            profiles[profile.name] = table
            if not document.get("default_profile") or document["default_profile"] not in profiles:
                document["default_profile"] = profile.name
            self._write(document)

    def remove_profile(self, name: str) -> None:
        from tomlkit.items import Table

        with self._lock:
            document = self._document()
            profiles = document.get("profiles")
            if not isinstance(profiles, Table) or name not in profiles:
                raise KeyError(f"There is no profile named '{name}'.")
            del profiles[name]
            for other in profiles.values():  # nobody falls back to a profile that is gone
                if isinstance(other, Table) and name in other.get("fallback", []):
                    other["fallback"] = [n for n in other["fallback"] if n != name]
            if document.get("default_profile") == name:
                remaining = list(profiles.keys())
                if remaining:
                    document["default_profile"] = remaining[0]
                else:
                    del document["default_profile"]
            self._write(document)

    def set_default(self, name: str) -> None:
        with self._lock:
            document = self._document()
            if name not in document.get("profiles", {}):
                raise KeyError(f"There is no profile named '{name}'.")
            document["default_profile"] = name
            self._write(document)

    def get(self, key: str) -> Any:
        section, _, name = key.partition(".")
        config = self.load()
        if section == "delivery" and hasattr(config.delivery, name):
            return getattr(config.delivery, name)
        if key == "default_profile":
            return config.default_profile
        if section == "relay" and name in {f.name for f in fields(RelaySettings)}:
            value = getattr(config.relay, name)
            return list(value) if isinstance(value, tuple) else value
        raise InvalidInputError(key, f"Unknown setting {key}.")

    def table_values(self, table: str) -> dict[str, Any]:
        """A top-level table's keys as plain values ({} when the table is missing)."""
        found = self._read().get(table, {})
        return found if isinstance(found, dict) else {}

    def set_table_value(self, table: str, key: str, value: str | int | bool | list[str]) -> None:
        """Set one key of a top-level table such as `[relay]`, creating the table; comments and other keys stay.
        Profiles and `[delivery]` have their own validated methods."""
        if table in {"profiles", "delivery"} or not table or not key:
            raise InvalidInputError(f"{table}.{key}", f"Use the {table} settings' own commands for {table}.{key}.")
        import tomlkit
        from tomlkit.items import Table

        with self._lock:
            document = self._document()
            current = document.get(table)
            if not isinstance(current, Table):
                current = tomlkit.table()
                document[table] = current
            current[key] = value
            self._write(document)

    def set(self, key: str, value: str) -> bool | int | str:
        import tomlkit
        from tomlkit.items import Table

        section, _, name = key.partition(".")
        if section == "relay" and name:
            relay_value = parse_relay_value(name, value)
            self.set_table_value("relay", name, relay_value)
            return relay_value
        if section != "delivery" or not name:
            raise InvalidInputError(key, f"Unknown setting {key} (settings are delivery.<key> and relay.<key>).")
        parsed = parse_delivery_value(name, value)
        with self._lock:
            document = self._document()
            delivery = document.get("delivery")
            if not isinstance(delivery, Table):
                delivery = tomlkit.table()
                document["delivery"] = delivery
            delivery[name] = parsed
            DeliverySettings.from_toml(document["delivery"].unwrap())
            self._write(document)
        return parsed
