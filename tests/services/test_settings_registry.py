"""The settings registry drives load, `config get|set`, `config --help` and the pages: one rule per key."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from wizard.services.config import ConfigStore
from wizard.services.settings import REGISTRY, SETTINGS, TABLES, DeliverySettings, Setting
from wizard.services.validation import InvalidInputError


def test_every_table_field_has_exactly_one_registry_entry() -> None:
    table_keys = {f"{table}.{f.name}" for table, cls in TABLES.items() for f in fields(cls)}
    assert table_keys == set(SETTINGS)
    assert len(REGISTRY) == len(SETTINGS)


def test_every_whole_number_has_an_upper_bound_and_every_key_has_help() -> None:
    for entry in REGISTRY:
        assert entry.help.strip().endswith((".", ")")), entry.key
        if entry.kind is int:
            assert entry.maximum is not None and entry.minimum is not None, entry.key
            assert entry.minimum <= entry.default <= entry.maximum, entry.key


def test_config_help_lists_every_key_with_its_help() -> None:
    result = mailwright("config", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # argparse may wrap
    for entry in REGISTRY:
        assert entry.key in text
        assert " ".join(entry.help.split()) in text


@pytest.mark.parametrize("entry", [e for e in REGISTRY if e.kind is int], ids=lambda e: e.key)
def test_whole_numbers_are_refused_past_their_bounds_with_exit_2(entry: Setting, data_home: Path) -> None:
    assert entry.maximum is not None and entry.minimum is not None
    for value in (str(entry.maximum + 1), str(entry.minimum - 1), "9" * 22, "1e3", "0x10", ""):
        result = mailwright("config", "set", entry.key, value)
        assert result.returncode == 2, (value, result.stderr)
        assert entry.key in result.stderr and f"from {entry.minimum} to {entry.maximum}" in result.stderr
        assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert not (data_home / "config.toml").exists()


def test_the_overflowing_interval_of_issue_12_is_refused(data_home: Path) -> None:
    result = mailwright("config", "set", "delivery.send_interval_ms", "9999999999999999999999")
    assert result.returncode == 2
    assert "delivery.send_interval_ms must be a whole number from 0 to 3600000" in result.stderr


def test_set_then_get_round_trips_through_the_cli(data_home: Path) -> None:
    for key, value, shown in (("delivery.send_interval_ms", "3600000", "3600000"), ("delivery.enabled", "off", "false"),
                              ("relay.tls_mode", "IMPLICIT", "implicit"), ("alerts.email_to", "it@example.com",
                                                                           "it@example.com")):
        assert mailwright("config", "set", key, value).returncode == 0
        got = mailwright("config", "get", key, "--json")
        assert as_json(got) == {"ok": True, "key": key, "value": {"true": True, "false": False}.get(shown, shown)
                                if key != "delivery.send_interval_ms" else int(shown)}


def test_get_answers_defaults_and_profile_values(data_home: Path) -> None:
    store = ConfigStore()
    assert store.get("delivery.retention_days") == 30
    assert store.get("relay.users") == []
    store.path.write_text('[profiles.main]\nfrom_address = "app@example.com"\nhost = "smtp.example.com"\nport = 465\n'
                          'security = "tls"\n', encoding="utf-8")
    assert store.get("profiles.main.port") == 465
    assert store.get("profiles.main.security") == "tls"
    with pytest.raises(InvalidInputError, match=r"Unknown setting profiles\.main\.colour"):
        store.get("profiles.main.colour")


def test_config_set_on_a_profile_key_says_to_use_profile_set(data_home: Path) -> None:
    result = mailwright("config", "set", "profiles.main.display_name", "Example Support")
    assert result.returncode == 2
    assert "mailwright profile set" in result.stderr


@pytest.mark.parametrize(("key", "value", "says"), [
    ("relay.users", "alice", "relay user add"), ("default_profile", "x", "profile default"),
    ("delivery.nonsense", "1", "config --help"), ("smtp.host", "x", "Unknown setting smtp.host"),
    ("alerts.webhook_url", "http://hooks.example.com/x", "https://"),
    ("alerts.email_to", "not-an-address", "alerts.email_to"),
    ("alerts.via_profile", "../x", "not a valid profile name"),
    ("relay.listen", "127.0.0.1:99999", "relay.listen"), ("delivery.enabled", "maybe", "true or false")])
def test_keys_that_config_set_refuses_say_why(key: str, value: str, says: str, data_home: Path) -> None:
    with pytest.raises(InvalidInputError) as error:
        ConfigStore().set(key, value)
    assert says in str(error.value)
    assert not (data_home / "config.toml").exists()


def test_rules_between_keys_are_checked_before_writing(data_home: Path) -> None:
    store = ConfigStore()
    store.set("delivery.retry_backoff_max_s", "600")
    with pytest.raises(InvalidInputError, match=r"at least delivery\.retry_backoff_initial_s"):
        store.set("delivery.retry_backoff_initial_s", "900")
    assert store.load().delivery == DeliverySettings(retry_backoff_max_s=600)


def test_unknown_relay_keys_are_kept_for_a_newer_version_but_unknown_delivery_keys_are_errors(data_home: Path) -> None:
    store = ConfigStore()
    store.path.write_text("[relay]\nfuture_limit = 5\n", encoding="utf-8")
    assert store.load().relay.enabled is False
    store.set("relay.enabled", "true")
    assert "future_limit = 5" in store.path.read_text(encoding="utf-8")
    store.path.write_text("[delivery]\nsend_intervall_ms = 5\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"Unknown setting delivery\.send_intervall_ms"):
        store.load()
