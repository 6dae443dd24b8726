"""The administrator's one sign-in: authorization code + PKCE in the system browser (or a device code), msal.

The admin client is a public client (default: Microsoft Graph Command Line Tools, the client behind
`Connect-MgGraph`; an organisation may pass its own). Only the Graph scopes the chosen mode needs are asked for.
The token stays in memory for the set-up and is never written anywhere.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import msal
import requests

from wizard.services.m365.diagnosis import M365Error, sign_in_error
from wizard.services.m365.endpoints import DEFAULT_ADMIN_CLIENT_ID, Endpoints
from wizard.services.oauth.errors import OAuthError, SignInCancelledError, error_from_response, network_error
from wizard.services.oauth.loopback import BrowserOpener, LoopbackRedirect, open_system_browser
from wizard.services.oauth.microsoft import DeviceCodeCallback, authority_for, http_session
from wizard.services.oauth.model import DeviceCode


@dataclass(frozen=True)
class AdminSession:
    access_token: str
    account: str
    tenant_id: str
    scopes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"AdminSession(account={self.account!r}, tenant_id={self.tenant_id!r}, access_token=<hidden>)"


class AdminSignIn:
    def __init__(self, endpoints: Endpoints, scopes: tuple[str, ...], client_id: str = "") -> None:
        self.endpoints = endpoints
        self.client_id = client_id or DEFAULT_ADMIN_CLIENT_ID
        self.scopes = [f"{endpoints.graph_resource}/{scope}" for scope in scopes]
        self._app: msal.PublicClientApplication | None = None

    def _application(self) -> msal.PublicClientApplication:
        if self._app is None:
            profile = self.endpoints.profile()
            authority = authority_for(profile)
            options: dict[str, Any] = {"authority": authority.url, "http_client": http_session(profile)}
            if not authority.instance_discovery:
                options["instance_discovery"] = False
            try:
                self._app = msal.PublicClientApplication(self.client_id, **options)
            except ValueError as exc:  # "Unable to get authority configuration"
                raise self._error({"error": "invalid_tenant", "error_description": str(exc),
                                   "error_codes": [90002]}) from None
        return self._app

    def _call(self, action: Any) -> Any:
        try:
            return action(self._application())
        except requests.exceptions.RequestException as exc:
            raise network_error(exc, self.endpoints.authority_url) from None

    def _error(self, response: dict[str, Any]) -> M365Error | OAuthError:
        scopes = ", ".join(s.rsplit("/", 1)[-1] for s in self.scopes)
        return sign_in_error(response, scopes=scopes, client_id=self.client_id,
                             tenant=self.endpoints.tenant or "organizations",
                             authority=self.endpoints.authority_url) or error_from_response(response)

    def _session(self, result: dict[str, Any] | None) -> AdminSession:
        result = result or {"error": "invalid_request"}
        if "access_token" not in result:
            raise self._error(result)
        claims = result.get("id_token_claims") or {}
        return AdminSession(str(result["access_token"]), str(claims.get("preferred_username", "")),
                            str(claims.get("tid", "")), tuple(str(result.get("scope", "")).split()))

    async def interactive(self, open_browser: BrowserOpener = open_system_browser) -> AdminSession:
        async with LoopbackRedirect() as redirect:
            flow = await asyncio.to_thread(self._call, lambda app: app.initiate_auth_code_flow(
                self.scopes, redirect_uri=redirect.redirect_uri, prompt="select_account", response_mode="form_post"))
            await open_browser(str(flow["auth_uri"]))
            params = await redirect.wait()
        if "error" in params:
            raise self._error(dict(params))

        def redeem(app: msal.PublicClientApplication) -> dict[str, Any]:
            try:
                result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, params)
            except ValueError as exc:  # state mismatch: a stale or forged redirect
                return {"error": "invalid_request", "error_description": str(exc)}
            return result
        return self._session(await asyncio.to_thread(self._call, redeem))

    async def device(self, on_code: DeviceCodeCallback) -> AdminSession:
        flow = await asyncio.to_thread(self._call, lambda app: app.initiate_device_flow(scopes=self.scopes))
        if "user_code" not in flow:
            raise self._error(flow)
        shown = on_code(DeviceCode(flow["user_code"], flow["verification_uri"], str(flow.get("message", "")),
                                   float(flow.get("expires_at", time.time() + 900))))
        if shown is not None:
            await shown
        stop = threading.Event()
        try:
            result = await asyncio.to_thread(self._call, lambda app: app.acquire_token_by_device_flow(
                flow, exit_condition=lambda _flow: stop.is_set()))
        finally:
            stop.set()
        if result.get("error") in {"authorization_pending", "slow_down"}:
            raise SignInCancelledError("Sign-in was cancelled.")
        if result.get("error") == "expired_token":
            raise SignInCancelledError("The code expired before anyone signed in. Start again for a new code.")
        return self._session(result)
