"""Identity-provider answers -> `Diagnosis`, and the typed error the OAuth service raises.

msal returns error dicts (`error`, `error_description` with an AADSTS code, `error_codes`);
Google returns OAuth 2.0 error JSON. Both become an `OAuthError` carrying a diagnosis, and
`as_transport_error` turns that into what transports and the outbox understand
(`Scope.ACCOUNT`: hold the profile's mail until the admin signs in again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.services import diagnostics
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import DescribedError, Scope, TransportError, describe

# OAuth 2.0 error names (RFC 6749 §5.2) when the provider gave no AADSTS code.
_OAUTH_ERROR_CODES = {
    "invalid_grant": "token_expired",
    "interaction_required": "token_expired",
    "consent_required": "consent_required",
    "invalid_client": "invalid_client_secret",
    "unauthorized_client": "app_not_found",
    "access_denied": "consent_required",
    "expired_token": "token_expired",
}


class OAuthError(DescribedError):
    """A token could not be obtained: the diagnosis code, the provider's answer (`detail`) and the facts its words
    need; `describe(error)` (or `.diagnosis`) says why and what to do. Never contains a token."""

    def __init__(self, code: str, scope: Scope = Scope.ACCOUNT, *, detail: object = "",
                 facts: Mapping[str, object] | None = None) -> None:
        super().__init__(code, detail=detail, facts=facts)
        self.scope = scope


class SignInCancelledError(Exception):
    """The admin pressed Cancel (or the device code expired) before signing in."""


def diagnosis_code(error: str, description: str, error_codes: object = ()) -> str:
    """Pure mapping: AADSTS code first (most specific), then the OAuth error name."""
    code = diagnostics.token_error_code(description)
    if code == "unknown" and isinstance(error_codes, list | tuple):
        for number in error_codes:
            mapped = diagnostics.TOKEN_RULES.get(str(number))
            if mapped:
                return mapped
    if code == "unknown":
        code = _OAUTH_ERROR_CODES.get(error, "oauth_failed")
    return code


def error_from_response(response: Mapping[str, Any], **context: object) -> OAuthError:
    """An identity provider's error answer as facts: the code from its AADSTS number or OAuth error name, and the
    answer itself (without Entra's trace and correlation ids) as the detail."""
    error = str(response.get("error", ""))
    description = " ".join(str(response.get("error_description", "")).split())
    # Entra descriptions end with "Trace ID: ... Correlation ID: ... Timestamp: ..."; keep only the message.
    description = description.split(" Trace ID:")[0]
    detail = f"{error}: {description}" if description else error
    return OAuthError(diagnosis_code(error, description, response.get("error_codes", ())), detail=detail,
                      facts=context)


def diagnose_token_response(response: Mapping[str, Any], **context: object) -> Diagnosis:
    """The words for an identity provider's error answer (describe() of `error_from_response`)."""
    return describe(error_from_response(response, **context))


def network_error(exc: BaseException, endpoint: str) -> OAuthError:
    """The identity provider could not be reached: transient unless the certificate is the problem."""
    text = f"{type(exc).__name__}: {exc}"
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return OAuthError("tls_certificate", Scope.ACCOUNT, detail=text, facts={
            "host": endpoint, "reason": f"The identity provider {endpoint} presented a certificate this computer "
                                        "does not trust."})
    return OAuthError("connect_failed", Scope.RETRY, detail=text, facts={"host": endpoint, "port": 443, "reason": text})


def as_transport_error(error: OAuthError) -> TransportError:
    """For the sender and the outbox: the OAuth error's facts and scope."""
    return TransportError(error.code, error.scope, detail=error.detail, facts=error.facts)
