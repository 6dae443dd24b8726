"""The imported Google OAuth client document (client id and endpoints, not its secret) in the data home.

The client secret lives in the keyring like every other secret; this file is what `KeyringSecrets` answers as a
saved profile's imported client.
"""

from __future__ import annotations

from pathlib import Path

from wizard.services.config import profile_file
from wizard.services.private_files import make_private_dir, write_private_text


def path(profile: str) -> Path:
    return profile_file("google-clients", profile, ".json")  # a valid name, resolved inside the data home


def load(profile: str) -> str | None:
    """Blocking: the stored client document, None when none was imported."""
    try:
        return path(profile).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def save(profile: str, document: str) -> None:
    target = path(profile)
    make_private_dir(target.parent)
    write_private_text(target, document)


def delete(profile: str) -> bool:
    """True when there was one."""
    target = path(profile)
    existed = target.exists()
    target.unlink(missing_ok=True)
    return existed
