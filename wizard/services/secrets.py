"""The only module that touches the keyring.

Secrets are stored under service `mailwright`, one entry per profile and kind
(`<profile>/<kind>`). If the platform has no secure backend we refuse to store anything and
say so: there is no plaintext fallback, silent or otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keyring.backend

# keyring, asyncio and the log redactor are imported where they are used: the wizard's first page holds a
# secret source (secret_source.py) before anything needs a secret, and its first paint waits for no import.

SERVICE = "mailwright"

_INSECURE_BACKENDS = {"fail", "null", "plaintext", "plaintextkeyring", "unencryptedkeyring", "chainer"}


class SecretKind(StrEnum):
    PASSWORD = "password"
    CLIENT_SECRET = "client-secret"
    CERTIFICATE_PASSPHRASE = "certificate-passphrase"
    TOKEN_CACHE_KEY = "token-cache-key"


class KeyringUnavailableError(RuntimeError):
    """No secure keyring: secrets cannot be stored (and are not, anywhere)."""


def _entry(profile: str, kind: SecretKind) -> str:
    return f"{profile}/{kind.value}"


def backend_name() -> str:
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _secure_backend() -> keyring.backend.KeyringBackend:
    import keyring

    backend = keyring.get_keyring()
    name = type(backend).__name__.lower()
    module = type(backend).__module__.lower()
    usable = name not in _INSECURE_BACKENDS and "plaintext" not in module and "fail" not in module
    if name == "chainer":
        usable = bool(getattr(backend, "backends", []))
    reason = getattr(backend, "unavailable_reason", "")
    if reason and backend.priority <= 0:
        raise KeyringUnavailableError(reason)
    if not usable or backend.priority <= 0:
        raise KeyringUnavailableError(
            "No secure keyring is available on this computer (found: "
            f"{type(backend).__name__}). Mailwright stores passwords only in the system keyring "
            "(Windows Credential Manager, macOS Keychain, GNOME Keyring / KWallet), so nothing was saved. "
            "Install or unlock a keyring and try again."
        )
    return backend


def keyring_available() -> bool:
    try:
        _secure_backend()
    except KeyringUnavailableError:
        return False
    return True


def store_secret(profile: str, kind: SecretKind, value: str) -> None:
    import keyring.errors

    from wizard.services.logs import SecretRedactor

    backend = _secure_backend()
    SecretRedactor.register(value)
    try:
        backend.set_password(SERVICE, _entry(profile, kind), value)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"The keyring refused to store the {kind.value} for '{profile}': "
                                 f"{type(exc).__name__}. Unlock the keyring and try again.") from None


def load_secret(profile: str, kind: SecretKind) -> str | None:
    import keyring.errors

    from wizard.services.logs import SecretRedactor

    backend = _secure_backend()
    try:
        value = backend.get_password(SERVICE, _entry(profile, kind))
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"The keyring could not be read ({type(exc).__name__}). "
                                 "Unlock the keyring and try again.") from None
    SecretRedactor.register(value)
    return value


def delete_secret(profile: str, kind: SecretKind) -> bool:
    """True when an entry existed and was removed."""
    import keyring.errors

    backend = _secure_backend()
    try:
        backend.delete_password(SERVICE, _entry(profile, kind))
    except keyring.errors.PasswordDeleteError:
        return False
    return True


def delete_profile_secrets(profile: str) -> list[SecretKind]:
    return [kind for kind in SecretKind if delete_secret(profile, kind)]


async def load_secret_async(profile: str, kind: SecretKind) -> str | None:
    """Keyring calls block (D-Bus, Credential Manager): keep them off the event loop."""
    import asyncio

    return await asyncio.to_thread(load_secret, profile, kind)


async def store_secret_async(profile: str, kind: SecretKind, value: str) -> None:
    import asyncio

    await asyncio.to_thread(store_secret, profile, kind, value)


# Relay users (`mailwright relay user add`) live under their own service, keyed by user name, so a relay user
# can never collide with a profile's entries (nor be removed by `delete_profile_secrets`).
RELAY_USERS_SERVICE = "mailwright-relay-users"


def store_relay_password(user: str, password: str) -> None:
    import keyring.errors

    from wizard.services.logs import SecretRedactor

    backend = _secure_backend()
    SecretRedactor.register(password)
    try:
        backend.set_password(RELAY_USERS_SERVICE, user, password)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"The keyring refused to store the relay password for '{user}': "
                                      f"{type(exc).__name__}. Unlock the keyring and try again.") from None


def load_relay_password(user: str) -> str | None:
    import keyring.errors

    from wizard.services.logs import SecretRedactor

    backend = _secure_backend()
    try:
        value = backend.get_password(RELAY_USERS_SERVICE, user)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"The keyring could not be read ({type(exc).__name__}). "
                                      "Unlock the keyring and try again.") from None
    SecretRedactor.register(value)
    return value


def delete_relay_password(user: str) -> bool:
    """True when an entry existed and was removed."""
    import keyring.errors

    backend = _secure_backend()
    try:
        backend.delete_password(RELAY_USERS_SERVICE, user)
    except keyring.errors.PasswordDeleteError:
        return False
    return True
