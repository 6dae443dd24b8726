"""The loopback SMTP relay: legacy applications submit here, mail goes into the durable outbox.

250 is answered only after the outbox row is committed, so whatever the application was told is
accepted survives a crash. The listener binds to loopback unless the caller explicitly allows a
remote bind, and then it requires TLS and AUTH from `[relay]` (relay_security.py) or refuses to start:
an open relay is never an option.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Iterator
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from wizard.services.config import Config
from wizard.services.errors import DiagnosisCode, storage_error
from wizard.services.outbox import Outbox
from wizard.services.relay_security import (
    RelayAuthenticator,
    RelaySecurity,
    RelaySecurityError,
    loopback_authenticator,
    peer_host,
    relay_security_from_config,
)
from wizard.services.relay_smtp import ConnectionSlots, RelaySMTP
from wizard.services.relay_users import RelayUser
from wizard.services.settings import RelaySettings
from wizard.services.submission import (
    InvalidMessageError,
    MessageTooLargeError,
    NoProfileError,
    QueuedMessage,
    SenderNotAuthorizedError,
    asubmit,
    check_envelope_sender,
    route,
)

log = logging.getLogger(__name__)

# How long a client's DATA waits for the outbox while another program (a database browser, a backup) holds its
# write lock, before `451 4.3.0` (the client keeps the message and tries again). The commit waits on the outbox's
# thread, never on the relay's event loop: the other connections are served meanwhile. A message that arrives
# while an earlier one is waiting waits for that one first, so no client waits more than twice this.
QUEUE_WAIT_S = 5.0


class RelayConfigError(Exception):
    """The relay cannot start safely with these settings (remote bind without the flag, TLS or AUTH users)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def storage_trouble_reply(error: BaseException) -> str:
    """The reply for an exception raised while accepting a message: always 4xx (local, temporary trouble).

    Which storage trouble it is comes from errors.storage_error (SQLite's result code, the errno), as for the
    sender; anything else is an unexpected error whose traceback goes to the log.
    """
    for cause in _causes(error):
        storage = storage_error(cause)
        if storage is not None and storage.code is DiagnosisCode.STORAGE_FULL:
            log.error("Relay: the data home's disk is full; answered 452 so the client retries later (%s)", cause)
            return "452 4.3.1 Insufficient system storage, try again later"
        if storage is not None:
            log.warning("Relay: the outbox is locked by another program; answered 451 (%s)", cause)
            return "451 4.3.0 The queue is busy, try again later"
    log.error("Relay could not accept a message; answered 451", exc_info=error)
    return "451 4.3.0 Local error in processing, try again later"


