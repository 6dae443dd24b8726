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
from collections.abc import Callable

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from wizard.services.config import Config
from wizard.services.outbox import Outbox, OutboxError
from wizard.services.relay_security import (
    RelayAuthenticator,
    RelaySecurity,
    RelaySecurityError,
    peer_host,
    relay_security_from_config,
)
from wizard.services.relay_smtp import RelaySMTP
from wizard.services.submission import (
    InvalidMessageError,
    MessageTooLargeError,
    NoProfileError,
    SenderNotAuthorizedError,
    asubmit,
    check_envelope_sender,
)

log = logging.getLogger(__name__)


class RelayConfigError(Exception):
    """The relay cannot start safely with these settings (remote bind without the flag, TLS or AUTH users)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RelayHandler:
    """aiosmtpd handler: the envelope sender's policy at MAIL FROM (an early refusal), every rule of
    submission.py and the durable enqueue at DATA, then `on_queued` (wakes the sender). The relay only
    translates the rules' verdicts into SMTP replies."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config],
                 on_queued: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.load_config = load_config
        self.on_queued = on_queued

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        try:
            check_envelope_sender(self.load_config(), address)
        except NoProfileError as exc:
            return f"451 4.3.0 {exc}"
        except SenderNotAuthorizedError as exc:
            return f"550 5.7.1 {exc}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        sender = str(envelope.mail_from or "")
        try:
            stored = await asubmit(bytes(envelope.original_content or b""), config=self.load_config(),
                                   outbox=self.outbox, envelope_from=sender, recipients=list(envelope.rcpt_tos))
        except SenderNotAuthorizedError as exc:
            return f"550 5.7.1 {exc}"
        except MessageTooLargeError as exc:
            return f"552 5.3.4 {exc}"
        except InvalidMessageError as exc:
            return f"554 5.6.0 {exc}"
        except (NoProfileError, OutboxError, OSError) as exc:
            log.error("Relay could not queue a message: %s", exc)
            return "451 4.3.0 Could not queue the message; try again later"
        if self.on_queued is not None:
            self.on_queued()
        return f"250 2.0.0 Ok: queued as {stored.id} {stored.message_id}"


class RemoteRelayHandler(RelayHandler):
    """The relay handler for a network address: every AUTH attempt first passes the authenticator's brake."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config], authenticator: RelayAuthenticator,
                 on_queued: Callable[[], None] | None = None) -> None:
        super().__init__(outbox, load_config, on_queued)
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


class ImplicitTlsRelaySMTP(RelaySMTP):
    """RelaySMTP on a socket that is TLS from the first byte (port 465 style)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # aiosmtpd counts only STARTTLS as encryption and would answer AUTH with 538 here; this connection
        # is encrypted (the listener has no plain side), so AUTH may go ahead. auth_required stays on.
        if transport.get_extra_info("ssl_object") is not None:
            self._auth_require_tls = False


async def start_relay(outbox: Outbox, load_config: Callable[[], Config], host: str = "127.0.0.1", port: int = 2525,
                      *, allow_remote: bool = False, on_queued: Callable[[], None] | None = None,
                      security: RelaySecurity | None = None) -> asyncio.Server:
    """Listen for submissions; the returned server is closed by the caller.

    Loopback only by default: anything on this computer may submit without signing in, which is safe only
    because nothing else can reach the port. A network address needs `allow_remote` and then TLS and AUTH,
    built from `[relay]` in the config and the keyring (`security` overrides that, for tests); without them
    `RelayConfigError` says which setting or command is missing, because an open relay is never started.
    """
    loop = asyncio.get_running_loop()
    if is_loopback(host):
        handler = RelayHandler(outbox, load_config, on_queued)

        def factory() -> SMTP:
            return RelaySMTP(handler, hostname="mailwright-relay")

        return await loop.create_server(factory, host=host, port=port)
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
    if not any(isinstance(f, _LoginDataWarningFilter) for f in _AIOSMTPD_LOG.filters):
        _AIOSMTPD_LOG.addFilter(_LoginDataWarningFilter())
    remote_handler = RemoteRelayHandler(outbox, load_config, security.authenticator, on_queued)
    tls, authenticator = security.tls, security.authenticator
    if tls.implicit:
        def implicit_factory() -> SMTP:
            return ImplicitTlsRelaySMTP(remote_handler, hostname="mailwright-relay", authenticator=authenticator,
                                        auth_required=True, auth_require_tls=True)

        server = await loop.create_server(implicit_factory, host=host, port=port, ssl=tls.context)
    else:
        def starttls_factory() -> SMTP:
            return RelaySMTP(remote_handler, hostname="mailwright-relay", tls_context=tls.context,
                             require_starttls=True, authenticator=authenticator, auth_required=True,
                             auth_require_tls=True)

        server = await loop.create_server(starttls_factory, host=host, port=port)
    log.info("Relay on %s:%s: %s, AUTH required for %d user(s)", host, port,
             "implicit TLS" if tls.implicit else "STARTTLS required", len(authenticator.users))
    return server
