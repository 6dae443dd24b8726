"""config.toml: profiles and [delivery] round-trip, comments survive, bad values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.services.config import ConfigStore
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.settings import DeliverySettings
from wizard.services.validation import InvalidInputError


def test_profile_round_trip_and_first_profile_is_default(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="a@example.com", host="smtp.example.com", port=465,
                               security=Security.TLS, authorized_domains=("example.com",)))
    store.save_profile(Profile(name="backup", provider=ProviderKind.GMAIL, from_address="b@gmail.com",
                               host="smtp.gmail.com"))
    config = store.load()
    assert config.default_profile == "main"
    assert config.profile().security is Security.TLS
    assert config.profile("main").authorized_domains == ("example.com",)
    assert config.profile("backup").provider is ProviderKind.GMAIL
    store.set_default("backup")
    assert store.load().default_profile == "backup"
    store.remove_profile("backup")
    assert store.load().default_profile == "main"


def test_comments_and_unknown_keys_survive_writes(data_home: Path) -> None:
    path = data_home / "config.toml"
    path.write_text("# written by hand\ncustom = 1  # keep me\n\n[delivery]\n# slower please\nsend_interval_ms = 500\n")
    store = ConfigStore()
    store.set("delivery.retry_backoff_initial_s", "5")
    store.save_profile(Profile(name="main", from_address="a@example.com", host="smtp.example.com"))
    text = path.read_text()
    assert "# written by hand" in text and "custom = 1  # keep me" in text and "# slower please" in text
    settings = store.load().delivery
    assert settings.retry_backoff_initial_s == 5 and settings.send_interval_ms == 500


def test_delivery_defaults_match_the_contract() -> None:
    assert DeliverySettings() == DeliverySettings(
        enabled=True, send_pending_at_startup=True, send_interval_ms=0, retry_backoff_initial_s=60,
        retry_backoff_max_s=3600, max_retry_time_s=172800, retention_days=30, max_concurrent_connections=3)


@pytest.mark.parametrize(("key", "value"), [
    ("delivery.send_interval_ms", "-1"), ("delivery.enabled", "maybe"), ("delivery.retention_days", "0"),
    ("delivery.nonsense", "1"), ("smtp.host", "x"), ("delivery.max_concurrent_connections", "two")])
def test_invalid_settings_name_the_key(key: str, value: str, data_home: Path) -> None:
    with pytest.raises(InvalidInputError) as error:
        ConfigStore().set(key, value)
    assert key in str(error.value)
    assert not (data_home / "config.toml").exists()


def test_invalid_file_value_names_the_key(data_home: Path) -> None:
    (data_home / "config.toml").write_text("[delivery]\nretry_backoff_initial_s = 'soon'\n")
    with pytest.raises(InvalidInputError, match=r"delivery\.retry_backoff_initial_s"):
        ConfigStore().load()


def test_mailwright_home_override(data_home: Path) -> None:
    assert ConfigStore().path == data_home / "config.toml"
