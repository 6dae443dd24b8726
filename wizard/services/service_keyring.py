"""A keyring backend over the service secret store, for a Mailwright running as a system service.

The service's environment selects it with keyring's own switch, `PYTHON_KEYRING_BACKEND=` this class (the unit
file, plist or Windows service sets it), so every module, and the relay's child process, keeps calling
`keyring` exactly as on a desktop. Without a key handed over by the service manager its priority is 0 and
`secrets` refuses to store anything, as it does without a desktop keyring.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError

from wizard.services.service_store import STORE_FILE, ServiceSecretStore, ServiceStoreError
from wizard.services.store_key import StoreKeyError, find_key_source, read_key


def open_service_store() -> ServiceSecretStore:
    """The store of this data home, opened with the key this process was handed; StoreKeyError if none."""
    from wizard.services.config import data_home

    source = find_key_source()
    if source is None:
        raise StoreKeyError("No secret-store key was handed to this process: run it as the service that "
                            "`mailwright service install` created (systemd's LoadCredentialEncrypted, Windows "
                            "DPAPI or the LaunchDaemon's key file).")
    return ServiceSecretStore(data_home() / STORE_FILE, read_key(source))


class ServiceStoreKeyring(KeyringBackend):
    """Entries in `<data home>/service-secrets.bin`, AES-256-GCM with the service's key."""

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805  (keyring's classproperty)
        return 5.0 if find_key_source() is not None else 0.0

    _store: ServiceSecretStore | None = None  # opened on first use, so that listing backends reads no key
    # What secrets.py says when this backend has no key (priority 0): nothing may be saved then.
    unavailable_reason = ("This Mailwright runs with the service secret store, but no key was handed to it "
                          "(systemd's LoadCredentialEncrypted, Windows DPAPI or the LaunchDaemon's key file), so "
                          "nothing was saved. Run it as the service `mailwright service install` created.")

    def _opened(self) -> ServiceSecretStore:
        if self._store is None:
            try:
                self._store = open_service_store()
            except (StoreKeyError, ServiceStoreError) as exc:
                raise KeyringError(str(exc)) from exc
        return self._store

    def get_password(self, service: str, username: str) -> str | None:
        try:
            return self._opened().get(service, username)
        except ServiceStoreError as exc:
            raise KeyringError(str(exc)) from exc

    def set_password(self, service: str, username: str, password: str) -> None:
        try:
            self._opened().set(service, username, password)
        except ServiceStoreError as exc:
            raise KeyringError(str(exc)) from exc

    def delete_password(self, service: str, username: str) -> None:
        try:
            removed = self._opened().delete(service, username)
        except ServiceStoreError as exc:
            raise KeyringError(str(exc)) from exc
        if not removed:
            raise PasswordDeleteError(f"{service}/{username} is not in the service store")