class RelayHandler:
    """aiosmtpd handler: the envelope sender's policy at MAIL FROM (an early refusal), the recipient limit at
    RCPT TO, every rule of submission.py and the durable enqueue at DATA, then `on_queued` (wakes the sender) and,
    for mail the sender policy let through with an alert, `on_alert` (the alerts dispatcher; it must not delay
    the reply). The relay only translates the rules' verdicts into SMTP replies.

    Local trouble is never answered 5xx: the client would bounce good mail. A full disk is `452 4.3.1`,
    anything else that goes wrong here (the outbox locked or busy, a config that cannot be read, an
    unexpected error, whose traceback goes to the log) is `451 4.3.0`: the client keeps the message and
    tries again later, as with Postfix.
    """

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config],
                 on_queued: Callable[[], None] | None = None, *, max_recipients: int = 1000,
                 on_alert: Callable[[QueuedMessage], None] | None = None) -> None:
        self.outbox = outbox
        self.load_config = load_config
        self.on_queued = on_queued
        self.on_alert = on_alert
        self.max_recipients = max_recipients

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        config = self.load_config()
        user = signed_in_user(config, session)
        try:
            if address == "<>":
                # The null sender (bounces, delivery and read receipts) is rewritten to the account's address: the
                # provider only lets the account send as itself, and a refusal would turn the application's
                # notification into a bounce of its own. README: "What the relay answers".
                profile = route(config)
                if not profile.from_address:
                    return (f"550 5.1.7 The null sender needs the account's address to stand in for it; profile "
                            f"'{profile.name}' has no From address")
                log.info("Relay: null sender rewritten to %s (profile %s)", profile.from_address, profile.name)
                address = profile.from_address
            check_envelope_sender(config, address, user)
        except NoProfileError as exc:
            return f"451 4.3.0 {exc}"
        except SenderNotAuthorizedError as exc:
            return f"550 5.7.1 {exc}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address == "<>":
            return "501 5.1.3 Bad recipient address syntax: the null path is not a recipient"
        if len(envelope.rcpt_tos) >= self.max_recipients:
            # RFC 5321 4.5.3.1.10: 452 (not 5xx), so the client sends the rest in another transaction.
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        sender = str(envelope.mail_from or "")
        try:
            config = self.load_config()
            stored = await asubmit(bytes(envelope.original_content or b""), config=config, outbox=self.outbox,
                                   relay_user=signed_in_user(config, session), envelope_from=sender,
                                   recipients=list(envelope.rcpt_tos))
        except SenderNotAuthorizedError as exc:
            return f"550 5.7.1 {exc}"
        except MessageTooLargeError as exc:
            return f"552 5.3.4 {exc}"
        except InvalidMessageError as exc:
            return f"554 5.6.0 {exc}"
        except NoProfileError as exc:  # removed since MAIL FROM: the admin's to fix, the client's to retry
            return f"451 4.3.0 {exc}"
        except Exception as exc:
            return storage_trouble_reply(exc)
        if self.on_queued is not None:
            self.on_queued()
        if stored.alerts and self.on_alert is not None:
            self.on_alert(stored)
        return f"250 2.0.0 Ok: queued as {stored.id} {stored.message_id}"

    async def handle_exception(self, error: Exception) -> str:
        """Whatever a hook raised (config.toml unreadable at MAIL FROM, ...): 4xx, where aiosmtpd's default would
        be `500 Error: (Type) text`."""
        return storage_trouble_reply(error)


def signed_in_user(config: Config, session: Session) -> RelayUser | None:
    """The relay user this session signed in as (the authenticator puts only the name into the session)."""
    name = session.auth_data if session.authenticated else None
    return config.relay_users.get(name) if isinstance(name, str) else None


class RemoteRelayHandler(RelayHandler):
    """The relay handler for a network address: every AUTH attempt first passes the authenticator's brake."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config], authenticator: RelayAuthenticator,
                 on_queued: Callable[[], None] | None = None, *, max_recipients: int = 1000,
                 on_alert: Callable[[QueuedMessage], None] | None = None) -> None:
        super().__init__(outbox, load_config, on_queued, max_recipients=max_recipients, on_alert=on_alert)
        self.authenticator = authenticator

    async def handle_AUTH(self, server: SMTP, session: Session, envelope: Envelope,  # noqa: N802
                          args: list[str]) -> object:
        refusal = await self.authenticator.before_auth(peer_host(session))
        return MISSING if refusal is None else refusal  # MISSING: go on with aiosmtpd's PLAIN / LOGIN


class _LoginDataWarningFilter(logging.Filter):
    """aiosmtpd 1.4 logs "Session.login_data is deprecated" from its own AUTH code on every successful sign-in."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_AIOSMTPD_LOG = logging.getLogger("mail.log")


def _filter_login_data_warning() -> None:
    if not any(isinstance(f, _LoginDataWarningFilter) for f in _AIOSMTPD_LOG.filters):
        _AIOSMTPD_LOG.addFilter(_LoginDataWarningFilter())


class ImplicitTlsRelaySMTP(RelaySMTP):
    """RelaySMTP on a socket that is TLS from the first byte (port 465 style)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # aiosmtpd counts only STARTTLS as encryption and would answer AUTH with 538 here; this connection
        # is encrypted (the listener has no plain side), so AUTH may go ahead. auth_required stays on.
        if transport.get_extra_info("ssl_object") is not None:
            self._auth_require_tls = False


class LoopbackSignInRelaySMTP(RelaySMTP):
    """RelaySMTP on a loopback address with `relay.require_auth`: AUTH is offered and required without TLS.

    Built with auth_require_tls=True and relaxed afterwards: aiosmtpd warns on every connection otherwise, and the
    relaxation is safe only here, where the password never crosses a network (start_relay checks the address)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._auth_require_tls = False


def _relay_limits(load_config: Callable[[], Config]) -> RelaySettings:
    """The `[relay]` limits as the listener starts; a config that cannot be read now gets the defaults (MAIL
    FROM then answers 451 until it is fixed, rather than the relay not listening at all)."""
    try:
        return load_config().relay
    except Exception as exc:
        log.warning("Relay: could not read the [relay] limits, using the defaults: %s", exc)
        return RelaySettings()


