"""Microsoft 365 tokens through the real msal code against the local identity provider."""

from __future__ import annotations

import pytest

from tests.fixtures.identity_provider import CONFIDENTIAL_CLIENT, USER, IdentityProvider
from tests.oauth.conftest import m365_profile
from wizard.services import oauth, secrets
from wizard.services.model import AuthMode, ProviderKind
from wizard.services.oauth import token_store
from wizard.services.secrets import SecretKind
from wizard.services.transports.base import Scope, TransportError

pytestmark = [pytest.mark.keyring, pytest.mark.usefixtures("system_browser")]


@pytest.mark.asyncio
async def test_first_consent_grants_access_for_the_sender(identity_provider: IdentityProvider,
                                                          profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name)

    signed = await oauth.login(profile)

    assert signed.message == f"Access granted for {USER}"
    request = identity_provider.authorize_requests[-1]
    assert request["login_hint"] == USER
    assert request["code_challenge_method"] == "S256"
    assert "https://outlook.office.com/SMTP.Send" in request["scope"].split()
    token = await oauth.get_token(profile)
    assert identity_provider.token_is_valid(token.token, "https://outlook.office.com") is not None
    assert identity_provider.grant_types == ["authorization_code"]  # the second call came from the cache


@pytest.mark.asyncio
async def test_token_cache_on_disk_is_encrypted(identity_provider: IdentityProvider, profile_name: str) -> None:
    await oauth.login(m365_profile(identity_provider, profile_name))

    on_disk = token_store.cache_path(profile_name).read_bytes()
    refresh_tokens = list(identity_provider.grants)
    assert refresh_tokens
    for secret in [*refresh_tokens, *identity_provider.issued]:
        assert secret.encode() not in on_disk
    assert b"refresh_token" not in on_disk.lower() and b"RefreshToken" not in on_disk
    assert refresh_tokens[0].encode() in (token_store.load_blob(profile_name) or b"")


@pytest.mark.asyncio
async def test_expired_access_token_is_refreshed_silently(identity_provider: IdentityProvider,
                                                          profile_name: str) -> None:
    identity_provider.access_token_lifetime_s = 120  # msal refreshes anything expiring within 5 minutes
    profile = m365_profile(identity_provider, profile_name)
    await oauth.login(profile)

    token = await oauth.get_token(profile)

    assert identity_provider.grant_types == ["authorization_code", "refresh_token"]
    assert identity_provider.token_is_valid(token.token) is not None


@pytest.mark.asyncio
async def test_rotated_refresh_token_survives_restarts(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name)
    await oauth.login(profile)

    for _ in range(2):  # each refresh token works once: only the newest persisted one can succeed
        # each module-level call builds its session from the encrypted cache on disk, as after a restart
        token = await oauth.get_token(profile, force_refresh=True)
        assert identity_provider.token_is_valid(token.token) is not None

    assert identity_provider.grant_types.count("refresh_token") == 2


@pytest.mark.asyncio
async def test_revoked_refresh_token_means_sign_in_again_and_holds_mail(identity_provider: IdentityProvider,
                                                                        profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name)
    await oauth.login(profile)
    identity_provider.revoke_refresh_tokens()
    credential = await oauth.credential_for(profile)

    with pytest.raises(TransportError) as raised:
        await credential.token_source(True)

    assert raised.value.scope is Scope.ACCOUNT
    assert raised.value.diagnosis.code == "token_expired"
    assert "700082" in raised.value.diagnosis.detail


@pytest.mark.asyncio
async def test_without_sign_in_the_credential_says_so(identity_provider: IdentityProvider, profile_name: str) -> None:
    credential = await oauth.credential_for(m365_profile(identity_provider, profile_name))

    with pytest.raises(TransportError) as raised:
        await credential.token_source(False)

    assert raised.value.diagnosis.code == "not_signed_in"
    assert raised.value.scope is Scope.ACCOUNT


@pytest.mark.asyncio
async def test_device_code_sign_in(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name, AuthMode.OAUTH_DEVICE)
    shown: list[oauth.DeviceCode] = []

    def show(code: oauth.DeviceCode) -> None:
        shown.append(code)
        identity_provider.approve_device(code.user_code)  # the admin signs in on their phone

    signed = await oauth.login(profile, device=True, on_device_code=show)

    assert signed.account == USER
    assert shown[0].verification_uri.endswith("/devicelogin") and len(shown[0].user_code) == 8
    assert identity_provider.grant_types == ["urn:ietf:params:oauth:grant-type:device_code"]


@pytest.mark.asyncio
async def test_device_code_not_allowed_for_app(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name, AuthMode.OAUTH_DEVICE, client_id=CONFIDENTIAL_CLIENT)

    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.login(profile, device=True, on_device_code=lambda code: None)

    assert raised.value.diagnosis.code == "public_client_disabled"


@pytest.mark.asyncio
@pytest.mark.parametrize(("secret", "expired", "code"), [("wrong-secret", False, "invalid_client_secret"),
                                                          ("good-secret", True, "client_secret_expired")])
async def test_client_secret_errors_are_diagnosed(identity_provider: IdentityProvider, profile_name: str,
                                                  secret: str, expired: bool, code: str) -> None:
    identity_provider.apps[CONFIDENTIAL_CLIENT].secret_expired = expired
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, secret)
    profile = m365_profile(identity_provider, profile_name, AuthMode.CLIENT_SECRET, client_id=CONFIDENTIAL_CLIENT)

    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.get_token(profile)

    assert raised.value.diagnosis.code == code


@pytest.mark.asyncio
async def test_client_secret_gets_app_only_smtp_token(identity_provider: IdentityProvider, profile_name: str) -> None:
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, "good-secret")
    profile = m365_profile(identity_provider, profile_name, AuthMode.CLIENT_SECRET, client_id=CONFIDENTIAL_CLIENT)

    token = await oauth.get_token(profile)

    claims = identity_provider.token_is_valid(token.token, "https://outlook.office365.com")
    assert claims is not None and "SMTP.SendAsApp" in claims["roles"]


@pytest.mark.asyncio
async def test_graph_profile_asks_for_graph_default_scope(identity_provider: IdentityProvider,
                                                          profile_name: str) -> None:
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, "good-secret")
    profile = m365_profile(identity_provider, profile_name, AuthMode.CLIENT_SECRET, client_id=CONFIDENTIAL_CLIENT,
                           provider=ProviderKind.GRAPH)

    token = await oauth.get_token(profile)

    assert identity_provider.token_is_valid(token.token, "https://graph.microsoft.com") is not None


@pytest.mark.asyncio
async def test_unknown_tenant_is_diagnosed(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name, tenant="no-such-tenant.example")

    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.login(profile)

    assert raised.value.diagnosis.code == "tenant_not_found"


@pytest.mark.asyncio
async def test_status_and_logout(identity_provider: IdentityProvider, profile_name: str) -> None:
    profile = m365_profile(identity_provider, profile_name)
    await oauth.login(profile)

    state = await oauth.status(profile)
    assert state.signed_in and state.account == USER and state.has_refresh_token
    assert "SMTP.Send" in " ".join(state.scopes)
    assert state.expires_at is not None and state.obtained_at is not None

    result = await oauth.logout(profile)
    assert result.removed and "Enterprise applications" in result.revoke_instructions
    assert not token_store.cache_path(profile_name).exists()
    assert secrets.load_secret(profile_name, SecretKind.TOKEN_CACHE_KEY) is None
    assert not (await oauth.status(profile)).signed_in

