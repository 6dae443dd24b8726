"""OAuth tokens for a profile: Microsoft (msal) and Google, one API for transports, the CLI and the GUI.

Public API (stable; the Graph transport and accounts.py build on it):

    from wizard.services import oauth

    credential = await oauth.credential_for(profile)      # -> TokenCredential(username, token_source)
    token = await credential.token_source(False)          # access token str; True = force a refresh
    token = await oauth.get_token(profile, force_refresh=False)   # -> AccessToken(token, expires_at, account, scopes)
    signed = await oauth.login(profile)                   # browser consent (oauth-interactive / gmail)
    signed = await oauth.login(profile, device=True, on_device_code=show)   # device code; show(DeviceCode)
    state = await oauth.status(profile)                   # -> TokenStatus (account, scopes, age, expiry)
    result = await oauth.logout(profile)                  # -> LogoutResult(removed, revoke_instructions)
    oauth.forget_profile(name)                            # profile removed: token cache + imported Google client
    tokens = oauth.TokenService()                         # the sessions of one running app: pass tokens=tokens
    oauth.scopes_for(profile)                             # what is requested (pure)

  Every call but `forget_profile` and `scopes_for` takes `secrets=`: the secret source that answers the
  profile's client secret / passphrase and keeps its token cache (default: the keyring and the encrypted token
  store; the wizard passes its unsaved draft, so a sign-in before Save writes nothing).

- `token_source` raises `TransportError(kind=Scope.ACCOUNT)` with the diagnosis (token_expired,
  invalid_client_secret, ...) on token errors, TRANSIENT when the identity provider is unreachable.
  Every other function raises `OAuthError` (`.diagnosis`, `.scope`) or `SignInCancelledError`.
- Scopes: M365 SMTP delegated `https://outlook.office.com/SMTP.Send`, app-only
  `https://outlook.office365.com/.default`; Graph (`provider = graph`) delegated `<graph>/Mail.Send`,
  app-only `<graph>/.default` for the profile's cloud; Gmail `https://mail.google.com/`.
- Modes: profile.auth oauth-interactive / oauth-device (PublicClientApplication), client-secret
  (SecretKind.CLIENT_SECRET), client-certificate (profile.certificate_path PEM or PFX, passphrase
  SecretKind.CERTIFICATE_PASSPHRASE). Authority: profile.authority (https URL; non-Microsoft hosts skip
  instance discovery) or login.microsoftonline.com/<tenant>. CA: profile.ca_file, REQUESTS_CA_BUNDLE
  or SSL_CERT_FILE.
- Silent refresh: a token expiring within 5 minutes is refreshed; every change to the cache (new refresh
  token) is persisted encrypted (token_store.py). Blocking work runs in worker threads.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from wizard.services.errors import DiagnosisCode, Scope, TransportError
from wizard.services.model import Profile, ProviderKind
from wizard.services.oauth import token_store
from wizard.services.oauth.errors import OAuthError, SignInCancelledError, as_transport_error
from wizard.services.oauth.loopback import BrowserOpener, open_system_browser
from wizard.services.oauth.microsoft import DeviceCodeCallback, MicrosoftTokens, scopes_for
from wizard.services.oauth.model import AccessToken, DeviceCode, LogoutResult, SignIn, TokenStatus
from wizard.services.secret_source import KEYRING, SecretSource
from wizard.services.secrets import KeyringUnavailableError
from wizard.services.transports.base import TokenCredential

if TYPE_CHECKING:
    from wizard.services.oauth.google import GoogleTokens

__all__ = ["AccessToken", "DeviceCode", "LogoutResult", "OAuthError", "SignIn", "SignInCancelledError",
           "TokenService", "TokenStatus", "credential_for", "forget_profile", "get_token", "login", "logout",
           "scopes_for", "status"]

Session = TypeVar("Session", "MicrosoftTokens", "GoogleTokens")


class TokenService:
    """The OAuth sessions (msal applications, Google credentials) of one running Mailwright, per profile.

    The composition root (app_services.Services) owns one and passes it down, so the sender reuses a signed-in
    session for every message. The module functions below take it as `tokens=`; without one they use a
    session for that call only (a CLI command, the wizard's check of unsaved settings), which reads the token
    cache from its secret source again.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[Profile, SecretSource, object]] = {}

    def _session(self, profile: Profile, kind: type[Session], secrets: SecretSource) -> Session:
        """The token session of this profile, kept while the profile's settings and secret source stay the same."""
        known = self._sessions.get(profile.name)
        if known and known[0] == profile and known[1] is secrets and isinstance(known[2], kind):
            return known[2]
        session = kind(profile, secrets)
        self._sessions[profile.name] = (profile, secrets, session)
        return session

    def microsoft(self, profile: Profile, secrets: SecretSource = KEYRING) -> MicrosoftTokens:
        return self._session(profile, MicrosoftTokens, secrets)

    def google(self, profile: Profile, secrets: SecretSource = KEYRING) -> GoogleTokens:
        from wizard.services.oauth.google import GoogleTokens

        return self._session(profile, GoogleTokens, secrets)

    def forget(self, name: str | None = None) -> None:
        """Drop the in-memory session of a profile (all when None), as a restart would; the caches stay."""
        if name is None:
            self._sessions.clear()
        else:
            self._sessions.pop(name, None)


