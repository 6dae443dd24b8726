"""`mailwright profile remove NAME` leaves nothing of a Microsoft 365 one-sign-in set-up on this computer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.m365.conftest import Tenant
from wizard.services import m365, secrets
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair, record
from wizard.services.model import Profile
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.keyring]


@pytest.mark.asyncio
async def test_profile_remove_deletes_the_key_files_passphrase_and_record(tenant: Tenant, profile_name: str,
                                                                          data_home: Path) -> None:
    result = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP))
    assert result.ok, result.report
    assert keypair.key_path(profile_name).exists() and record.record_path(profile_name).exists()
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE)

    removed = mailwright("profile", "remove", profile_name)

    assert removed.returncode == 0, removed.stderr + removed.stdout
    assert "Its Microsoft 365 key and record were removed from this computer" in removed.stdout
    assert result.registration.app_id in removed.stdout  # the app that stays in the tenant is named
    assert profile_name not in ConfigStore().load().profiles
    leftovers = [p.name for p in (data_home / "m365").iterdir() if p.name.startswith(profile_name)]
    assert leftovers == []
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE) is None
    assert m365.registration(profile_name) is None


def test_removing_a_profile_without_a_set_up_says_nothing_about_microsoft_365(profile_name: str,
                                                                           data_home: Path) -> None:
    ConfigStore().save_profile(Profile(name=profile_name))
    payload = as_json(mailwright("profile", "remove", profile_name, "--json"))
    assert payload["ok"] and payload["m365_app_left_in_tenant"] is None
