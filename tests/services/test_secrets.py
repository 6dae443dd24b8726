"""Secrets in the real Secret Service keyring; no plaintext fallback when there is no secure keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from wizard.services import accounts, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.secrets import KeyringUnavailableError, SecretKind

pytestmark = pytest.mark.keyring


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_real_secret_service_round_trip(profile_name: str) -> None:
    assert "SecretService" in secrets.backend_name()
    secrets.store_secret(profile_name, SecretKind.PASSWORD, "s3cret value")
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == "s3cret value"
    assert secrets.delete_profile_secrets(profile_name) == [SecretKind.PASSWORD]
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) is None


def test_password_lives_only_in_keyring(profile_name: str, data_home: Path) -> None:
    profile = Profile(name=profile_name, from_address="a@example.com", host="smtp.example.com",
                      username="a@example.com")
    accounts.save_profile(profile, "pa55word-xyz")
    assert "pa55word-xyz" not in (data_home / "config.toml").read_text()
    assert all("pa55word-xyz" not in p.read_text(errors="ignore") for p in data_home.rglob("*") if p.is_file())
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) == "pa55word-xyz"
    accounts.remove_profile(profile_name)
    assert secrets.load_secret(profile_name, SecretKind.PASSWORD) is None


def test_no_secure_keyring_refuses_and_writes_nothing(no_keyring: None, data_home: Path) -> None:
    assert not secrets.keyring_available()
    profile = Profile(name="p", from_address="a@example.com", host="smtp.example.com", username="a@example.com")
    with pytest.raises(KeyringUnavailableError, match="No secure keyring"):
        accounts.save_profile(profile, "pa55word-xyz")
    assert not (data_home / "config.toml").exists()
    assert ConfigStore().load().profiles == {}


def test_credential_repr_hides_password() -> None:
    from wizard.services.transports.base import PasswordCredential

    assert "hunter2" not in repr(PasswordCredential("u", "hunter2"))
