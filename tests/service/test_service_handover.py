"""`service install`'s hand-over: the profiles' secrets and the relay users' passwords leave the admin's keyring
for the encrypted service store (real gnome-keyring), with config.toml and the token caches; nothing in clear."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.services import secrets
from wizard.services.service_install import MoveSecrets
from wizard.services.service_secrets import forget_moved, hand_over
from wizard.services.service_store import STORE_FILE, ServiceSecretStore, new_key

pytestmark = pytest.mark.keyring


def test_secrets_move_into_the_store_and_leave_the_keyring_only_when_told(data_home: Path, tmp_path: Path) -> None:
    secrets.store_secret("main", secrets.SecretKind.PASSWORD, "main-password-123")
    secrets.store_relay_password("erp-server", "erp relay password")
    (data_home / "config.toml").write_text('[profiles.main]\nfrom_address = "app@example.com"\n')
    (data_home / "tokens").mkdir()
    (data_home / "tokens" / "main.bin").write_bytes(b"encrypted token cache")
    service_home = tmp_path / "var-lib-mailwright"
    written: dict[Path, int] = {}

    def write(path: Path, content: bytes, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode)
        written[path] = mode

    key = new_key()
    try:
        lines, moved = hand_over(MoveSecrets(("main",), service_home), key, ["erp-server"], data_home, write)
        assert set(written.values()) == {0o600}
        assert (service_home / "tokens" / "main.bin").read_bytes() == b"encrypted token cache"
        assert (service_home / "config.toml").exists()
        store = ServiceSecretStore(service_home / STORE_FILE, key)
        assert store.get(secrets.SERVICE, "main/password") == "main-password-123"
        assert store.get(secrets.RELAY_USERS_SERVICE, "erp-server") == "erp relay password"
        assert b"main-password-123" not in (service_home / STORE_FILE).read_bytes()
        assert "main: password" in lines and "relay user erp-server: password" in lines
        assert secrets.load_secret("main", secrets.SecretKind.PASSWORD) == "main-password-123"  # not yet forgotten
        forget_moved(moved)
        assert secrets.load_secret("main", secrets.SecretKind.PASSWORD) is None
        assert secrets.load_relay_password("erp-server") is None
    finally:
        secrets.delete_secret("main", secrets.SecretKind.PASSWORD)
        secrets.delete_relay_password("erp-server")
