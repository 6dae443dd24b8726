"""Mailwright's typed errors: facts as fields, the failure scope derived from them in one place.

A delivery failure is a `TransportError` that carries what the server or the network said: the stage
(connect, TLS, EHLO, AUTH, MAIL, RCPT, DATA, Graph request), the reply code, the RFC 3463 enhanced status
and the server's text. What it means for delivery (this recipient, this message, the whole account, or try
again later) is `failure_scope`, a pure function of those fields: never of the server's wording, because
Postfix writes "relay recipient table" into a plain unknown-user reply. Words for a person come from
`describe(error)`, used where a person reads them (pages, CLI output, the outbox record).

Built-ins are mixed in where they fit, as aiosmtplib's `SMTPTimeoutError(SMTPException, TimeoutError)`:
a `DeliveryTimeoutError` is a `TimeoutError`, a lost connection a `ConnectionError`, a full disk an `OSError`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from enum import StrEnum

from wizard.services import diagnostics
from wizard.services.diagnostics import Diagnosis


class DiagnosisCode(StrEnum):
    """The stable codes of `--json` output and the outbox record (DESIGN.md: "The CLI contract")."""

    AUTH_FAILED = "auth_failed"
    BASIC_AUTH_DISABLED = "basic_auth_disabled"
    APP_PASSWORD_REQUIRED = "app_password_required"
    BROWSER_LOGIN_REQUIRED = "browser_login_required"
    TLS_REQUIRED = "tls_required"
    TLS_CERTIFICATE = "tls_certificate"
    TLS_FAILED = "tls_failed"
    TLS_MODE_MISMATCH = "tls_mode_mismatch"
    TLS_VERSION = "tls_version"
    CA_FILE_UNREADABLE = "ca_file_unreadable"
    CONNECT_FAILED = "connect_failed"
    DNS_FAILED = "dns_failed"
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    SEND_AS_DENIED = "send_as_denied"
    RELAY_DENIED = "relay_denied"
    SENDER_REJECTED = "sender_rejected"
    RECIPIENT_REJECTED = "recipient_rejected"
    AUTH_NOT_SUPPORTED = "auth_not_supported"
    THROTTLED = "throttled"
    QUOTA_EXCEEDED = "quota_exceeded"
    DMARC_REJECTED = "dmarc_rejected"
    MESSAGE_REJECTED = "message_rejected"
    MESSAGE_TOO_LARGE = "message_too_large"
    SERVER_ERROR = "server_error"
    ACCESS_DENIED = "access_denied"
    MAILBOX_NOT_ENABLED = "mailbox_not_enabled"
    INVALID_TOKEN = "invalid_token"
    OAUTH_NOT_AUTHORIZED = "oauth_not_authorized"
    TOKEN_EXPIRED = "token_expired"
    KEYRING_UNAVAILABLE = "keyring_unavailable"
    SECRET_MISSING = "secret_missing"
    INVALID_INPUT = "invalid_input"
    STORAGE_FULL = "storage_full"
    OUTBOX_BUSY = "outbox_busy"
    INTERNAL_ERROR = "internal_error"
    INVALID_CLIENT_SECRET = "invalid_client_secret"
    CLIENT_SECRET_EXPIRED = "client_secret_expired"
    APP_NOT_FOUND = "app_not_found"
    TENANT_NOT_FOUND = "tenant_not_found"
    CONSENT_REQUIRED = "consent_required"
    MFA_REQUIRED = "mfa_required"
    PERSONAL_ACCOUNT = "personal_account"
    PUBLIC_CLIENT_DISABLED = "public_client_disabled"
    NOT_SIGNED_IN = "not_signed_in"
    SECURITY_DEFAULTS = "security_defaults"
    OAUTH_FAILED = "oauth_failed"
    UNKNOWN = "unknown"


class Stage(StrEnum):
    """Where in the session a failure happened (RFC 5321 order), or Graph's one request."""

    CONNECT = "connect"
    TLS = "tls"
    EHLO = "ehlo"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    END_OF_DATA = "end_of_data"
    GRAPH = "graph"


class Scope(StrEnum):
    """What a failure affects, and so what the sender does."""

    RECIPIENT = "recipient"  # this recipient only: the message still goes to the others
    MESSAGE = "message"  # fail this message; the account keeps sending
    RETRY = "retry"  # try this message again later, with backoff
    THROTTLE = "throttle"  # the account is over a limit: retry later, and send nothing more on it this round
    ACCOUNT = "account"  # the account or its settings are broken: pause it and hold its mail


