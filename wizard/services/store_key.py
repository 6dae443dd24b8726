"""Where a service's secret-store key comes from: the platform's service-credential mechanism, never a file
beside the store.

- Linux (systemd >= 250): the unit's `LoadCredentialEncrypted=mailwright-store-key:PATH`; systemd decrypts the
  credential (TPM2 when present, else the host key) into `$CREDENTIALS_DIRECTORY/mailwright-store-key`, readable
  only by the service, for as long as it runs.
- Windows: a machine-scope DPAPI blob (`MAILWRIGHT_STORE_KEY_DPAPI` names the file), decrypted by
  `CryptUnprotectData` for the service's virtual account.
- macOS LaunchDaemon: a root-only key file (`MAILWRIGHT_STORE_KEY_FILE`), mode 0400/0600 and owned by root.
"""

from __future__ import annotations

import importlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

KEY_CREDENTIAL = "mailwright-store-key"
KEY_FILE_ENV = "MAILWRIGHT_STORE_KEY_FILE"
DPAPI_ENV = "MAILWRIGHT_STORE_KEY_DPAPI"


class StoreKeyError(RuntimeError):
    """A key source is configured but unusable; the message names it and the fix."""


@dataclass(frozen=True)
class KeySource:
    kind: str  # "systemd-credential", "dpapi", "key-file"
    location: Path

    def describe(self) -> str:
        names = {"systemd-credential": "the systemd credential", "dpapi": "the DPAPI-protected key",
                 "key-file": "the root-only key file"}
        return f"{names[self.kind]} {self.location}"


def find_key_source() -> KeySource | None:
    """The key this process was handed, or None (an interactive session: the OS keyring is used instead)."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / KEY_CREDENTIAL).exists():
        return KeySource("systemd-credential", Path(credentials) / KEY_CREDENTIAL)
    if os.environ.get(DPAPI_ENV):
        return KeySource("dpapi", Path(os.environ[DPAPI_ENV]))
    if os.environ.get(KEY_FILE_ENV):
        return KeySource("key-file", Path(os.environ[KEY_FILE_ENV]))
    return None


def read_key(source: KeySource) -> bytes:
    try:
        data = source.location.read_bytes()
    except OSError as exc:
        raise StoreKeyError(f"The secret-store key ({source.describe()}) cannot be read: "
                            f"{exc.strerror or exc}.") from exc
    if source.kind == "dpapi":
        return _unprotect(data, source)
    if source.kind == "key-file" and sys.platform != "win32":
        mode = source.location.stat()
        if mode.st_uid != 0 or stat.S_IMODE(mode.st_mode) & 0o077:
            raise StoreKeyError(f"The secret-store key file {source.location} must belong to root and be readable "
                                f"by root only (chmod 400), not {stat.filemode(mode.st_mode)}.")
    return data


def _unprotect(blob: bytes, source: KeySource) -> bytes:
    try:
        win32crypt = importlib.import_module("win32crypt")  # pywin32, installed on Windows only
    except ImportError:
        raise StoreKeyError(f"{source.describe()} is a Windows DPAPI blob: it can be opened only on Windows "
                            "(with pywin32).") from None
    try:
        _description, key = win32crypt.CryptUnprotectData(blob, None, None, None, 0)
    except Exception as exc:  # pywintypes.error: DPAPI refuses a blob of another machine
        raise StoreKeyError(f"{source.describe()} cannot be decrypted on this machine ({exc}).") from exc
    return bytes(key)
