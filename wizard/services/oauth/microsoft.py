"""Microsoft identity platform tokens with msal: delegated (browser, device code) and app-only.

msal is blocking (requests), so every msal call runs in `asyncio.to_thread`. The msal token cache is loaded from
and kept by the profile's secret source (the encrypted token store for a saved profile, memory for the wizard's
unsaved one) whenever `has_state_changed`, so a refresh token Microsoft rotates is never lost. The authority is
the profile's `authority` (any https URL; a non-Microsoft host gets `instance_discovery=False`, which is also how
tests drive this code against a local identity provider) or `https://login.microsoftonline.com/<tenant>`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.oauth.certificates import CertificateError, load_certificate
from wizard.services.oauth.errors import OAuthError, SignInCancelledError, error_from_response, network_error
from wizard.services.oauth.loopback import BrowserOpener, LoopbackRedirect, open_system_browser
from wizard.services.oauth.model import AccessToken, DeviceCode, SignIn
from wizard.services.secret_source import KEYRING, SecretSource
from wizard.services.secrets import SecretKind

SMTP_DELEGATED_SCOPE = "https://outlook.office.com/SMTP.Send"
SMTP_APP_SCOPE = "https://outlook.office365.com/.default"
GRAPH_DELEGATED_SCOPE = "Mail.Send"
MICROSOFT_LOGIN_HOSTS = {
    "login.microsoftonline.com": "https://graph.microsoft.com",
    "login.microsoftonline.us": "https://graph.microsoft.us",
    "login.partner.microsoftonline.cn": "https://microsoftgraph.chinacloudapi.cn",
    "login.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn",
}
DeviceCodeCallback = Callable[[DeviceCode], Awaitable[None] | None]


@dataclass(frozen=True)
class Authority:
    url: str
    instance_discovery: bool


def authority_for(profile: Profile) -> Authority:
    """Pure: the msal authority for the profile. `authority` may be a bare host URL (tenant appended) or full."""
    tenant = profile.tenant or "organizations"
    base = (profile.authority or "https://login.microsoftonline.com").rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https":
        raise OAuthError("invalid_input", facts={"reason": f"The authority must be an https URL, not {base}."})
    url = base if parts.path.strip("/") else f"{base}/{tenant}"
    return Authority(url, parts.hostname in MICROSOFT_LOGIN_HOSTS)


def graph_resource(profile: Profile) -> str:
    if profile.graph_endpoint:
        host = urlsplit(profile.graph_endpoint).hostname or ""
        if host.endswith(("graph.microsoft.com", "graph.microsoft.us", "chinacloudapi.cn")):
            return f"https://{host}"
    login_host = urlsplit(profile.authority).hostname if profile.authority else "login.microsoftonline.com"
    return MICROSOFT_LOGIN_HOSTS.get(login_host or "", "https://graph.microsoft.com")


def scopes_for(profile: Profile) -> list[str]:
    """Pure: the scopes to request. msal adds offline_access/openid/profile itself and rejects them here."""
    app_only = profile.auth.is_app_only
    if profile.provider is ProviderKind.GRAPH:
        resource = graph_resource(profile)
        return [f"{resource}/.default"] if app_only else [f"{resource}/{GRAPH_DELEGATED_SCOPE}"]
    return [SMTP_APP_SCOPE] if app_only else [SMTP_DELEGATED_SCOPE]


def ca_bundle(profile: Profile) -> str | None:
    """The CA file to trust: the profile's `ca_file`, else REQUESTS_CA_BUNDLE, else SSL_CERT_FILE (None: system)."""
    return profile.ca_file or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None


class _PinnedCaSession(requests.Session):
    """A session whose own `verify` is final.

    requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override `Session.verify` whenever a request
    passes no `verify`, which is how msal calls it (requests issue 3829). `trust_env = False` would fix
    that but also drop the proxy variables a corporate network needs, so only the CA setting is pinned.
    """

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify
        return settings


