"""Gmail / Google Workspace XOAUTH2 tokens with the admin's own OAuth client (installed-app flow + PKCE).

The admin downloads the client JSON from Google Cloud Console (APIs & Services > Credentials >
OAuth client ID > Desktop app) and imports it into the profile's secret source: for a saved profile client_id,
auth_uri and token_uri go to a small non-secret file in the data home (google_client.py), client_secret to the
keyring; the wizard keeps an unsaved profile's in memory until Save. auth_uri/token_uri are honoured as
given, which is also how tests point this flow at a local identity provider. Implemented with
httpx and the shared loopback listener rather than google-auth-oauthlib (no extra dependency).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets as std_secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from wizard.services.model import Profile
from wizard.services.oauth.errors import OAuthError, error_from_response, network_error
from wizard.services.oauth.loopback import BrowserOpener, LoopbackRedirect, open_system_browser
from wizard.services.oauth.microsoft import ca_bundle
from wizard.services.oauth.model import AccessToken, SignIn, TokenStatus
from wizard.services.secret_source import KEYRING, SecretSource
from wizard.services.secrets import SecretKind

GMAIL_SCOPE = "https://mail.google.com/"
SCOPES = (GMAIL_SCOPE, "openid", "email")
TESTING_WARNING = ("If the app's OAuth consent screen is in 'Testing' status, Google expires its refresh tokens "
                   "after 7 days and you must sign in again: set it to 'In production' (or 'Internal' on Workspace).")
REVOKE_INSTRUCTIONS = ("The stored tokens were deleted from this computer. To revoke the grant itself open "
                       "https://myaccount.google.com/permissions and remove the app; a Workspace admin can also "
                       "use Admin console > Security > API controls > App access control.")
_REFRESH_MARGIN_S = 300


@dataclass(frozen=True)
class GoogleClient:
    client_id: str
    auth_uri: str
    token_uri: str


def parse_client_json(text: str) -> tuple[GoogleClient, str]:
    """Pure: the client and its secret from Google's downloaded JSON ('installed' or 'web')."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("This is not a Google OAuth client JSON file.") from None
    section = data.get("installed") or data.get("web") if isinstance(data, dict) else None
    if not isinstance(section, dict) or not section.get("client_id"):
        raise ValueError("The file has no 'installed' client: create an OAuth client ID of type 'Desktop app'.")
    client = GoogleClient(str(section["client_id"]),
                          str(section.get("auth_uri", "https://accounts.google.com/o/oauth2/auth")),
                          str(section.get("token_uri", "https://oauth2.googleapis.com/token")))
    for uri in (client.auth_uri, client.token_uri):
        if not uri.startswith("https://"):
            raise ValueError(f"The client file names a non-https endpoint: {uri}")
    return client, str(section.get("client_secret", ""))


def import_client_json(profile: Profile, text: str, secrets: SecretSource = KEYRING) -> GoogleClient:
    """Blocking: keep the imported client in the profile's secret source (the keyring and a file beside
    config.toml for a saved profile)."""
    client, secret = parse_client_json(text)
    secrets.keep_oauth_client(profile.name, json.dumps(client.__dict__), secret)
    return client


