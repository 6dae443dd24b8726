"""Profiles and settings (never secrets) as TOML in the data home: one loader, one locked writer.

`config.toml` is edited with tomlkit so that comments and keys a human added survive every
write; reading needs only the standard library's tomllib, so starting the app does not import tomlkit.
Every read-modify-write holds an exclusive lock on `config.toml.lock` and ends in an atomic replace, so
parallel `mailwright` processes never lose each other's changes. What a key may hold is the settings
registry's business (settings.py); what a profile holds is the model's (model.py).
Secrets live in the keyring (see secrets.py); nothing in this module ever holds one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.services.config_error import ConfigError, line_of, syntax_error
from wizard.services.file_lock import exclusive_lock
from wizard.services.home import CONFIG_FILE as CONFIG_FILE
from wizard.services.home import data_home_path
from wizard.services.model import Profile, check_fallback_names, validate_fallback, validate_profile_name
from wizard.services.private_files import make_private_dir, write_private_text
from wizard.services.relay_users import RelayUser
from wizard.services.settings import (
    AlertSettings,
    DeliverySettings,
    RelaySettings,
    ServiceSettings,
    parse_table,
    setting,
)
from wizard.services.validation import InvalidInputError

if TYPE_CHECKING:
    import tomlkit

log = logging.getLogger(__name__)

TABLE_NAMES = ("delivery", "relay", "alerts", "service")


@dataclass(frozen=True)
class Config:
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str = ""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    # Every name in [relay] users, with its [relay_users.NAME] attributes (defaults when it has none).
    relay_users: dict[str, RelayUser] = field(default_factory=dict)

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
    return make_private_dir(data_home_path())


def profile_file(folder: str, name: str, suffix: str, home: Path | None = None) -> Path:
    """`<data home>/<folder>/<name><suffix>` for a valid profile name, checked to stay inside the data home
    once resolved (a name is never a path: `profile remove ../x` must not reach outside)."""
    validate_profile_name(name)
    root = (home or data_home()).resolve()
    path = (root / folder / f"{name}{suffix}").resolve()
    if not path.is_relative_to(root / folder):
        raise InvalidInputError("name", f"The profile name {name!r} would lead outside the data home.")
    return path


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class ConfigStore:
    """Reads and writes `config.toml`, keeping comments and unknown keys."""

    _lock = threading.Lock()  # the file lock serialises processes; this, threads that share one store

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or data_home()
        self.path = self.home / CONFIG_FILE
        self.tmp_path = self.home / f"{CONFIG_FILE}.tmp"
        self.lock_path = self.home / f"{CONFIG_FILE}.lock"

    # Reading

    def _text(self) -> str | None:
        """The file's text (None when there is none); `ConfigError` naming the file when it cannot be read."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise ConfigError(self.path, "this is a directory, not a file; move it away.") from None
        except OSError as exc:
            raise ConfigError(self.path, f"cannot be read ({exc.strerror or exc}).") from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ConfigError(self.path, f"is not UTF-8 text (byte {exc.start + 1} cannot be decoded); "
                              "the file is damaged or not a config file.", line=line) from None

    def _parse(self, text: str) -> dict[str, Any]:
        import tomllib  # a first start has no file to parse

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise syntax_error(self.path, text, str(exc)) from None

    def _read(self) -> dict[str, Any]:
        """The file as plain values ({} when there is none), for reading only."""
        text = self._text()
        return {} if text is None else self._parse(text)

    def _located(self, exc: InvalidInputError, text: str) -> ConfigError:
        """A value error from the registry or the model, placed in the file."""
        return ConfigError(self.path, str(exc), key=exc.field, line=line_of(text, exc.field),
                           expected=exc.expected)

    def _table(self, document: dict[str, Any], name: str) -> dict[str, Any]:
        found = document.get(name, {})
        if not isinstance(found, dict):
            raise InvalidInputError(name, f"{name} must be a table ([{name}] with its keys), not {found!r}.",
                                    expected="a table")
        return found

    def load(self) -> Config:
        """The whole configuration, checked: `ConfigError` names the file, the line and the key at fault."""
        self._remove_stale_tmp()
        text = self._text()
        if text is None:
            return Config()
        document = self._parse(text)
        try:
            profiles = self._profiles(document)
            default = document.get("default_profile", "")
            if not isinstance(default, str):
                raise InvalidInputError("default_profile", "default_profile must be text (a profile name).",
                                        expected="text")
            tables = {name: parse_table(name, self._table(document, name)) for name in TABLE_NAMES}
            attributes = self._table(document, "relay_users")
            relay_users = {name: RelayUser.from_toml(name, attributes.get(name, {})) for name in tables["relay"].users}
        except InvalidInputError as exc:
            raise self._located(exc, text) from None
        if default not in profiles:
            default = next(iter(profiles), "")
        return Config(profiles=profiles, default_profile=default, relay_users=relay_users, **tables)

    def _profiles(self, document: dict[str, Any]) -> dict[str, Profile]:
        tables = self._table(document, "profiles")
        profiles = {}
        for name, data in tables.items():
            if not isinstance(data, dict):
                raise InvalidInputError(f"profiles.{name}", f"profiles.{name} must be a table ([profiles.{name}] "
                                        f"with its keys), not {data!r}.", expected="a table")
            profiles[name] = Profile.from_toml(name, data)
        for profile in profiles.values():
            validate_fallback(profile.name, profile.fallback)
            check_fallback_names(profiles, profile)
        return profiles

    def load_table(self, name: str) -> Any:
        """One of `[delivery]`, `[relay]`, `[alerts]` on its own (a problem elsewhere in the file does not
        matter to it), with the same checks and errors as `load`."""
        text = self._text()
        if text is None:
            return parse_table(name, {})
        try:
            return parse_table(name, self._table(self._parse(text), name))
        except ConfigError:
            raise
        except InvalidInputError as exc:
            raise self._located(exc, text) from None

    def get(self, key: str) -> Any:
        """A setting's current value (its default when unset) by dotted key, e.g. `delivery.retention_days`."""
        config = self.load()
        if key == "default_profile":
            return config.default_profile
        section, _, rest = key.partition(".")
        if section == "profiles":
            name, _, attribute = rest.partition(".")
            profile = config.profile(name) if name in config.profiles else None
            values = asdict(profile) if profile else {}
            if profile is None or attribute not in values or attribute == "name":
                raise InvalidInputError(key, f"Unknown setting {key} (see `mailwright profile show NAME`).")
            value = values[attribute]
            return _plain(str(value) if hasattr(value, "value") else value)
        entry = setting(key)
        return _plain(getattr(getattr(config, entry.table), entry.name))

    def table_values(self, table: str) -> dict[str, Any]:
        """A top-level table's keys as plain values ({} when the table is missing)."""
        found = self._read().get(table, {})
        return found if isinstance(found, dict) else {}

    # Writing: every change is a read-modify-write under the file lock, ending in an atomic replace

    @contextmanager
    def _editing(self) -> Iterator[tomlkit.TOMLDocument]:
        """The current file as a tomlkit document (comments and layout kept), written back on success."""
        import tomlkit  # about 10 ms: only the writers need it, not the app's startup

        make_private_dir(self.home)
        with self._lock, exclusive_lock(self.lock_path):
            self._remove_stale_tmp(locked=True)
            text = self._text()
            if text is None:
                document = tomlkit.document()
            else:
                self._parse(text)  # tomllib's errors name the line and column; tomlkit's are less helpful
                document = tomlkit.parse(text)
            yield document
            self._write(document)

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        import tomlkit

        make_private_dir(self.home)
        write_private_text(self.tmp_path, tomlkit.dumps(document))  # 0600 from its first byte
        os.replace(self.tmp_path, self.path)

    def _remove_stale_tmp(self, *, locked: bool = False) -> None:
        """A `config.toml.tmp` nobody is writing is what a writer killed mid-write left behind."""
        if not self.tmp_path.exists():
            return
        try:
            if locked:
                self.tmp_path.unlink(missing_ok=True)
            else:
                with self._lock, exclusive_lock(self.lock_path):  # a writer in progress finishes first
                    self.tmp_path.unlink(missing_ok=True)
        except OSError as exc:  # a read-only data home: reading still works
            log.debug("Cannot remove %s: %s", self.tmp_path, exc)
            return
        log.info("Removed %s, left over from an interrupted write.", self.tmp_path)

    def save_profile(self, profile: Profile) -> None:
        import tomlkit
        from tomlkit.items import Table

        validate_profile_name(profile.name)
        with self._editing() as document:
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

    def remove_profile(self, name: str) -> None:
        from tomlkit.items import Table

        validate_profile_name(name)
        with self._editing() as document:
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

    def set_default(self, name: str) -> None:
        validate_profile_name(name)
        with self._editing() as document:
            profiles = document.get("profiles", {})
            if not isinstance(profiles, dict) or name not in profiles:
                raise KeyError(f"There is no profile named '{name}'.")
            document["default_profile"] = name

    def save_relay_user(self, user: RelayUser) -> None:
        """Add or update a relay user: the name in `[relay] users`, the attributes in `[relay_users.NAME]`."""
        import tomlkit
        from tomlkit.items import Table

        with self._editing() as document:
            relay = document.get("relay")
            if not isinstance(relay, Table):
                relay = tomlkit.table()
                document["relay"] = relay
            names = [str(name) for name in relay.get("users", [])]
            if user.name not in names:
                relay["users"] = [*names, user.name]
            parse_table("relay", relay.unwrap())
            tables = document.get("relay_users")
            if not isinstance(tables, Table):
                tables = tomlkit.table(is_super_table=True)
                document["relay_users"] = tables
            table = tomlkit.table()
            for key, value in user.to_toml().items():
                table[key] = value
            tables[user.name] = table

    def remove_relay_user(self, name: str) -> bool:
        """Forget a relay user's name and attributes; False when there was no such user."""
        from tomlkit.items import Table

        with self._editing() as document:
            relay, tables = document.get("relay"), document.get("relay_users")
            names = [str(n) for n in relay.get("users", [])] if isinstance(relay, Table) else []
            known = name in names or (isinstance(tables, Table) and name in tables)
            if isinstance(relay, Table) and name in names:
                relay["users"] = [n for n in names if n != name]
            if isinstance(tables, Table) and name in tables:
                del tables[name]
        return known

    def set_table_value(self, table: str, key: str, value: str | int | bool | list[str]) -> None:
        """Set one already-typed key of `[relay]` or `[alerts]` (the pages, `relay user add`), checked by the
        registry; comments and other keys stay. Profiles and `[delivery]` have their own methods."""
        if table not in {"relay", "alerts"} or not key:
            raise InvalidInputError(f"{table}.{key}", f"Use the {table} settings' own commands for {table}.{key}.")
        entry = setting(f"{table}.{key}")
        self._store(entry.table, entry.name, _plain(entry.parse(value, typed=True)))

    def set(self, key: str, value: str) -> Any:
        """`mailwright config set KEY VALUE`: the text checked by the registry, stored, and returned typed."""
        if key == "default_profile":
            raise InvalidInputError(key, "The default profile is chosen with `mailwright profile default NAME`.")
        if key.startswith("profiles."):
            raise InvalidInputError(key, "Profile settings are changed with `mailwright profile set NAME --OPTION "
                                    "VALUE` (`mailwright profile set --help` lists them), not with config set.")
        entry = setting(key)
        if entry.set_with:
            raise InvalidInputError(key, entry.set_with)
        parsed = _plain(entry.parse(value, typed=False, check_files=True))
        self._store(entry.table, entry.name, parsed)
        return parsed

    def _store(self, table: str, key: str, value: Any) -> None:
        import tomlkit
        from tomlkit.items import Table

        with self._editing() as document:
            current = document.get(table)
            if not isinstance(current, Table):
                current = tomlkit.table()
                document[table] = current
            current[key] = value
            parse_table(table, current.unwrap())  # rules between keys (backoff max >= initial) before writing
