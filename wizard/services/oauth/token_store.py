"""Token caches, encrypted at rest: a random AES-GCM key in the keyring, the ciphertext in the data home.

msal's serialized cache (and Google's refresh token) easily exceeds the 2,560 bytes Windows
Credential Manager allows per secret (keyring issue 540), so the keyring holds only a 256-bit key
(`SecretKind.TOKEN_CACHE_KEY`) and `<data home>/tokens/<profile>.bin` holds nonce + ciphertext.
Nothing here ever writes a token in plain text; without a secure keyring nothing is written at all.
"""

from __future__ import annotations

import base64
import os
import secrets as std_secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wizard.services import secrets
from wizard.services.config import profile_file
from wizard.services.private_files import make_private_dir, write_private_bytes
from wizard.services.secrets import SecretKind

_NONCE_BYTES = 12
_lock = threading.Lock()


def cache_path(profile: str) -> Path:
    return profile_file("tokens", profile, ".bin")


def _key(profile: str, *, create: bool) -> bytes | None:
    encoded = secrets.load_secret(profile, SecretKind.TOKEN_CACHE_KEY)
    if encoded:
        return base64.b64decode(encoded)
    if not create:
        return None
    key = AESGCM.generate_key(bit_length=256)
    secrets.store_secret(profile, SecretKind.TOKEN_CACHE_KEY, base64.b64encode(key).decode())
    return key


def load_blob(profile: str) -> bytes | None:
    """The decrypted cache, or None when there is none (or it cannot be decrypted: treated as signed out)."""
    path = cache_path(profile)
    with _lock:
        if not path.exists():
            return None
        key = _key(profile, create=False)
        if key is None:
            return None
        data = path.read_bytes()
    try:
        # The profile name is the associated data: a cache file copied to another profile does not decrypt.
        return AESGCM(key).decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], profile.encode())
    except (InvalidTag, ValueError):
        return None


def save_blob(profile: str, plaintext: bytes) -> None:
    with _lock:
        key = _key(profile, create=True)
        assert key is not None
        nonce = std_secrets.token_bytes(_NONCE_BYTES)
        path = cache_path(profile)
        make_private_dir(path.parent)
        tmp = path.with_suffix(".tmp")
        write_private_bytes(tmp, nonce + AESGCM(key).encrypt(nonce, plaintext, profile.encode()))
        os.replace(tmp, path)


def delete(profile: str) -> bool:
    """Remove the encrypted cache and its key; True when something was removed."""
    with _lock:
        path = cache_path(profile)
        existed = path.exists()
        path.unlink(missing_ok=True)
        try:
            existed = secrets.delete_secret(profile, SecretKind.TOKEN_CACHE_KEY) or existed
        except secrets.KeyringUnavailableError:
            pass
        return existed


def modified_at(profile: str) -> float | None:
    path = cache_path(profile)
    return path.stat().st_mtime if path.exists() else None