async def start_relay(outbox: Outbox, load_config: Callable[[], Config], host: str = "127.0.0.1", port: int = 2525,
                      *, allow_remote: bool = False, on_queued: Callable[[], None] | None = None,
                      security: RelaySecurity | None = None,
                      observe: Callable[[str], None] | None = None,
                      on_alert: Callable[[QueuedMessage], None] | None = None) -> asyncio.Server:
    """Listen for submissions; the returned server is closed by the caller.

    Loopback only by default: anything on this computer may submit without signing in, which is safe only
    because nothing else can reach the port. A network address needs `allow_remote` and then TLS and AUTH,
    built from `[relay]` in the config and the keyring (`security` overrides that, for tests); without them
    `RelayConfigError` says which setting or command is missing, because an open relay is never started.
    """
    loop = asyncio.get_running_loop()
    limits = _relay_limits(load_config)
    slots = ConnectionSlots(limits.max_connections)
    smtp_options: dict[str, Any] = {"hostname": "mailwright-relay", "slots": slots, "timeout": limits.idle_timeout_s,
                                    "observe": observe}
    if is_loopback(host) and not limits.require_auth:
        handler = RelayHandler(outbox, load_config, on_queued, max_recipients=limits.max_recipients,
                               on_alert=on_alert)

        def factory() -> SMTP:
            return RelaySMTP(handler, **smtp_options)

        return await loop.create_server(factory, host=host, port=port)
    if is_loopback(host):
        # relay.require_auth: a shared machine, where every local account could otherwise submit as the
        # application. AUTH PLAIN/LOGIN without TLS is acceptable here only because the bytes never leave the host.
        try:
            authenticator = await loopback_authenticator(load_config) if security is None else security.authenticator
        except RelaySecurityError as exc:
            raise RelayConfigError(str(exc)) from None
        _filter_login_data_warning()
        signed_in = RemoteRelayHandler(outbox, load_config, authenticator, on_queued,
                                       max_recipients=limits.max_recipients, on_alert=on_alert)

        def signed_in_factory() -> SMTP:
            return LoopbackSignInRelaySMTP(signed_in, authenticator=authenticator, auth_required=True,
                                           auth_require_tls=True, **smtp_options)

        server = await loop.create_server(signed_in_factory, host=host, port=port)
        log.info("Relay on %s:%s: loopback, sign-in required for %d user(s)", host, port, len(authenticator.users))
        return server
    if not allow_remote:
        raise RelayConfigError(
            f"Refusing to listen on {host}: the relay is loopback-only (e.g. 127.0.0.1:2525) unless allowed "
            "explicitly (`serve --allow-remote`; in the app `mailwright config set relay.allow_remote true`), and "
            "then it requires TLS and AUTH (relay.tls_certificate and `mailwright relay user add NAME`).")
    if security is None:
        try:
            security = await relay_security_from_config(load_config)
        except RelaySecurityError as exc:
            raise RelayConfigError(f"Listening on {host} requires TLS and AUTH, or anyone on the network could "
                                   f"send mail as this account. {exc}") from None
    _filter_login_data_warning()
    remote_handler = RemoteRelayHandler(outbox, load_config, security.authenticator, on_queued,
                                        max_recipients=limits.max_recipients, on_alert=on_alert)
    tls, authenticator = security.tls, security.authenticator
    if tls.implicit:
        def implicit_factory() -> SMTP:
            return ImplicitTlsRelaySMTP(remote_handler, authenticator=authenticator, auth_required=True,
                                        auth_require_tls=True, **smtp_options)

        server = await loop.create_server(implicit_factory, host=host, port=port, ssl=tls.context)
    else:
        def starttls_factory() -> SMTP:
            return RelaySMTP(remote_handler, tls_context=tls.context, require_starttls=True,
                             authenticator=authenticator, auth_required=True, auth_require_tls=True, **smtp_options)

        server = await loop.create_server(starttls_factory, host=host, port=port)
    log.info("Relay on %s:%s: %s, AUTH required for %d user(s)", host, port,
             "implicit TLS" if tls.implicit else "STARTTLS required", len(authenticator.users))
    return server
