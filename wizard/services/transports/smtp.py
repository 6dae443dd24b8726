"""SMTP submission over aiosmtplib, with Mailwright's security rules.

Rules enforced here, not in the pages: certificates are always verified (system store or the
profile's CA file); credentials are only sent over TLS, except with `security = none` to a
loopback address the admin explicitly allowed; a server that offers STARTTLS is never used
in clear text.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from wizard.services import diagnostics
from wizard.services.model import Profile, Security
from wizard.services.smtp_closing import close_smtp
from wizard.services.transports.base import (
    Credential,
    FailureKind,
    OpensAsContext,
    PasswordCredential,
    RecipientResult,
    SendResult,
    TokenCredential,
    TransportError,
)
from wizard.services.validation import is_loopback

_KIND_BY_CODE = {
    "auth_failed": FailureKind.AUTH,
    "basic_auth_disabled": FailureKind.AUTH,
    "app_password_required": FailureKind.AUTH,
    "browser_login_required": FailureKind.AUTH,
    "oauth_not_authorized": FailureKind.AUTH,
    "token_expired": FailureKind.AUTH,
    "tls_required": FailureKind.CONFIG,
    "tls_certificate": FailureKind.CONFIG,
    "tls_failed": FailureKind.CONFIG,
    "auth_not_supported": FailureKind.CONFIG,
    "relay_denied": FailureKind.CONFIG,
    "send_as_denied": FailureKind.CONFIG,
    "quota_exceeded": FailureKind.TRANSIENT,  # Gmail's 550 5.4.5: the daily limit resets, the mail must wait
}

# OpenSSL X509 verify codes worth explaining differently (x509_vfy.h).
_NAME_MISMATCH = {62, 64}  # host name, IP address
_EXPIRED = 10
_UNTRUSTED = {2, 18, 19, 20, 21}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    ca_file: str = ""
    allow_plaintext_loopback: bool = False
    timeout_s: float = 30.0

    @classmethod
    def from_profile(cls, profile: Profile) -> SmtpSettings:
        return cls(host=profile.host, port=profile.port, security=profile.security, ca_file=profile.ca_file,
                   allow_plaintext_loopback=profile.allow_plaintext_loopback, timeout_s=profile.timeout_s)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Verified TLS (1.2+). A custom CA file replaces the system store, it never disables checks."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _root_cause(exc: BaseException) -> BaseException:
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


def translate(exc: BaseException, settings: SmtpSettings, **context: object) -> TransportError:
    """Any failure of a connection, handshake or command -> TransportError with its diagnosis."""
    if isinstance(exc, TransportError):
        return exc
    where = {"host": settings.host, "port": settings.port, **context}
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = "; ".join(diagnostics.format_reply(e.code, e.message) for e in exc.recipients)
        first = exc.recipients[0] if exc.recipients else None
        code = first.code if first else 550
        diagnosis = diagnostics.diagnose_smtp_reply(code, first.message if first else replies, **where)
        kind = FailureKind.TRANSIENT if diagnostics.is_transient(code) else FailureKind.PERMANENT
        return TransportError(diagnosis, kind, code)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        diagnosis = diagnostics.diagnose_smtp_reply(exc.code, exc.message, **where)
        if diagnostics.is_transient(exc.code):
            kind = FailureKind.TRANSIENT
        else:
            kind = _KIND_BY_CODE.get(diagnosis.code, FailureKind.PERMANENT)
        return TransportError(diagnosis, kind, exc.code)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
        reason = f"{settings.host}:{settings.port} did not answer within {settings.timeout_s:g} seconds ({exc})."
        return TransportError(diagnostics.make("timeout", reason=reason, **where), FailureKind.TRANSIENT)
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = describe_certificate_error(cause, settings.host)
        return TransportError(diagnostics.make("tls_certificate", reason=reason, detail=reason, **where),
                              FailureKind.CONFIG)
    if isinstance(cause, ssl.SSLError):
        reason = f"{cause.reason or cause}"
        return TransportError(diagnostics.make("tls_failed", reason=reason, detail=str(cause), **where),
                              FailureKind.CONFIG)
    if isinstance(cause, socket.gaierror):
        return TransportError(diagnostics.make("dns_failed", reason=cause.strerror or str(cause), **where),
                              FailureKind.TRANSIENT)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        reason = f"{settings.host}:{settings.port} closed the connection unexpectedly ({exc})."
        return TransportError(diagnostics.make("disconnected", reason=reason, detail=str(exc), **where),
                              FailureKind.TRANSIENT)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, OSError)):
        reason = getattr(cause, "strerror", None) or str(cause)
        return TransportError(diagnostics.make("connect_failed", reason=reason, detail=str(exc), **where),
                              FailureKind.TRANSIENT)
    detail = f"{type(exc).__name__}: {exc}"
    return TransportError(diagnostics.make("unknown", reason=detail, detail=detail, **where), FailureKind.PERMANENT)


class SmtpTransport(OpensAsContext):
    """One SMTP session: connect, (START)TLS, EHLO, AUTH once, then any number of messages."""

    def __init__(self, settings: SmtpSettings, credential: Credential = None) -> None:
        self.settings = settings
        self.credential = credential
        self._smtp: aiosmtplib.SMTP | None = None

    @classmethod
    def for_profile(cls, profile: Profile, credential: Credential) -> SmtpTransport:
        return cls(SmtpSettings.from_profile(profile), credential)

    @property
    def smtp(self) -> aiosmtplib.SMTP:
        if self._smtp is None:
            raise RuntimeError("not connected")
        return self._smtp

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    def _fail(self, code: str, reason: str) -> TransportError:
        s = self.settings
        return TransportError(diagnostics.make(code, reason=reason, detail=reason, host=s.host, port=s.port),
                              _KIND_BY_CODE.get(code, FailureKind.CONFIG))

    async def connect(self) -> str:
        """TCP connect (and the TLS handshake for implicit TLS); returns the server's greeting."""
        s = self.settings
        self._smtp = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout_s, use_tls=s.security is Security.TLS,
            start_tls=False, tls_context=tls_context(s.ca_file) if s.security is not Security.NONE else None,
        )
        try:
            response = await self._smtp.connect()
        except Exception as exc:
            self._drop()
            raise translate(exc, s) from None
        return diagnostics.format_reply(response.code, response.message)

    async def start_tls(self) -> str:
        """STARTTLS when the mode asks for it; refuses clear text to a server that offers encryption."""
        s = self.settings
        try:
            await self.smtp.ehlo()
        except Exception as exc:
            raise translate(exc, s) from None
        offers_starttls = self.smtp.supports_extension("starttls")
        if s.security is Security.NONE:
            if offers_starttls:
                raise self._fail("tls_required", f"{s.host} offers encryption (STARTTLS), but the security setting "
                                 "is 'none'.")
            return "no encryption (security = none)"
        if s.security is Security.STARTTLS:
            if not offers_starttls:
                raise self._fail("tls_required", f"{s.host}:{s.port} does not offer STARTTLS, so the connection "
                                 "cannot be encrypted. Port 465 with implicit TLS may work instead.")
            try:
                await self.smtp.starttls()
                await self.smtp.ehlo()
            except Exception as exc:
                raise translate(exc, s) from None
        return self.tls_summary()

    def tls_summary(self) -> str:
        ssl_object = self.smtp.get_transport_info("ssl_object")
        if ssl_object is None:
            return "no encryption"
        cipher = ssl_object.cipher()
        peer = ssl_object.getpeercert() or {}
        subject = dict(x[0] for x in peer.get("subject", ()))
        issuer = dict(x[0] for x in peer.get("issuer", ()))
        return (f"{ssl_object.version()} ({cipher[0] if cipher else 'unknown cipher'}), certificate for "
                f"{subject.get('commonName', self.settings.host)} issued by "
                f"{issuer.get('organizationName') or issuer.get('commonName', 'unknown')}")

    def capabilities(self) -> list[str]:
        return [f"{name.upper()} {value}".strip() for name, value in self.smtp.esmtp_extensions.items()]

    def _may_send_credentials(self) -> None:
        s = self.settings
        if self.smtp.get_transport_info("ssl_object") is not None:
            return
        if s.security is Security.NONE and is_loopback(s.host) and s.allow_plaintext_loopback:
            return
        if s.security is Security.NONE and is_loopback(s.host):
            raise self._fail("tls_required", "Sending a password without encryption needs your explicit "
                             "confirmation, and is only allowed to a server on this computer (loopback).")
        raise self._fail("tls_required", f"The connection to {s.host} is not encrypted, and Mailwright never "
                         "sends credentials in clear text to another computer.")

    async def authenticate(self) -> str:
        """AUTH with the credential; returns the mechanism and the server's reply."""
        credential = self.credential
        if credential is None:
            return "no sign-in configured"
        self._may_send_credentials()
        smtp = self.smtp
        if not smtp.supports_extension("auth"):
            if smtp.get_transport_info("ssl_object") is None:
                raise self._fail("tls_required", f"{self.settings.host} offers sign-in (AUTH) only on an encrypted "
                                 "connection.")
            raise self._fail("auth_not_supported", " on this port")
        try:
            if isinstance(credential, TokenCredential):
                return await self._auth_xoauth2(credential)
            assert isinstance(credential, PasswordCredential)
            response = await smtp.login(credential.username, credential.password)
        except TransportError:
            raise
        except Exception as exc:
            if isinstance(exc, aiosmtplib.SMTPException) and not isinstance(exc, aiosmtplib.SMTPResponseException) \
                    and "AUTH" in str(exc):
                raise self._fail("auth_not_supported", "") from None
            raise translate(exc, self.settings, username=credential.username,
                            from_address=credential.username) from None
        methods = ", ".join(smtp.supported_auth_methods).upper()
        return f"{diagnostics.format_reply(response.code, response.message)} (server offers {methods})"

    async def _auth_xoauth2(self, credential: TokenCredential) -> str:
        # Token rejected once (expired, revoked scope): refresh and try exactly once more.
        for attempt in (False, True):
            token = await credential.token_source(attempt)
            try:
                response = await self.smtp.auth_xoauth2(credential.username, token)
            except aiosmtplib.SMTPAuthenticationError as exc:
                if attempt or diagnostics.code_for_smtp_reply(exc.code, exc.message) == "basic_auth_disabled":
                    error = translate(exc, self.settings, username=credential.username,
                                      from_address=credential.username)
                    if error.diagnosis.code == "auth_failed":
                        diagnosis = diagnostics.make("oauth_not_authorized", detail=error.diagnosis.detail,
                                                     username=credential.username, host=self.settings.host)
                        error = TransportError(diagnosis, FailureKind.AUTH, exc.code)
                    raise error from None
                continue
            return f"XOAUTH2: {diagnostics.format_reply(response.code, response.message)}"
        raise AssertionError("unreachable")

    async def open(self) -> None:
        if self.is_open:
            return
        await self.connect()
        try:
            await self.start_tls()
            await self.authenticate()
        except BaseException:
            await self.close()
            raise

    async def check_sender(self, sender: str) -> str:
        """MAIL FROM then RSET: proves the sender is accepted without sending anything."""
        try:
            response = await self.smtp.mail(sender)
            await self.smtp.rset()
        except Exception as exc:
            raise translate(exc, self.settings, from_address=sender) from None
        return diagnostics.format_reply(response.code, response.message)

    async def send(self, sender: str, recipients: Sequence[str], message: bytes) -> SendResult:
        """One transaction; refused recipients are reported, not resent. Raises when nobody accepted it."""
        await self.open()
        smtp = self.smtp
        results: list[RecipientResult] = []
        try:
            await smtp.mail(sender)
            for address in recipients:
                try:
                    rcpt = await smtp.rcpt(address)
                    results.append(RecipientResult(address, True, diagnostics.format_reply(rcpt.code, rcpt.message)))
                except aiosmtplib.SMTPRecipientRefused as refused:
                    if diagnostics.is_transient(refused.code) and len(recipients) == 1:
                        raise
                    results.append(RecipientResult(address, False,
                                                   diagnostics.format_reply(refused.code, refused.message)))
            if not any(r.accepted for r in results):
                await smtp.rset()
                first = next(iter(results))
                code = int(first.reply.split(" ", 1)[0]) if first.reply[:3].isdigit() else 550
                raise aiosmtplib.SMTPRecipientRefused(code, first.reply[4:], first.address)
            response = await smtp.data(message)
        except asyncio.CancelledError:
            self._drop()
            raise
        except Exception as exc:
            error = translate(exc, self.settings, from_address=sender)
            if error.kind is FailureKind.TRANSIENT and not isinstance(exc, aiosmtplib.SMTPResponseException):
                self._drop()
            else:
                await self._reset_quietly()
            raise error from None
        return SendResult(diagnostics.format_reply(response.code, response.message), tuple(results))

    async def _reset_quietly(self) -> None:
        try:
            if self.is_open:
                await self.smtp.rset()
        except Exception:
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        # TLS releases the socket only after the close_notify round trip: wait for it, or a loop that ends right
        # after (CLI, tests, app exit) leaks the socket ("unclosed transport").
        await close_smtp(smtp)
