"""The loopback SMTP relay: legacy applications submit here, mail goes into the durable outbox.

250 is answered only after the outbox row is committed, so whatever the application was told is
accepted survives a crash. The listener binds to loopback unless the caller explicitly allows a
remote bind, and then it refuses to start without TLS and AUTH (an open relay is never an option).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from wizard.services.config import Config, Profile
from wizard.services.outbox import Outbox, OutboxError
from wizard.services.policy import SenderNotAuthorizedError, apply_postmaster, check_sender

log = logging.getLogger(__name__)

Authenticator = Callable[..., Any]


class RelayConfigError(Exception):
    """The relay cannot start safely with these settings (remote bind without TLS + AUTH)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def profile_for_sender(config: Config, sender: str) -> Profile:
    """The profile whose From address is the sender, otherwise the default profile."""
    wanted = sender.strip().lower()
    for profile in config.profiles.values():
        if profile.from_address and profile.from_address.lower() == wanted:
            return profile
    return config.profile()


class RelayHandler:
    """aiosmtpd handler: policy at MAIL FROM, durable enqueue at DATA, then `on_queued` (wakes the sender)."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config],
                 on_queued: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.load_config = load_config
        self.on_queued = on_queued

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        try:
            profile = profile_for_sender(self.load_config(), address)
            decision = check_sender(address, profile)
        except KeyError as exc:
            return f"451 4.3.0 {exc.args[0]}"
        except SenderNotAuthorizedError as exc:
            return f"550 5.7.1 {exc}"
        if decision.alert:
            log.warning("Relay: %s", decision.alert)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        sender = str(envelope.mail_from or "")
        try:
            profile = profile_for_sender(self.load_config(), sender)
            raw, envelope_from = apply_postmaster(bytes(envelope.original_content or b""), sender, profile)
            stored = await self.outbox.aenqueue(raw, profile=profile.name, envelope_from=envelope_from,
                                                recipients=list(envelope.rcpt_tos), priority=profile.priority)
        except (KeyError, OutboxError, OSError) as exc:
            log.error("Relay could not queue a message: %s", exc)
            return "451 4.3.0 Could not queue the message; try again later"
        if self.on_queued is not None:
            self.on_queued()
        return f"250 2.0.0 Ok: queued as {stored.id} {stored.message_id}"


async def start_relay(outbox: Outbox, load_config: Callable[[], Config], host: str = "127.0.0.1", port: int = 2525,
                      *, allow_remote: bool = False, tls_context: ssl.SSLContext | None = None,
                      authenticator: Authenticator | None = None,
                      on_queued: Callable[[], None] | None = None) -> asyncio.Server:
    """Listen for submissions; the returned server is closed by the caller.

    Loopback only by default: anything on this computer may submit without signing in, which is safe only
    because nothing else can reach the port. A network address needs `allow_remote` and then STARTTLS and
    AUTH, or the relay would be an open relay for the account.
    """
    if not is_loopback(host):
        if not allow_remote:
            raise RelayConfigError(
                f"Refusing to listen on {host}: the relay is loopback-only (e.g. 127.0.0.1:2525), because it "
                "accepts mail without a password from anything that can reach it.")
        if tls_context is None or authenticator is None:
            raise RelayConfigError(
                f"Listening on {host} requires TLS and AUTH (a certificate and user accounts for the relay): "
                "without them anyone on the network could send mail as this account, and an open relay is "
                "never allowed.")
    handler = RelayHandler(outbox, load_config, on_queued)
    remote = not is_loopback(host)

    def factory() -> SMTP:
        return SMTP(handler, hostname="mailwright-relay", tls_context=tls_context,
                    require_starttls=remote, authenticator=authenticator, auth_required=remote,
                    auth_require_tls=True)

    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host=host, port=port)
