"""The service secret store: AES-256-GCM in one file, a wrong key refused with nothing lost."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from wizard.services.service_store import STORE_FILE, ServiceSecretStore, ServiceStoreError, new_key


def test_entries_round_trip_encrypted_and_private(tmp_path: Path) -> None:
    store = ServiceSecretStore(tmp_path / STORE_FILE, new_key())
    store.set("mailwright", "main/password", "s3cret-Pa55word")
    store.set("mailwright-relay-users", "erp", "relay-pa55")
    assert store.get("mailwright", "main/password") == "s3cret-Pa55word"
    assert b"s3cret" not in store.path.read_bytes() and b"relay-pa55" not in store.path.read_bytes()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.names() == {"mailwright": ["main/password"], "mailwright-relay-users": ["erp"]}
    assert store.delete("mailwright", "main/password") is True
    assert store.delete("mailwright", "main/password") is False
    assert store.get("mailwright", "main/password") is None


def test_a_wrong_key_is_refused_clearly_and_the_file_is_left_as_it_was(tmp_path: Path) -> None:
    right = ServiceSecretStore(tmp_path / STORE_FILE, new_key())
    right.set("mailwright", "main/password", "kept")
    before = right.path.read_bytes()
    wrong = ServiceSecretStore(right.path, new_key())
    with pytest.raises(ServiceStoreError, match=r"key is wrong.*Nothing was changed"):
        wrong.get("mailwright", "main/password")
    with pytest.raises(ServiceStoreError):
        wrong.set("mailwright", "other/password", "x")
    assert right.path.read_bytes() == before
    assert right.get("mailwright", "main/password") == "kept"


def test_a_damaged_store_names_the_file_and_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    path.write_bytes(b'{"format": "mailwright-service-store-1", "nonce": "!!"')
    store = ServiceSecretStore(path, new_key())
    with pytest.raises(ServiceStoreError, match=str(path)):
        store.set("mailwright", "x", "y")
    assert path.read_bytes() == b'{"format": "mailwright-service-store-1", "nonce": "!!"'


def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServiceStoreError, match="32 bytes"):
        ServiceSecretStore(tmp_path / STORE_FILE, b"short")
