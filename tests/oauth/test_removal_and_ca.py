"""Removing a profile removes its sign-in from this computer; the profile's CA file beats the CA variables."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tests.fixtures.identity_provider import CONFIDENTIAL_CLIENT, USER, IdentityProvider
from tests.fixtures.smtp_servers import write_pem
from tests.oauth.conftest import m365_profile
from wizard.cli import main
from wizard.services import accounts, oauth, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.oauth import google, token_store
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.keyring]


def google_client_file(data_home: Path, name: str) -> Path:
    return data_home / "google-clients" / f"{name}.json"


@pytest.mark.asyncio
@pytest.mark.usefixtures("system_browser")
async def test_removing_a_gmail_profile_deletes_token_cache_client_file_and_secrets(
        identity_provider: IdentityProvider, profile_name: str, data_home: Path) -> None:
    profile = Profile(name=profile_name, provider=ProviderKind.GMAIL, from_address=USER, host="127.0.0.1",
                      auth=AuthMode.OAUTH_INTERACTIVE)
    ConfigStore().save_profile(profile)
    google.import_client_json(profile, identity_provider.google_client_json())
    await oauth.login(profile)
    assert token_store.cache_path(profile_name).exists() and google_client_file(data_home, profile_name).exists()

    removed = accounts.remove_profile(profile_name)

    assert set(removed) == {SecretKind.CLIENT_SECRET, SecretKind.TOKEN_CACHE_KEY}
    assert not token_store.cache_path(profile_name).exists()
    assert not google_client_file(data_home, profile_name).exists()
    assert all(secrets.load_secret(profile_name, kind) is None for kind in SecretKind)
    assert not (await oauth.status(profile)).signed_in  # no sign-in left in memory either


@pytest.mark.usefixtures("system_browser")
def test_profile_remove_on_the_cli_deletes_the_microsoft_token_cache(
        identity_provider: IdentityProvider, profile_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    ConfigStore().save_profile(m365_profile(identity_provider, profile_name))
    assert main(["oauth", "login", "--profile", profile_name]) == 0
    assert token_store.cache_path(profile_name).exists()

    assert main(["profile", "remove", profile_name]) == 0

    assert "token-cache-key" in capsys.readouterr().out
    assert not token_store.cache_path(profile_name).exists()
    assert list(token_store.cache_path(profile_name).parent.glob(f"{profile_name}*")) == []


@pytest.fixture
def untrusted_ca_file(untrusted_ca: trustme.CA, tmp_path: Path) -> str:
    return write_pem(tmp_path / "other-ca.pem", untrusted_ca)


def secret_profile(idp: IdentityProvider, name: str, ca_file: str = "") -> Profile:
    secrets.store_secret(name, SecretKind.CLIENT_SECRET, "good-secret")
    return m365_profile(idp, name, AuthMode.CLIENT_SECRET, client_id=CONFIDENTIAL_CLIENT, ca_file=ca_file)


@pytest.mark.asyncio
async def test_the_profile_ca_file_wins_over_the_ca_variables(identity_provider: IdentityProvider, ca_file: str,
                                                              untrusted_ca_file: str, profile_name: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", untrusted_ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", untrusted_ca_file)

    token = await oauth.get_token(secret_profile(identity_provider, profile_name, ca_file))

    assert identity_provider.token_is_valid(token.token) is not None


@pytest.mark.asyncio
async def test_a_wrong_profile_ca_file_is_not_rescued_by_the_variables(identity_provider: IdentityProvider,
                                                                       untrusted_ca_file: str,
                                                                       profile_name: str) -> None:
    # The fixture points REQUESTS_CA_BUNDLE and SSL_CERT_FILE at the right CA; the profile names another one.
    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.get_token(secret_profile(identity_provider, profile_name, untrusted_ca_file))

    assert raised.value.diagnosis.code == "tls_certificate"
    assert identity_provider.grant_types == []


@pytest.mark.asyncio
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
async def test_without_a_profile_ca_file_each_variable_is_honoured(identity_provider: IdentityProvider, ca_file: str,
                                                                   untrusted_ca_file: str, profile_name: str,
                                                                   variable: str, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("CURL_CA_BUNDLE", untrusted_ca_file)  # requests would let this one override ours
    monkeypatch.setenv(variable, ca_file)

    token = await oauth.get_token(secret_profile(identity_provider, profile_name))

    assert identity_provider.token_is_valid(token.token) is not None