def http_session(profile: Profile) -> requests.Session:
    """msal's HTTP client, trusting exactly `ca_bundle(profile)` (or the system store)."""
    bundle = ca_bundle(profile)
    session = _PinnedCaSession() if bundle else requests.Session()
    if bundle:
        session.verify = bundle
    return session


class MicrosoftTokens:
    """One profile's msal application and persisted cache. Thread-safe; use one per profile and process."""

    def __init__(self, profile: Profile, secrets: SecretSource = KEYRING) -> None:
        self.profile = profile
        self.secrets = secrets
        self.scopes = scopes_for(profile)
        self._cache = msal.SerializableTokenCache()
        self._lock = threading.Lock()
        self._app: msal.ClientApplication | None = None

    # -- blocking parts (run in a worker thread) --------------------------------------------------
    def _application(self) -> msal.ClientApplication:
        if self._app is not None:
            return self._app
        blob = self.secrets.token_cache(self.profile.name)
        if blob:
            self._cache.deserialize(blob.decode())
        authority = authority_for(self.profile)
        options: dict[str, Any] = {"authority": authority.url, "token_cache": self._cache,
                                   "http_client": http_session(self.profile)}
        if not authority.instance_discovery:
            options["instance_discovery"] = False
        try:
            if self.profile.auth.is_app_only:
                self._app = msal.ConfidentialClientApplication(
                    self.profile.client_id, client_credential=self._client_credential(), **options)
            else:
                self._app = msal.PublicClientApplication(self.profile.client_id, **options)
        except ValueError as exc:  # msal: "Unable to get authority configuration for ..."
            raise OAuthError("tenant_not_found", detail=exc) from None
        return self._app

    def _client_credential(self) -> str | dict[str, str]:
        name = self.profile.name
        if self.profile.auth is AuthMode.CLIENT_SECRET:
            secret = self.secrets.secret(name, SecretKind.CLIENT_SECRET)
            if not secret:
                raise OAuthError("secret_missing")
            return secret
        passphrase = self.secrets.secret(name, SecretKind.CERTIFICATE_PASSPHRASE)
        try:
            return load_certificate(self.profile.certificate_path, passphrase).for_msal()
        except CertificateError as exc:
            raise OAuthError("invalid_input", facts={"reason": str(exc)}) from None

    def _persist(self) -> None:
        if self._cache.has_state_changed:
            self.secrets.keep_token_cache(self.profile.name, self._cache.serialize().encode())
            self._cache.has_state_changed = False

    def _call(self, action: Callable[[msal.ClientApplication], dict[str, Any] | None]) -> dict[str, Any] | None:
        with self._lock:
            try:
                app = self._application()
                return action(app)
            except requests.exceptions.RequestException as exc:
                raise network_error(exc, authority_for(self.profile).url) from None
            finally:
                self._persist()

    def _accounts(self, app: msal.ClientApplication) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = app.get_accounts(username=self.profile.login_name or None)
        return accounts or app.get_accounts()

    def _silent(self, force_refresh: bool) -> dict[str, Any] | None:
        def action(app: msal.ClientApplication) -> dict[str, Any] | None:
            if isinstance(app, msal.ConfidentialClientApplication):
                if force_refresh:
                    for entry in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                        app.token_cache.remove_at(entry)
                result: dict[str, Any] | None = app.acquire_token_for_client(self.scopes)
                return result
            accounts = self._accounts(app)
            if not accounts:
                return None
            silent: dict[str, Any] | None = app.acquire_token_silent_with_error(
                self.scopes, accounts[0], force_refresh=force_refresh)
            return silent
        return self._call(action)

    # -- async API -------------------------------------------------------------------------------
    async def token(self, force_refresh: bool = False) -> AccessToken:
        result = await asyncio.to_thread(self._silent, force_refresh)
        if result is None:
            raise OAuthError("not_signed_in",
                             facts={"reason": f"Profile '{self.profile.name}' has no stored Microsoft sign-in."})
        return self._access_token(result)

    def _access_token(self, result: dict[str, Any]) -> AccessToken:
        if "access_token" not in result:
            raise error_from_response(result, username=self.profile.login_name)
        claims = result.get("id_token_claims") or {}
        account = str(claims.get("preferred_username") or self.profile.login_name)
        scope = str(result.get("scope", " ".join(self.scopes)))
        return AccessToken(result["access_token"], time.time() + float(result.get("expires_in", 0)),
                           account, tuple(scope.split()))

    async def sign_in_interactive(self, open_browser: BrowserOpener = open_system_browser) -> SignIn:
        if self.profile.auth.is_app_only:
            return SignIn.from_token(await self.token(force_refresh=True))
        async with LoopbackRedirect() as redirect:
            flow = await asyncio.to_thread(self._call, lambda app: app.initiate_auth_code_flow(
                self.scopes, redirect_uri=redirect.redirect_uri, login_hint=self.profile.login_name or None,
                response_mode="form_post"))
            assert flow is not None
            await open_browser(str(flow["auth_uri"]))
            params = await redirect.wait()
        if "error" in params:
            raise error_from_response(params, username=self.profile.login_name)
        result = await asyncio.to_thread(self._redeem, flow, params)
        return self._signed_in(result)

    def _redeem(self, flow: dict[str, Any], params: dict[str, str]) -> dict[str, Any] | None:
        def action(app: msal.ClientApplication) -> dict[str, Any] | None:
            assert isinstance(app, msal.PublicClientApplication)
            try:
                result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, params)
            except ValueError as exc:  # state mismatch: a stale or forged redirect
                return {"error": "invalid_request", "error_description": str(exc)}
            return result
        return self._call(action)

    async def sign_in_device(self, on_code: DeviceCodeCallback) -> SignIn:
        """Device code flow; cancelling the awaiting task stops msal's polling within a second."""
        flow = await asyncio.to_thread(self._call, lambda app: app.initiate_device_flow(scopes=self.scopes)
                                       if isinstance(app, msal.PublicClientApplication) else None)
        if not flow or "user_code" not in flow:
            raise error_from_response(flow or {"error": "invalid_request"}, username=self.profile.login_name)
        shown = on_code(DeviceCode(flow["user_code"], flow["verification_uri"], str(flow.get("message", "")),
                                   float(flow.get("expires_at", time.time() + 900))))
        if shown is not None:
            await shown
        stop = threading.Event()

        def poll(app: msal.ClientApplication) -> dict[str, Any] | None:
            assert isinstance(app, msal.PublicClientApplication)
            result: dict[str, Any] = app.acquire_token_by_device_flow(flow, exit_condition=lambda _f: stop.is_set())
            return result
        try:
            result = await asyncio.to_thread(self._call, poll)
        finally:
            stop.set()
        if result and result.get("error") in {"authorization_pending", "slow_down"}:
            raise SignInCancelledError("Sign-in was cancelled.")
        if result and result.get("error") == "expired_token":
            raise SignInCancelledError("The code expired before anyone signed in. Start again for a new code.")
        return self._signed_in(result)

    def _signed_in(self, result: dict[str, Any] | None) -> SignIn:
        token = self._access_token(result or {"error": "invalid_request"})
        return SignIn.from_token(token)

    def cached_state(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
        """(account, newest access-token entry, has refresh token) from the persisted cache, no network."""
        def action(app: msal.ClientApplication) -> dict[str, Any] | None:
            accounts = [] if isinstance(app, msal.ConfidentialClientApplication) else self._accounts(app)
            tokens = sorted(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN),
                            key=lambda e: int(e.get("cached_at", 0)))
            refresh = list(app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
            return {"account": accounts[0] if accounts else None, "token": tokens[-1] if tokens else None,
                    "refresh": bool(refresh)}
        with self._lock:
            state = action(self._application())
        assert state is not None
        return state["account"], state["token"], bool(state["refresh"])
