"""Is the new app usable yet? Probes that tell replication ("not found yet") from a real failure.

App-only: a client-credentials token with the app's certificate (AADSTS700016 app not found, 700027 certificate
not registered yet: replication). Delegated: a device-code request for the app, which Entra answers 700016 until
the app has replicated, without anyone having to sign in. Each probe uses a fresh msal application: msal caches
an identical failed (HTTP 400) request for 60 s per application object.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msal
import requests

from wizard.services.check import CheckReport, check_profile
from wizard.services.m365.replication import (
    NotReadyError,
    ReplicationTimeoutError,
    WaitCallback,
    WaitPolicy,
    wait_until_ready,
)
from wizard.services.model import Profile
from wizard.services.oauth.errors import OAuthError, diagnosis_code
from wizard.services.oauth.microsoft import MicrosoftTokens, authority_for, http_session, scopes_for

REPLICATING = {"app_not_found", "invalid_client_secret", "invalid_token", "access_denied", "auth_failed",
               "token_expired", "certificate_not_registered"}
_REPLICATING_AADSTS = {"700016", "700027", "7000215", "7000112"}


async def app_is_known(profile: Profile) -> None:
    """Returns when the sign-in service knows the app; NotReadyError while it is still replicating."""
    if profile.auth.is_app_only:
        try:
            await MicrosoftTokens(profile).token(force_refresh=True)
        except OAuthError as exc:
            if exc.diagnosis.code in REPLICATING or any(n in exc.diagnosis.detail for n in _REPLICATING_AADSTS):
                raise NotReadyError(exc.diagnosis.detail or exc.diagnosis.title) from None
            raise
        return
    answer = await asyncio.to_thread(_device_code_request, profile)
    if "user_code" in answer:
        return
    description = str(answer.get("error_description", ""))
    if diagnosis_code(str(answer.get("error", "")), description, answer.get("error_codes", ())) == "app_not_found":
        raise NotReadyError(description.split(" Trace ID:")[0])
    # Any other answer (public client flows disabled, Conditional Access) says the app exists.


def _device_code_request(profile: Profile) -> dict[str, Any]:
    authority = authority_for(profile)
    options: dict[str, Any] = {"authority": authority.url, "http_client": http_session(profile)}
    if not authority.instance_discovery:
        options["instance_discovery"] = False
    try:
        app = msal.PublicClientApplication(profile.client_id, **options)
        answer: dict[str, Any] = app.initiate_device_flow(scopes=scopes_for(profile))
    except requests.exceptions.RequestException as exc:
        raise NotReadyError(f"{type(exc).__name__}: {exc}") from None
    return answer


async def check_with_retry(profile: Profile, wait: WaitPolicy | None, on_wait: WaitCallback | None = None
                           ) -> CheckReport:
    """The connection check; with `wait`, a failure that replication explains is retried within the bound."""
    last: list[CheckReport] = []

    async def attempt() -> CheckReport:
        report = await check_profile(profile)
        last.append(report)
        if not report.ok and wait is not None and report.diagnosis and report.diagnosis.code in REPLICATING:
            raise NotReadyError(report.diagnosis.detail or report.diagnosis.title)
        return report

    try:
        return await wait_until_ready(attempt, wait or WaitPolicy(limit_s=0), on_wait)
    except ReplicationTimeoutError:
        return last[-1]