def load_client(profile: Profile, secrets: SecretSource = KEYRING) -> GoogleClient:
    document = secrets.oauth_client(profile.name)
    if document is None:
        raise OAuthError("not_signed_in", facts={"reason": f"No Google OAuth client was imported for '{profile.name}': "
                                                           "import the client JSON (Desktop app) first."})
    return GoogleClient(**json.loads(document))


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(std_secrets.token_bytes(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _verify(profile: Profile) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle(profile))  # the same trust as the Microsoft flows


def _id_token_email(id_token: str) -> str:
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    return str(claims.get("email", "")) if isinstance(claims, dict) else ""


class GoogleTokens:
    def __init__(self, profile: Profile, secrets: SecretSource = KEYRING) -> None:
        self.profile = profile
        self.secrets = secrets
        self._state: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    def _load(self) -> dict[str, Any]:
        if self._state is None:
            blob = self.secrets.token_cache(self.profile.name)
            self._state = json.loads(blob) if blob else {}
        return self._state

    def _save(self, state: dict[str, Any]) -> None:
        self._state = state
        self.secrets.keep_token_cache(self.profile.name, json.dumps(state).encode())

    async def _post(self, client: GoogleClient, form: dict[str, str]) -> dict[str, Any]:
        secret = await asyncio.to_thread(self.secrets.secret, self.profile.name, SecretKind.CLIENT_SECRET)
        if secret:
            form["client_secret"] = secret
        form["client_id"] = client.client_id
        try:
            async with httpx.AsyncClient(verify=_verify(self.profile), timeout=self.profile.timeout_s) as http:
                response = await http.post(client.token_uri, data=form)
        except httpx.HTTPError as exc:
            raise network_error(exc, client.token_uri) from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": f"http_{response.status_code}", "error_description": response.text[:200]}
        if response.status_code != 200 or "access_token" not in body:
            raise error_from_response(body, username=self.profile.login_name)
        return dict(body)

    def _stored(self, body: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        return {
            # Google omits refresh_token on refresh; when it sends one, it replaces the old one.
            "refresh_token": body.get("refresh_token") or previous.get("refresh_token", ""),
            "access_token": body["access_token"],
            "expires_at": now + float(body.get("expires_in", 3600)),
            "obtained_at": now,
            "scope": body.get("scope", previous.get("scope", " ".join(SCOPES))),
            "account": _id_token_email(str(body.get("id_token", ""))) or previous.get("account")
            or self.profile.login_name,
        }

    def _token(self, state: dict[str, Any]) -> AccessToken:
        return AccessToken(state["access_token"], float(state["expires_at"]), str(state["account"]),
                           tuple(str(state["scope"]).split()))

    async def token(self, force_refresh: bool = False) -> AccessToken:
        async with self._lock:
            state = await asyncio.to_thread(self._load)
            if not state.get("refresh_token"):
                raise OAuthError("not_signed_in",
                                 facts={"reason": f"Profile '{self.profile.name}' has no stored Google sign-in."})
            if not force_refresh and float(state.get("expires_at", 0)) - time.time() > _REFRESH_MARGIN_S:
                return self._token(state)
            client = await asyncio.to_thread(load_client, self.profile, self.secrets)
            body = await self._post(client, {"grant_type": "refresh_token", "refresh_token": state["refresh_token"]})
            new_state = self._stored(body, state)
            await asyncio.to_thread(self._save, new_state)
            return self._token(new_state)

    async def sign_in(self, open_browser: BrowserOpener = open_system_browser) -> SignIn:
        client = await asyncio.to_thread(load_client, self.profile, self.secrets)
        verifier, challenge = pkce_pair()
        state_value = std_secrets.token_urlsafe(24)
        async with LoopbackRedirect() as redirect:
            query = {"client_id": client.client_id, "redirect_uri": redirect.redirect_uri, "response_type": "code",
                     "scope": " ".join(SCOPES), "state": state_value, "code_challenge": challenge,
                     "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent"}
            if self.profile.login_name:
                query["login_hint"] = self.profile.login_name
            await open_browser(f"{client.auth_uri}?{urlencode(query)}")
            params = await redirect.wait()
            redirect_uri = redirect.redirect_uri
        if "error" in params:
            raise error_from_response(params, username=self.profile.login_name)
        if params.get("state") != state_value:
            raise OAuthError("oauth_failed", detail="The sign-in answer did not match this request (state "
                                                    "mismatch). Start the sign-in again.")
        body = await self._post(client, {"grant_type": "authorization_code", "code": params.get("code", ""),
                                         "redirect_uri": redirect_uri, "code_verifier": verifier})
        if not body.get("refresh_token"):
            raise OAuthError("oauth_failed", detail="Google returned no refresh token.")
        async with self._lock:
            new_state = self._stored(body, {})
            await asyncio.to_thread(self._save, new_state)
        return SignIn.from_token(self._token(new_state), (TESTING_WARNING,))

    def status(self) -> TokenStatus:
        state = self._load()
        if not state.get("refresh_token"):
            return TokenStatus(False)
        return TokenStatus(True, str(state["account"]), tuple(str(state["scope"]).split()),
                           float(state["obtained_at"]), float(state["expires_at"]), True, (TESTING_WARNING,))