def forget_profile(name: str, tokens: TokenService | None = None) -> bool:
    """Delete everything this computer keeps for the profile's OAuth sign-in (blocking, file and keyring I/O):
    the encrypted token cache and its key, and an imported Google client file. True when something was removed."""
    from wizard.services.oauth import google_client

    if tokens is not None:
        tokens.forget(name)
    removed_cache = token_store.delete(name)
    return google_client.delete(name) or removed_cache


async def get_token(profile: Profile, *, force_refresh: bool = False, secrets: SecretSource = KEYRING,
                    tokens: TokenService | None = None) -> AccessToken:
    tokens = tokens or TokenService()
    if profile.provider is ProviderKind.GMAIL:
        return await tokens.google(profile, secrets).token(force_refresh)
    return await tokens.microsoft(profile, secrets).token(force_refresh)


async def credential_for(profile: Profile, secrets: SecretSource = KEYRING,
                         tokens: TokenService | None = None) -> TokenCredential:
    """The XOAUTH2 / Graph credential: username = the mailbox, token_source(force_refresh) -> access token."""
    tokens = tokens or TokenService()  # one session for this credential's whole life, at least

    async def token_source(force_refresh: bool) -> str:
        try:
            return (await get_token(profile, force_refresh=force_refresh, secrets=secrets,
                                       tokens=tokens)).token
        except OAuthError as exc:
            raise as_transport_error(exc) from None
        except KeyringUnavailableError as exc:  # the client secret or token cache could not be read
            raise TransportError(DiagnosisCode.KEYRING_UNAVAILABLE, Scope.ACCOUNT, facts={"reason": str(exc)}) from exc

    return TokenCredential(profile.login_name, token_source)


async def login(profile: Profile, *, device: bool = False, on_device_code: DeviceCodeCallback | None = None,
                open_browser: BrowserOpener = open_system_browser, secrets: SecretSource = KEYRING,
                tokens: TokenService | None = None) -> SignIn:
    """Sign in (consent) and keep the tokens in `secrets`. App-only modes just fetch a token to prove the
    credentials."""
    tokens = tokens or TokenService()
    if profile.provider is ProviderKind.GMAIL:
        return await tokens.google(profile, secrets).sign_in(open_browser)
    session = tokens.microsoft(profile, secrets)
    if device and not profile.auth.is_app_only:
        return await session.sign_in_device(on_device_code or _print_device_code)
    return await session.sign_in_interactive(open_browser)


def _print_device_code(code: DeviceCode) -> None:
    print(code.message or f"Open {code.verification_uri} and enter the code {code.user_code}", flush=True)


async def status(profile: Profile, secrets: SecretSource = KEYRING,
                 tokens: TokenService | None = None) -> TokenStatus:
    import asyncio

    tokens = tokens or TokenService()
    if profile.provider is ProviderKind.GMAIL:
        return await asyncio.to_thread(tokens.google(profile, secrets).status)
    session = tokens.microsoft(profile, secrets)
    account, entry, has_refresh = await asyncio.to_thread(session.cached_state)
    if entry is None and account is None:
        return TokenStatus(False)
    warnings: list[str] = []
    if profile.client_secret_expires:
        from wizard.services.oauth.azure_guide import secret_expiry_warning

        warning = secret_expiry_warning(profile.client_secret_expires, time.time())
        if warning:
            warnings.append(warning)
    return TokenStatus(
        True,
        account=str(account.get("username", "")) if account else profile.login_name,
        scopes=tuple(str(entry.get("target", "")).split()) if entry else (),
        obtained_at=float(entry["cached_at"]) if entry else None,
        expires_at=float(entry["expires_on"]) if entry else None,
        has_refresh_token=has_refresh,
        warnings=tuple(warnings),
    )


async def logout(profile: Profile, secrets: SecretSource = KEYRING,
                 tokens: TokenService | None = None) -> LogoutResult:
    import asyncio

    if tokens is not None:
        tokens.forget(profile.name)
    removed = await asyncio.to_thread(secrets.forget_token_cache, profile.name)
    if profile.provider is ProviderKind.GMAIL:
        from wizard.services.oauth.google import REVOKE_INSTRUCTIONS

        return LogoutResult(removed, REVOKE_INSTRUCTIONS)
    from wizard.services.oauth.azure_guide import revoke_instructions

    return LogoutResult(removed, revoke_instructions(profile))
