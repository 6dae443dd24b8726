"""Graph HTTP replies and httpx failures -> `TransportError` (pure functions).

Graph answers errors as JSON `{"error": {"code": "ErrorAccessDenied", "message": "..."}}`; the
`code` string says more than the status, so the mapping looks at the code first.
Sources: REFERENCE.md (Microsoft Graph) and Graph's throttling and error documentation.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from wizard.services.errors import (
    ConnectionLostError,
    DeliveryTimeoutError,
    DiagnosisCode,
    Scope,
    Stage,
    TransportError,
    failure_scope,
)
from wizard.services.transports.smtp_errors import describe_certificate_error

# Graph uses 503 for throttling as well as for outages, and 504 when a backend timed out: all retryable.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

_DIAGNOSIS_BY_ERROR_CODE = {
    "ErrorAccessDenied": "access_denied",
    "AccessDenied": "access_denied",
    "Authorization_RequestDenied": "access_denied",
    "ErrorSendAsDenied": "send_as_denied",
    "MailboxNotEnabledForRESTAPI": "mailbox_not_enabled",
    "MailboxNotHostedInExchangeOnline": "mailbox_not_enabled",
    "ErrorInvalidUser": "mailbox_not_enabled",
    "ResourceNotFound": "mailbox_not_enabled",
    "InvalidAuthenticationToken": "invalid_token",
    "ErrorQuotaExceeded": "quota_exceeded",
    "ErrorInvalidRecipients": "recipient_rejected",
    "ErrorMessageSizeExceeded": "message_too_large",
}
# What a reply affects is errors.failure_scope (Stage.GRAPH): access_denied / invalid_token / a mailbox
# that is not there hold the whole profile (every message would fail the same way); send_as_denied,
# ErrorInvalidRecipients and ErrorMessageSizeExceeded fail one message (the URL always names the profile's
# mailbox, so only a message whose From differs is refused), and the others keep flowing.


@dataclass(frozen=True)
class GraphErrorReply:
    status: int
    code: str
    message: str
    retry_after_s: float | None = None

    @property
    def text(self) -> str:
        """What the server said, for the diagnosis detail: '403 ErrorAccessDenied: Access is denied.'"""
        label = f"{self.status} {self.code}".strip() if self.code else str(self.status)
        return f"{label}: {self.message}" if self.message else label


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 10.2.3); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> GraphErrorReply:
    code, message = "", ""
    try:
        error = json.loads(body or b"{}").get("error", {})
    except (ValueError, AttributeError):
        error = {}
        message = body[:300].decode("utf-8", "replace").strip()
    if isinstance(error, dict):
        code = str(error.get("code", ""))
        message = str(error.get("message", message))
    return GraphErrorReply(status, code, " ".join(message.split()), parse_retry_after(headers.get("retry-after")))


def diagnosis_code(reply: GraphErrorReply) -> str:
    if reply.code in _DIAGNOSIS_BY_ERROR_CODE:
        return _DIAGNOSIS_BY_ERROR_CODE[reply.code]
    if reply.status == 401:
        return "invalid_token"
    if reply.status == 403:
        return "access_denied"
    if reply.status in {429, 503}:
        return "throttled"
    if reply.status == 504:
        return "timeout"
    if reply.status >= 500:
        return "server_error"
    return "message_rejected"


def error_for_reply(reply: GraphErrorReply, **context: object) -> TransportError:
    """A Graph error reply -> TransportError whose scope tells the outbox what to do next."""
    return TransportError(diagnosis_code(reply), failure_scope(Stage.GRAPH, reply.status, error_code=reply.code),
                          reply.status, reply.retry_after_s, stage=Stage.GRAPH, text=reply.message, enhanced=reply.code,
                          detail=reply.text, facts={"reply": reply.text, "reason": reply.text, **context})


def _root_cause(exc: BaseException) -> BaseException:
    current: BaseException = exc
    seen: set[int] = set()
    while id(current) not in seen:
        seen.add(id(current))
        nxt = current.__cause__ or current.__context__
        if nxt is None:
            break
        current = nxt
    return current


def error_for_exception(exc: BaseException, host: str, **context: object) -> TransportError:
    """An httpx failure (connect, TLS, timeout, dropped connection) -> TransportError."""
    where = {"host": host, "port": 443, **context}
    cause = _root_cause(exc)
    if isinstance(exc, httpx.TimeoutException):
        reason = f"{host} did not answer in time ({type(exc).__name__})."
        return DeliveryTimeoutError(DiagnosisCode.TIMEOUT, Scope.RETRY, stage=Stage.GRAPH, detail=reason,
                                    facts={"reason": reason, **where})
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = describe_certificate_error(cause, host)
        return TransportError(DiagnosisCode.TLS_CERTIFICATE, Scope.ACCOUNT, stage=Stage.TLS, detail=reason,
                              facts={"reason": reason, **where})
    if isinstance(cause, ssl.SSLError):
        reason = str(cause.reason or cause)
        return TransportError(DiagnosisCode.TLS_FAILED, Scope.ACCOUNT, stage=Stage.TLS, detail=cause,
                              facts={"reason": reason, **where})
    if isinstance(cause, socket.gaierror):
        reason = cause.strerror or str(cause)
        return ConnectionLostError(DiagnosisCode.DNS_FAILED, Scope.RETRY, stage=Stage.CONNECT, detail=reason,
                                   facts={"reason": reason, **where})
    reason = str(getattr(cause, "strerror", None) or cause or exc)
    # Any other httpx transport error (connect, read, write, protocol, proxy): nothing was answered; retry later.
    return ConnectionLostError(DiagnosisCode.CONNECT_FAILED, Scope.RETRY, stage=Stage.CONNECT, detail=exc,
                               facts={"reason": reason, **where})
