"""Handing an account's secrets to the service: from the admin's keyring into the encrypted service store.

The store file is built in memory-backed private temporary space with the new key, then written into the
service's data home together with config.toml and the token caches (which stay encrypted with their own keys,
now kept in the store). The admin's keyring entries are removed only once the service is installed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from wizard.services import secrets
from wizard.services.service_install import MoveSecrets
from wizard.services.service_store import STORE_FILE, ServiceSecretStore

WriteFile = Callable[[Path, bytes, int], None]  # (destination, content, mode): privileged when needed


def hand_over(step: MoveSecrets, key: bytes, relay_users: list[str], source_home: Path,
              write: WriteFile) -> tuple[list[str], list[tuple[str, secrets.SecretKind | None]]]:
    """Copy everything the service needs; returns (report lines, keyring entries to remove afterwards)."""
    lines: list[str] = []
    moved: list[tuple[str, secrets.SecretKind | None]] = []
    with tempfile.TemporaryDirectory(prefix="mailwright-store-") as private:
        store = ServiceSecretStore(Path(private) / STORE_FILE, key)
        for profile in step.profiles:
            kinds = []
            for kind in secrets.SecretKind:
                value = secrets.load_secret(profile, kind)
                if value is not None:
                    store.set(secrets.SERVICE, f"{profile}/{kind.value}", value)
                    moved.append((profile, kind))
                    kinds.append(kind.value)
            lines.append(f"{profile}: {', '.join(kinds) or 'no secrets in this keyring'}")
        for user in relay_users:
            value = secrets.load_relay_password(user)
            if value is not None:
                store.set(secrets.RELAY_USERS_SERVICE, user, value)
                moved.append((user, None))
                lines.append(f"relay user {user}: password")
        if store.path.exists():
            write(step.store_home / STORE_FILE, store.path.read_bytes(), 0o600)
    config = source_home / "config.toml"
    if config.exists():
        write(step.store_home / "config.toml", config.read_bytes(), 0o600)
    for cache in sorted((source_home / "tokens").glob("*.bin")):
        if cache.stem in step.profiles:
            write(step.store_home / "tokens" / cache.name, cache.read_bytes(), 0o600)
            lines.append(f"{cache.stem}: token cache")
    return lines, moved


def forget_moved(moved: list[tuple[str, secrets.SecretKind | None]]) -> None:
    """Remove the handed-over entries from the admin's keyring (after the service is installed)."""
    for owner, kind in moved:
        if kind is None:
            secrets.delete_relay_password(owner)
        else:
            secrets.delete_secret(owner, kind)