# Enhanced status codes that speak about the account, whatever the stage (REFERENCE.md, Microsoft 365).
_ACCOUNT_ENHANCED = frozenset({
    "5.7.139",  # SMTP AUTH disabled for the tenant or mailbox
    "5.7.30",  # basic authentication not supported
    "5.7.57",  # client not authenticated to send mail
    "5.7.60",  # SendAs permission missing
    "5.2.252",  # SendAsDenied
    "5.7.64",  # TenantAttribution: the connector does not recognise this sender
})
# Over a limit of the account, not a fault of the message: Gmail's daily quota (5.4.5), Gmail's "unusual
# rate" (4.7.28), Exchange's submission quotas (5.2.251-5.2.255 other than SendAsDenied), concurrency (4.3.2).
_THROTTLE_ENHANCED = frozenset({"5.4.5", "4.7.28", "4.3.2", "5.2.251", "5.2.253", "5.2.254", "5.2.255"})
# Graph error codes that are about one message; every other 4xx of the mailbox's URL is about the account.
_GRAPH_MESSAGE_CODES = frozenset({"ErrorInvalidRecipients", "ErrorMessageSizeExceeded", "ErrorSendAsDenied",
                                  "RequestBodyTooLarge", "ErrorMimeContentConversionFailed", "BadRequest",
                                  "ErrorInvalidRequest", "ErrorItemNotFound"})
_GRAPH_THROTTLE_CODES = frozenset({"ErrorQuotaExceeded", "ApplicationThrottled", "MailboxConcurrency"})


def failure_scope(stage: Stage, reply_code: int, enhanced: str = "", error_code: str = "") -> Scope:
    """What a reply means for delivery, from its protocol facts only. `reply_code` 0 means no reply at all
    (refused, dropped, timed out); `error_code` is Graph's `error.code`."""
    if stage is Stage.GRAPH:
        return _graph_scope(reply_code, error_code)
    if reply_code == 0:
        # No reply: the network or the server is away, unless the encrypted session itself could not be set up.
        return Scope.ACCOUNT if stage is Stage.TLS else Scope.RETRY
    if enhanced in _THROTTLE_ENHANCED or reply_code == 421:
        return Scope.THROTTLE
    if enhanced in _ACCOUNT_ENHANCED and reply_code >= 500:
        return Scope.ACCOUNT
    if 400 <= reply_code < 500:
        return Scope.RETRY  # 4xx anywhere: this message again later (STARTTLS 454 included)
    if stage in (Stage.TLS, Stage.AUTH):
        return Scope.ACCOUNT
    if stage is Stage.MAIL:
        # 5.7.x at MAIL FROM is a policy refusal of the sender: the account may not send as this address.
        # Other 5xx (a malformed or unknown sender address) are about this message's envelope.
        return Scope.ACCOUNT if enhanced.startswith("5.7.") or reply_code == 530 else Scope.MESSAGE
    if stage is Stage.RCPT:
        return Scope.RECIPIENT
    if stage in (Stage.DATA, Stage.END_OF_DATA):
        return Scope.MESSAGE
    return Scope.RETRY  # a 5xx banner or EHLO reply: the server refuses sessions for now


def _graph_scope(status: int, error_code: str) -> Scope:
    if error_code in _GRAPH_THROTTLE_CODES or status in (429, 503):
        return Scope.THROTTLE
    if status >= 500 or status == 0:
        return Scope.RETRY
    if error_code in _GRAPH_MESSAGE_CODES or status in (400, 413):
        return Scope.MESSAGE
    if status in (401, 403, 404):
        return Scope.ACCOUNT  # the token, the permission or the mailbox itself (after one token refresh)
    return Scope.MESSAGE


class MailwrightError(Exception):
    """The root of Mailwright's own errors. `code` is the diagnosis code `describe` renders."""

    code: str = DiagnosisCode.INTERNAL_ERROR


class DescribedError(MailwrightError):
    """An error that carries facts, not words: the diagnosis `code` chosen from what happened, the `detail` (the
    reply or the underlying error) and the values its words need (`facts`: host, port, the reason in the
    network's or provider's own terms, the account). `describe(error)` renders the words where a person reads
    them; `diagnosis` and `str()` go through it."""

    def __init__(self, code: str, *, detail: object = "", facts: Mapping[str, object] | None = None) -> None:
        self.code = code if code in diagnostics.ENTRIES else DiagnosisCode.UNKNOWN
        self.detail = str(detail)
        super().__init__(self.code, self.detail)
        self.facts = dict(facts or {})

    def __str__(self) -> str:
        words = describe(self)
        return f"{words.title}: {words.detail or words.explanation}"

    @property
    def diagnosis(self) -> Diagnosis:
        """`describe(self)`: the words, rendered now (kept for the pages and commands that read them)."""
        return describe(self)


