"""SMTP and network failures -> the typed error tree (services/errors.py), with the stage they happened at.

Only the exceptions a connection is expected to raise are translated (`EXPECTED`); anything else is a bug
and travels up unchanged, to the sender's boundary, which logs its traceback and retries the message later
as `internal_error`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading

import aiosmtplib

from wizard.services.errors import (
    ConnectionLostError,
    DeliveryTimeoutError,
    DiagnosisCode,
    Scope,
    SmtpReplyError,
    Stage,
    TransportError,
)

# What a network session may raise: protocol errors, OS-level socket and TLS errors, timeouts.
EXPECTED: tuple[type[BaseException], ...] = (aiosmtplib.SMTPException, OSError, TimeoutError)

# OpenSSL X509 verify codes worth explaining differently (x509_vfy.h).
_NAME_MISMATCH = {62, 64}  # host name, IP address
_EXPIRED = 10
_UNTRUSTED = {2, 18, 19, 20, 21}

# The command an aiosmtplib reply exception answers, when the caller did not say.
_STAGE_BY_EXCEPTION: tuple[tuple[type[aiosmtplib.SMTPResponseException], Stage], ...] = (
    (aiosmtplib.SMTPConnectResponseError, Stage.CONNECT),
    (aiosmtplib.SMTPHeloError, Stage.EHLO),
    (aiosmtplib.SMTPAuthenticationError, Stage.AUTH),
    (aiosmtplib.SMTPSenderRefused, Stage.MAIL),
    (aiosmtplib.SMTPRecipientRefused, Stage.RCPT),
    (aiosmtplib.SMTPDataError, Stage.DATA),
)


# Verified contexts, built once per CA file (and again when the file changes). Loading the system store costs
# 40-60 ms of CPU: paid on the event loop for every connection attempt, it stalled the app's window each time the
# sender retried an account (benchmarks/responsiveness.py --queued). A context is only read once configured, so
# connections share it, as aiosmtplib and httpx allow.
_CONTEXTS: dict[tuple[str, int, int], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()
_CONTEXTS_KEPT = 16


def _context_key(ca_file: str) -> tuple[str, int, int] | None:
    if not ca_file:
        return ("", 0, 0)
    try:
        info = os.stat(ca_file)
    except OSError:
        return None  # not cached: building the context names the problem
    return (ca_file, info.st_mtime_ns, info.st_size)


def _cached_context(ca_file: str) -> ssl.SSLContext | None:
    key = _context_key(ca_file)
    if key is None:
        return None
    with _CONTEXTS_LOCK:
        return _CONTEXTS.get(key)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Verified TLS (1.2+). A custom CA file replaces the system store, it never disables checks.
    A CA file that is missing, unreadable or not PEM raises `TransportError(ca_file_unreadable)`: the account's
    settings are wrong, so its mail is held; other profiles are not affected."""
    key = _context_key(ca_file)
    if key is not None:
        with _CONTEXTS_LOCK:
            cached = _CONTEXTS.get(key)
        if cached is not None:
            return cached
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ValueError) as exc:  # FileNotFoundError, PermissionError, ssl.SSLError (no PEM inside)
        reason = (f"The CA file {ca_file} of this profile cannot be read as a PEM certificate file "
                  f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}).")
        raise TransportError(DiagnosisCode.CA_FILE_UNREADABLE, Scope.ACCOUNT, stage=Stage.TLS, detail=reason,
                             facts={"reason": reason}) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if key is not None:
        with _CONTEXTS_LOCK:
            if len(_CONTEXTS) >= _CONTEXTS_KEPT:
                _CONTEXTS.clear()  # CA files edited again and again: start over rather than grow
            _CONTEXTS[key] = context
    return context


async def atls_context(ca_file: str = "") -> ssl.SSLContext:
    """`tls_context` for the event loop: one not built yet is built on a worker thread."""
    cached = _cached_context(ca_file)
    return cached if cached is not None else await asyncio.to_thread(tls_context, ca_file)


def root_cause(exc: BaseException) -> BaseException:
    """The OS/TLS error an aiosmtplib exception wraps (its cause chain), or the exception itself."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt = current.__cause__ or current.__context__
        if nxt is None:
            break
        if isinstance(nxt, (ssl.SSLError, socket.gaierror, ConnectionRefusedError, OSError, TimeoutError)):
            current = nxt
            continue
        break
    return current


def describe_certificate_error(error: ssl.SSLCertVerificationError, host: str) -> str:
    code = getattr(error, "verify_code", 0)
    message = getattr(error, "verify_message", "") or str(error)
    if code in _NAME_MISMATCH:
        return (f"Hostname mismatch: the certificate presented by the server is not valid for '{host}' "
                f"({message}). Someone may be intercepting the connection, or the host name is an alias.")
    if code == _EXPIRED:
        return f"The certificate presented by {host} has expired ({message})."
    if code in _UNTRUSTED:
        return (f"Unknown certificate authority: the certificate presented by {host} was issued by a CA this "
                f"computer does not trust ({message}).")
    return f"The certificate presented by {host} was rejected: {message}."


def reply_stage(exc: aiosmtplib.SMTPResponseException, default: Stage) -> Stage:
    for kind, stage in _STAGE_BY_EXCEPTION:
        if isinstance(exc, kind):
            return stage
    return default


def translate(exc: BaseException, host: str, port: int, timeout_s: float, stage: Stage = Stage.CONNECT,
              **context: object) -> TransportError:
    """An expected failure of a connection, handshake or command -> the typed error for `stage`."""
    if isinstance(exc, TransportError):
        return exc
    where = {"host": host, "port": port, **context}
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpReplyError(reply_stage(exc, stage), exc.code, exc.message, context=where)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
        reason = f"{host}:{port} did not answer within {timeout_s:g} seconds ({exc})."
        return DeliveryTimeoutError(DiagnosisCode.TIMEOUT, Scope.RETRY, stage=stage, facts={"reason": reason, **where})
    cause = root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = describe_certificate_error(cause, host)
        return TransportError(DiagnosisCode.TLS_CERTIFICATE, Scope.ACCOUNT, stage=Stage.TLS, detail=reason,
                              facts={"reason": reason, **where})
    if isinstance(cause, ssl.SSLError):
        reason = f"{cause.reason or cause}"
        return TransportError(DiagnosisCode.TLS_FAILED, Scope.ACCOUNT, stage=Stage.TLS, detail=cause,
                              facts={"reason": reason, **where})
    if isinstance(cause, socket.gaierror):
        reason = cause.strerror or str(cause)
        return ConnectionLostError(DiagnosisCode.DNS_FAILED, Scope.RETRY, stage=Stage.CONNECT,
                                   facts={"reason": reason, **where})
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        reason = f"{host}:{port} closed the connection unexpectedly ({exc})."
        return ConnectionLostError(DiagnosisCode.DISCONNECTED, Scope.RETRY, stage=stage, detail=exc,
                                   facts={"reason": reason, **where})
    if isinstance(exc, (aiosmtplib.SMTPConnectError, OSError)):
        reason = getattr(cause, "strerror", None) or str(cause)
        return ConnectionLostError(DiagnosisCode.CONNECT_FAILED, Scope.RETRY, stage=Stage.CONNECT, detail=exc,
                                   facts={"reason": reason, **where})
    # An aiosmtplib error without a reply (SMTPNotSupported, a malformed reply): the server is not usable now.
    detail = f"{type(exc).__name__}: {exc}"
    return TransportError(DiagnosisCode.SERVER_ERROR, Scope.RETRY, stage=stage, detail=detail,
                          facts={"reply": detail, **where})
