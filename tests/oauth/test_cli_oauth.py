"""`mailwright oauth login|status|logout` in-process against the local identity provider."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.identity_provider import USER, IdentityProvider
from tests.oauth.conftest import m365_profile
from wizard.cli import main
from wizard.services.config import ConfigStore

pytestmark = [pytest.mark.keyring, pytest.mark.usefixtures("system_browser")]


def test_login_status_logout(identity_provider: IdentityProvider, profile_name: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    ConfigStore().save_profile(m365_profile(identity_provider, profile_name))

    assert main(["oauth", "login", "--profile", profile_name]) == 0
    assert f"Access granted for {USER}" in capsys.readouterr().out

    assert main(["oauth", "status", "--profile", profile_name, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ok"] and status["signed_in"] and status["account"] == USER
    assert status["token_age_s"] is not None and status["expires_at"] > 0
    assert not any(secret in json.dumps(status) for secret in [*identity_provider.grants, *identity_provider.issued])

    assert main(["oauth", "logout", "--profile", profile_name]) == 0
    assert "revoke" in capsys.readouterr().out.lower()
    assert main(["oauth", "status", "--profile", profile_name]) == 0
    assert "not signed in" in capsys.readouterr().out


def test_failed_login_prints_the_diagnosis_as_json(identity_provider: IdentityProvider, profile_name: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    identity_provider.consent_denied = True
    ConfigStore().save_profile(m365_profile(identity_provider, profile_name))

    assert main(["oauth", "login", "--profile", profile_name, "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["diagnosis"]["code"] == "consent_required"
