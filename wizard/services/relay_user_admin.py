"""Managing relay users: the one set of functions behind `mailwright relay user …` and the Relay users dialog.

Attributes go to config.toml (`ConfigStore.save_relay_user`), passwords only to the keyring, and a password is
never read back: `reset_password` generates a new one and returns it once for the person to copy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.outbox_stats import RelayUserCounts, relay_user_activity
from wizard.services.relay_users import RelayUser, generate_password
from wizard.services.settings import validate_relay_user
from wizard.services.validation import InvalidInputError

MIN_PASSWORD_LENGTH = 12
WINDOWS_S = {"24h": 86_400.0, "30d": 30 * 86_400.0}


@dataclass(frozen=True)
class RelayUserView:
    """A relay user as the list shows it: attributes, whether a password is set, what it submitted."""

    user: RelayUser
    has_password: bool
    counts: dict[str, RelayUserCounts]  # "24h", "30d"
    last_used_at: float | None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.user.name, **self.user.to_toml(), "active": self.user.active,
                                   "priority": self.user.priority, "has_password": self.has_password,
                                   "last_used_at": self.last_used_at}
        data["counts"] = {window: vars(counts) for window, counts in self.counts.items()}
        return data


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError("password", f"A relay password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return password


def _checked(store: ConfigStore, user: RelayUser) -> RelayUser:
    validate_relay_user(user.name)
    user = user.validated()
    if user.profile and user.profile not in store.load().profiles:
        raise InvalidInputError("profile", f"There is no profile named '{user.profile}' for {user.name}'s mail.")
    return user


def list_users(store: ConfigStore, outbox_path: Path, now: float | None = None) -> list[RelayUserView]:
    config = store.load()
    counts, last_used = relay_user_activity(outbox_path, time.time() if now is None else now, WINDOWS_S)
    return [RelayUserView(user, secrets.load_relay_password(name) is not None,
                          {window: counts.get(name, {}).get(window, RelayUserCounts()) for window in WINDOWS_S},
                          last_used.get(name)) for name, user in sorted(config.relay_users.items())]


def add_user(store: ConfigStore, user: RelayUser, password: str | None = None) -> str | None:
    """Create a user; with no password given, a strong one is generated and returned (to be shown once)."""
    user = _checked(store, replace(user, created_at=user.created_at or time.time()))
    if user.name in store.load().relay_users:
        raise InvalidInputError("name", f"A relay user named '{user.name}' exists: change it with "
                                "`relay user set`, or give it a new password with `relay user reset-password`.")
    generated = None if password is not None else generate_password()
    secrets.store_relay_password(user.name, check_password(password if password is not None else generated or ""))
    store.save_relay_user(replace(user, password_set_at=time.time()))  # after the keyring: never listed without one
    return generated


def set_password(store: ConfigStore, name: str, password: str) -> None:
    """A new password for an existing user, in force at once (the relay sees `password_set_at` move)."""
    user = store.load().relay_users.get(name)
    if user is None:
        raise InvalidInputError("name", f"There is no relay user named '{name}'.")
    secrets.store_relay_password(name, check_password(password))
    store.save_relay_user(replace(user, password_set_at=time.time()))


def update_user(store: ConfigStore, user: RelayUser) -> RelayUser:
    existing = store.load().relay_users.get(user.name)
    if existing is None:
        raise InvalidInputError("name", f"There is no relay user named '{user.name}'.")
    user = _checked(store, replace(user, created_at=existing.created_at, password_set_at=existing.password_set_at))
    store.save_relay_user(user)
    return user


def reset_password(store: ConfigStore, name: str) -> str:
    """A new strong password replaces the old one at once; it is returned once and never readable again."""
    password = generate_password()
    set_password(store, name, password)
    return password


def remove_user(store: ConfigStore, name: str) -> bool:
    had_password = secrets.delete_relay_password(name)
    return store.remove_relay_user(name) or had_password