class TransportError(DescribedError):
    """A send or connection failure as facts: the stage, the reply code, the enhanced status and the server's text,
    the diagnosis code chosen from them, what the words need, and its `scope` (what it means for delivery).
    Never holds a secret."""

    def __init__(self, code: str, scope: Scope, reply_code: int = 0, retry_after_s: float | None = None, *,
                 stage: Stage | None = None, enhanced: str = "", text: str = "",
                 recipients: Sequence[tuple[str, int, str]] = (), detail: object = "",
                 facts: Mapping[str, object] | None = None) -> None:
        super().__init__(code, detail=detail, facts=facts)
        self.scope = scope
        self.reply_code = reply_code
        self.retry_after_s = retry_after_s
        self.stage = stage
        self.enhanced = enhanced
        self.text = text
        # RCPT replies of a transaction nobody accepted: (address, reply code, reply text) each.
        self.recipients = tuple(recipients)

    @property
    def reply(self) -> str:
        """The server's reply as one line ('550 5.1.1 ...'), or the diagnosis title when there was none."""
        return self.detail or describe(self).title


class SmtpReplyError(TransportError):
    """An SMTP server answered a command with a 4xx/5xx reply."""

    def __init__(self, stage: Stage, reply_code: int, text: str, *, recipients: Sequence[tuple[str, int, str]] = (),
                 context: Mapping[str, object] | None = None) -> None:
        enhanced = diagnostics.enhanced_status(text)
        reply = diagnostics.format_reply(reply_code, text)
        super().__init__(diagnostics.code_for_reply(stage.value, reply_code, enhanced, text),
                         failure_scope(stage, reply_code, enhanced), reply_code, stage=stage, enhanced=enhanced,
                         text=text, recipients=recipients, detail=reply, facts={"reply": reply, **(context or {})})


class DeliveryTimeoutError(TransportError, TimeoutError):
    """The server did not answer in time (retry later)."""


class ConnectionLostError(TransportError, ConnectionError):
    """Refused, unreachable or dropped: no reply to classify (retry later)."""


class StorageError(MailwrightError, OSError):
    """The outbox cannot be written: the disk is full (`storage_full`) or another program holds it locked."""

    def __init__(self, code: DiagnosisCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


_FULL = re.compile(r"database or disk is full|disk I/O error|no space left", re.IGNORECASE)
_BUSY = re.compile(r"database is locked|database is busy|database table is locked", re.IGNORECASE)


def storage_error(exc: BaseException) -> StorageError | None:
    """sqlite3's full-disk and lock errors as a `StorageError`; None for anything else. SQLite reports these
    only as text (its extended result codes are not exposed before Python 3.11's `sqlite_errorcode`)."""
    if isinstance(exc, StorageError):
        return exc
    errno_ = getattr(exc, "sqlite_errorcode", None)
    if errno_ is not None:
        primary = errno_ & 0xFF
        if primary == sqlite3.SQLITE_FULL or primary == sqlite3.SQLITE_IOERR:
            return StorageError(DiagnosisCode.STORAGE_FULL, str(exc))
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StorageError(DiagnosisCode.OUTBOX_BUSY, str(exc))
    if isinstance(exc, sqlite3.OperationalError | OSError):
        if _FULL.search(str(exc)) or getattr(exc, "errno", None) == 28:  # ENOSPC
            return StorageError(DiagnosisCode.STORAGE_FULL, str(exc))
        if _BUSY.search(str(exc)):
            return StorageError(DiagnosisCode.OUTBOX_BUSY, str(exc))
    return None


def is_outbox_busy(exc: BaseException) -> bool:
    """Another connection holds the outbox's write lock: wait and try again, nothing is wrong with the file."""
    storage = storage_error(exc)
    return storage is not None and storage.code is DiagnosisCode.OUTBOX_BUSY


def describe(error: BaseException, *, log_path: str = "", **context: object) -> Diagnosis:
    """The plain-words diagnosis for any error: used only where a person reads it."""
    if isinstance(error, DescribedError):  # TransportError, OAuthError
        return diagnostics.make(error.code, detail=error.detail, **{**error.facts, **context})
    diagnosis = getattr(error, "diagnosis", None)
    if isinstance(diagnosis, Diagnosis):  # M365Error (the Microsoft 365 set-up's own words)
        return diagnosis
    storage = storage_error(error)
    if storage is not None:
        return diagnostics.make(storage.code, detail=storage.detail, reason=storage.detail, **context)
    if isinstance(error, MailwrightError) and error.code != DiagnosisCode.INTERNAL_ERROR:
        return diagnostics.make(error.code, detail=str(error), reason=str(error), **context)
    detail = f"{type(error).__name__}: {error}"
    where = f" The details are in {log_path}." if log_path else ""
    return diagnostics.make(DiagnosisCode.INTERNAL_ERROR, detail=detail, reason=detail, log_path=log_path or
                            "the log file", where=where, **context)
