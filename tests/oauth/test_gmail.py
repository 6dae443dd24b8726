"""Gmail XOAUTH2 with the admin's own OAuth client JSON, against the local provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.identity_provider import USER, IdentityProvider
from wizard.cli import main
from wizard.services import oauth
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.oauth import google, token_store

pytestmark = [pytest.mark.keyring, pytest.mark.usefixtures("system_browser")]


def gmail_profile(name: str) -> Profile:
    return Profile(name=name, provider=ProviderKind.GMAIL, from_address=USER, host="127.0.0.1",
                   auth=AuthMode.OAUTH_INTERACTIVE)


@pytest.mark.asyncio
async def test_client_json_flow_signs_in_with_pkce_and_refreshes(identity_provider: IdentityProvider,
                                                                 profile_name: str) -> None:
    profile = gmail_profile(profile_name)
    google.import_client_json(profile, identity_provider.google_client_json())

    signed = await oauth.login(profile)

    assert signed.message == f"Access granted for {USER}"
    assert any("7 days" in warning for warning in signed.warnings)
    request = identity_provider.authorize_requests[-1]
    assert request["code_challenge_method"] == "S256" and "https://mail.google.com/" in request["scope"].split()
    assert request["access_type"] == "offline"
    on_disk = token_store.cache_path(profile_name).read_bytes()
    assert all(rt.encode() not in on_disk for rt in identity_provider.grants)

    # a new session (as after a restart): the refresh token comes back from the encrypted store
    token = await oauth.get_token(profile, force_refresh=True)
    assert identity_provider.token_is_valid(token.token, "https://mail.google.com") is not None
    assert identity_provider.grant_types == ["authorization_code", "refresh_token"]


@pytest.mark.asyncio
async def test_revoked_gmail_grant_is_token_expired(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = gmail_profile(profile_name)
    google.import_client_json(profile, identity_provider.google_client_json())
    await oauth.login(profile)
    identity_provider.revoke_refresh_tokens()

    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.get_token(profile, force_refresh=True)

    assert raised.value.diagnosis.code == "token_expired"


def test_client_json_must_be_a_desktop_client() -> None:
    with pytest.raises(ValueError, match="Desktop app"):
        google.parse_client_json('{"other": {}}')
    client, secret = google.parse_client_json(
        '{"installed": {"client_id": "c", "client_secret": "s", "token_uri": "https://t.example/token"}}')
    assert (client.client_id, client.token_uri, secret) == ("c", "https://t.example/token", "s")


@pytest.mark.usefixtures("system_browser")
def test_cli_imports_client_json_and_signs_in(identity_provider: IdentityProvider, profile_name: str,
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client_json = tmp_path / "client_secret.json"
    client_json.write_text(identity_provider.google_client_json())
    ConfigStore().save_profile(gmail_profile(profile_name))

    assert main(["oauth", "login", "--profile", profile_name, "--client-json", str(client_json)]) == 0

    out = capsys.readouterr().out
    assert f"Access granted for {USER}" in out and "7 days" in out
    assert "google-secret" not in out
