"""SMTP submission over aiosmtplib, with Mailwright's security rules.

Rules enforced here, not in the pages: certificates are always verified (system store or the
profile's CA file); credentials are only sent over TLS, except with `security = none` to a
loopback address the admin explicitly allowed; a server that offers STARTTLS is never used
in clear text.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib

from wizard.services import diagnostics
from wizard.services.errors import DiagnosisCode, Scope, SmtpReplyError, Stage, TransportError
from wizard.services.model import Profile, Security
from wizard.services.smtp_closing import close_smtp
from wizard.services.transports import smtp_mode
from wizard.services.transports.base import (
    BeforeData,
    Credential,
    OpensAsContext,
    PasswordCredential,
    RecipientResult,
    SendResult,
    TokenCredential,
)
from wizard.services.transports.smtp_errors import EXPECTED, atls_context, describe_certificate_error, tls_context
from wizard.services.transports.smtp_errors import translate as translate_error
from wizard.services.validation import is_loopback


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    ca_file: str = ""
    allow_plaintext_loopback: bool = False
    timeout_s: float = 30.0
    banner_wait_s: float = smtp_mode.BANNER_WAIT_S  # no greeting by then: probe the port for implicit TLS

    @classmethod
    def from_profile(cls, profile: Profile) -> SmtpSettings:
        return cls(host=profile.host, port=profile.port, security=profile.security, ca_file=profile.ca_file,
                   allow_plaintext_loopback=profile.allow_plaintext_loopback, timeout_s=profile.timeout_s)


__all__ = ["SmtpSettings", "SmtpTransport", "describe_certificate_error", "tls_context", "translate"]


def translate(exc: BaseException, settings: SmtpSettings, stage: Stage = Stage.CONNECT,
              **context: object) -> TransportError:
    """An expected failure at `stage` -> the typed error (smtp_errors.translate with the settings' host)."""
    return translate_error(exc, settings.host, settings.port, settings.timeout_s, stage, **context)


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

    def _fail(self, code: DiagnosisCode, reason: str, stage: Stage) -> TransportError:
        """A settings problem found on our side (no STARTTLS offered, no AUTH): the account's mail waits."""
        s = self.settings
        return TransportError(code, Scope.ACCOUNT, stage=stage, detail=reason,
                              facts={"reason": reason, "host": s.host, "port": s.port})

    async def connect(self) -> str:
        """TCP connect (and the TLS handshake for implicit TLS); returns the server's greeting. A security mode
        that does not match the port is named within seconds (tls_mode_mismatch), in both directions."""
        s = self.settings
        context = await atls_context(s.ca_file) if s.security is not Security.NONE else None
        self._smtp = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout_s,
                                     use_tls=s.security is Security.TLS, start_tls=False, tls_context=context)
        try:
            response = await self._greeting(context)
        except TransportError:
            self._drop()
            raise
        except EXPECTED as exc:
            self._drop()
            error = translate(exc, s, Stage.TLS if s.security is Security.TLS else Stage.CONNECT)
            if (s.security is Security.TLS and error.stage is Stage.TLS
                    and error.code == DiagnosisCode.TLS_FAILED
                    and await smtp_mode.greets_in_plain_text(s.host, s.port, smtp_mode.PROBE_TIMEOUT_S)):
                # The handshake met a plain "220" greeting: this is a STARTTLS (or plain) port, e.g. 587.
                raise smtp_mode.mismatch(s.host, s.port, s.security, Security.STARTTLS) from exc
            raise error from exc
        return diagnostics.format_reply(response.code, response.message)

    async def _greeting(self, context: ssl.SSLContext | None) -> aiosmtplib.SMTPResponse:
        """The server's greeting; without one after `banner_wait_s`, a second connection tries a TLS handshake,
        and if the port speaks TLS from the first byte (465) the wrong mode is named instead of timing out."""
        s = self.settings
        connecting = asyncio.ensure_future(self.smtp.connect())
        probe: asyncio.Future[bool] | None = None
        try:
            if s.security is Security.TLS or s.timeout_s <= s.banner_wait_s:
                return await connecting
            done, _ = await asyncio.wait({connecting}, timeout=s.banner_wait_s)
            if not done:
                probe = asyncio.ensure_future(smtp_mode.speaks_tls(
                    s.host, s.port, context or await atls_context(), min(smtp_mode.PROBE_TIMEOUT_S, s.timeout_s)))
                racing: list[asyncio.Future[Any]] = [connecting, probe]
                finished, _ = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                if connecting not in finished and probe.result():
                    raise smtp_mode.mismatch(s.host, s.port, s.security, Security.TLS)
            return await connecting
        finally:
            for task in (connecting, probe):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, *EXPECTED):
                        await task

    async def start_tls(self) -> str:
        """STARTTLS when the mode asks for it; refuses clear text to a server that offers encryption."""
        s = self.settings
        try:
            await self.smtp.ehlo()
        except EXPECTED as exc:
            raise translate(exc, s, Stage.EHLO) from exc
        offers_starttls = self.smtp.supports_extension("starttls")
        if s.security is Security.NONE:
            if offers_starttls:
                raise self._fail(DiagnosisCode.TLS_REQUIRED, f"{s.host} offers encryption (STARTTLS), but the "
                                 "security setting is 'none'.", Stage.EHLO)
            return "no encryption (security = none)"
        if s.security is Security.STARTTLS:
            if not offers_starttls:
                raise self._fail(DiagnosisCode.TLS_REQUIRED, f"{s.host}:{s.port} does not offer STARTTLS, so the "
                                 "connection cannot be encrypted. Port 465 with implicit TLS may work instead.",
                                 Stage.EHLO)
            try:
                await self.smtp.starttls()
            except EXPECTED as exc:
                # A refused STARTTLS (454 "TLS not available") is a TLS-stage reply: temporary, never "throttled".
                raise translate(exc, s, Stage.TLS) from exc
            try:
                await self.smtp.ehlo()
            except EXPECTED as exc:
                raise translate(exc, s, Stage.EHLO) from exc
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
            raise self._fail(DiagnosisCode.TLS_REQUIRED, "Sending a password without encryption is only allowed "
                             "to a server on this computer (loopback), and only when you confirm it: "
                             "`mailwright profile add ... --allow-plaintext-loopback`, or the checkbox 'Send the "
                             "password unencrypted to this server on my own computer' on the server page.",
                             Stage.AUTH)
        raise self._fail(DiagnosisCode.TLS_REQUIRED, f"The connection to {s.host} is not encrypted, and Mailwright "
                         "never sends credentials in clear text to another computer.", Stage.AUTH)

    async def authenticate(self) -> str:
        """AUTH with the credential; returns the mechanism and the server's reply."""
        credential = self.credential
        if credential is None:
            return "no sign-in configured"
        self._may_send_credentials()
        smtp = self.smtp
        if not smtp.supports_extension("auth"):
            encrypted = smtp.get_transport_info("ssl_object") is not None
            if not encrypted and smtp.supports_extension("starttls"):
                # RFC 4954 section 4: servers may advertise AUTH only after STARTTLS.
                raise self._fail(DiagnosisCode.TLS_REQUIRED, f"{self.settings.host} offers sign-in (AUTH) only on "
                                 "an encrypted connection.", Stage.AUTH)
            raise self._fail(DiagnosisCode.AUTH_NOT_SUPPORTED, " on this port", Stage.AUTH)
        try:
            if isinstance(credential, TokenCredential):
                return await self._auth_xoauth2(credential)
            assert isinstance(credential, PasswordCredential)
            response = await smtp.login(credential.username, credential.password)
        except TransportError:
            raise
        except aiosmtplib.SMTPException as exc:
            if not isinstance(exc, aiosmtplib.SMTPResponseException) and "AUTH" in str(exc):
                raise self._fail(DiagnosisCode.AUTH_NOT_SUPPORTED, "", Stage.AUTH) from exc
            raise translate(exc, self.settings, Stage.AUTH, username=credential.username,
                            from_address=credential.username) from exc
        except EXPECTED as exc:
            raise translate(exc, self.settings, Stage.AUTH, username=credential.username,
                            from_address=credential.username) from exc
        methods = ", ".join(smtp.supported_auth_methods).upper()
        return f"{diagnostics.format_reply(response.code, response.message)} (server offers {methods})"

    async def _auth_xoauth2(self, credential: TokenCredential) -> str:
        # Token rejected once (expired, revoked scope): refresh and try exactly once more.
        for attempt in (False, True):
            token = await credential.token_source(attempt)
            try:
                response = await self.smtp.auth_xoauth2(credential.username, token)
            except aiosmtplib.SMTPAuthenticationError as exc:
                error = translate(exc, self.settings, Stage.AUTH, username=credential.username,
                                  from_address=credential.username)
                if attempt or error.code == DiagnosisCode.BASIC_AUTH_DISABLED:
                    if error.code == DiagnosisCode.AUTH_FAILED and error.scope is Scope.ACCOUNT:
                        # 5.7.3 after a fresh, valid token: the mailbox does not accept this app or user.
                        error = TransportError(DiagnosisCode.OAUTH_NOT_AUTHORIZED, Scope.ACCOUNT, exc.code,
                                               stage=Stage.AUTH, enhanced=error.enhanced, text=error.text,
                                               detail=error.reply, facts={"username": credential.username,
                                                                          "host": self.settings.host})
                    raise error from exc
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
        except EXPECTED as exc:
            raise translate(exc, self.settings, Stage.MAIL, from_address=sender) from exc
        return diagnostics.format_reply(response.code, response.message)

    async def send(self, sender: str, recipients: Sequence[str], message: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult:
        """One transaction; refused recipients are reported, not resent. Raises when nobody accepted it
        (an `SmtpReplyError` at RCPT whose `recipients` hold every reply)."""
        await self.open()
        smtp = self.smtp
        results: list[RecipientResult] = []
        refused: list[tuple[str, int, str]] = []
        stage = Stage.MAIL
        try:
            await smtp.mail(sender)
            stage = Stage.RCPT
            for address in recipients:
                try:
                    rcpt = await smtp.rcpt(address)
                    results.append(RecipientResult(address, True, diagnostics.format_reply(rcpt.code, rcpt.message)))
                except aiosmtplib.SMTPRecipientRefused as exc:
                    error = translate(exc, self.settings, Stage.RCPT, from_address=sender)
                    if error.scope is not Scope.RECIPIENT and error.scope is not Scope.RETRY:
                        raise error from exc  # an account-level refusal (5.7.64 TenantAttribution) or 421
                    refused.append((address, exc.code, exc.message))
                    results.append(RecipientResult(address, False, error.reply))
            if not any(r.accepted for r in results):
                await smtp.rset()
                address, code, text = min(refused, key=lambda r: r[1])  # a 4xx first: the message is retried
                raise SmtpReplyError(Stage.RCPT, code, text, recipients=refused, context={
                    "host": self.settings.host, "port": self.settings.port, "from_address": sender})
            stage = Stage.DATA
            if before_data is not None:
                await before_data()
            response = await smtp.data(message)
        except asyncio.CancelledError:
            self._drop()
            raise
        except TransportError:
            await self._reset_quietly()
            raise
        except EXPECTED as exc:
            error = translate(exc, self.settings, stage, from_address=sender)
            if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code != 421:
                await self._reset_quietly()
            else:
                self._drop()
            raise error from exc
        return SendResult(diagnostics.format_reply(response.code, response.message), tuple(results))

    async def _reset_quietly(self) -> None:
        try:
            if self.is_open:
                await self.smtp.rset()
        except EXPECTED:
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
