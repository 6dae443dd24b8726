"""The service secret store: secrets for a Mailwright that runs as a system service, with nobody logged in.

One file in the service's state directory holds every entry (profiles' passwords, client secrets, certificate
passphrases, token-cache keys, relay users), encrypted with AES-256-GCM. Its 32-byte key is never stored next
to it: the platform's service manager hands it over at start (systemd `LoadCredentialEncrypted=`, decrypted
into `$CREDENTIALS_DIRECTORY`; machine-scope DPAPI on Windows; a root-only file for a macOS LaunchDaemon), see
`store_key`. Every write is atomic (a temporary file, fsync, rename) and 0600; a wrong key is refused before
anything is written, so a misconfigured service loses nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets as std_secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STORE_FILE = "service-secrets.bin"
KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = "mailwright-service-store-1"
_AAD = _FORMAT.encode()


class ServiceStoreError(RuntimeError):
    """The store cannot be used (wrong key, damaged file): the message names the file and what to do."""


def new_key() -> bytes:
    return std_secrets.token_bytes(KEY_BYTES)


class ServiceSecretStore:
    """Entries keyed by (service, name), like a keyring, in one encrypted file."""

    def __init__(self, path: Path, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ServiceStoreError(f"The service store key must be {KEY_BYTES} bytes, not {len(key)}: "
                                    "it was not created by `mailwright service install`.")
        self.path = path
        self._cipher = AESGCM(key)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ServiceStoreError(f"The service store {self.path} cannot be read: {exc.strerror or exc}.") from exc
        try:
            document = json.loads(blob)
            if document.get("format") != _FORMAT:
                raise ValueError("unknown format")
            nonce, ciphertext = base64.b64decode(document["nonce"]), base64.b64decode(document["ciphertext"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ServiceStoreError(f"The service store {self.path} is damaged ({exc}). It was left as it is; "
                                    "restore it from a backup or remove it and store the secrets again.") from exc
        try:
            plain = self._cipher.decrypt(nonce, ciphertext, _AAD)
        except InvalidTag as exc:
            raise ServiceStoreError(f"The service store {self.path} cannot be opened with the key this service "
                                    "was given: the key is wrong (another machine's or an old credential). Nothing "
                                    "was changed. Run `mailwright service install` again to hand over the right key."
                                    ) from exc
        entries: dict[str, dict[str, str]] = json.loads(plain)
        return entries

    def _write(self, entries: dict[str, dict[str, str]]) -> None:
        nonce = std_secrets.token_bytes(_NONCE_BYTES)
        ciphertext = self._cipher.encrypt(nonce, json.dumps(entries).encode(), _AAD)
        document = {"format": _FORMAT, "nonce": base64.b64encode(nonce).decode(),
                    "ciphertext": base64.b64encode(ciphertext).decode()}
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (the sender and the relay process may both refresh entries)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def get(self, service: str, name: str) -> str | None:
        return self._read().get(service, {}).get(name)

    def set(self, service: str, name: str, value: str) -> None:
        with self._locked():
            entries = self._read()
            entries.setdefault(service, {})[name] = value
            self._write(entries)

    def delete(self, service: str, name: str) -> bool:
        with self._locked():
            entries = self._read()
            if name not in entries.get(service, {}):
                return False
            del entries[service][name]
            self._write(entries)
        return True

    def names(self) -> dict[str, list[str]]:
        """What the store holds (service -> entry names), never the values: for `mailwright secrets status`."""
        return {service: sorted(values) for service, values in self._read().items() if values}


def describe_document(path: Path) -> dict[str, Any]:
    """What can be said of a store file without its key (for status output)."""
    return {"path": str(path), "exists": path.exists(), "bytes": path.stat().st_size if path.exists() else 0}
