"""aiosmtpd's SMTP protocol as the relay speaks it: strict envelope addresses, limits with their own replies.

Never accept what cannot be handed on. The relay answers 250 to MAIL FROM / RCPT TO only for an address
its own SMTP client can put on a command line unchanged (`is_sendable_address`): printable ASCII, a
dot-atom or quoted local part of at most 64 characters, a host name or address literal as the domain, at
most 254 characters in all (RFC 5321 4.1.2, 4.5.3.1). A control character anywhere in the argument (NUL,
a lone CR, ...) is refused at that command with 501, as Postfix does, instead of accepting the message
and failing it later. The null sender and the recipient limit are the handler's (relay.py), because
they depend on the profile and the transaction.

Limits (the `[relay]` settings): connections at the same time (`421 4.7.0` instead of the greeting beyond
them) and an idle timeout (`421 4.4.2`, then the connection is closed, as Postfix's smtpd_timeout): the time
without a byte from the client. aiosmtpd restarts its timer per command only, which would cut off one DATA
transfer longer than the idle time however steadily it progresses; every received chunk counts here.

aiosmtpd 1.4 parses every MAIL FROM / RCPT TO argument with the email package's RFC 5322 header
parser and defines a typing Protocol class inside `_getaddr` on each call; together that was about a
third of the relay's CPU per message. A plain `<local@domain>` (dot-atom local part, hostname domain)
is matched with a pattern instead; anything else (quoted local parts, address literals, source
routes, malformed input) goes through aiosmtpd's own parser, then through the same check.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, syntax

from wizard.services.mailbox_syntax import (
    ADDRESS_LIMIT,
    DOT_ATOM,
    HOST,
    LOCAL_PART_LIMIT,
    is_sendable_address,
)

log = logging.getLogger(__name__)

_PLAIN_ANGLE_ADDR = re.compile(rf"[ \t]*<({DOT_ATOM}@{HOST})>[ \t]*(\S.*)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConnectionSlots:
    """How many SMTP sessions one listener serves at the same time (all on one event loop: no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def take(self) -> bool:
        if self.taken >= self.limit:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken -= 1


class RelaySMTP(SMTP):
    """`aiosmtpd.smtp.SMTP` with the relay's address rules, connection limit and idle timeout reply."""

    def __init__(self, handler: Any, *, slots: ConnectionSlots | None = None,
                 observe: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._slots = slots
        self._observe = observe  # "connection", "reply 250" …: counted for the metrics (serve --metrics)
        self._last_received = 0.0  # loop time of the client's latest bytes

    def data_received(self, data: bytes) -> None:
        self._last_received = self.loop.time()  # cheaper than restarting the timer for every chunk
        super().data_received(data)

    async def push(self, status: str) -> None:  # type: ignore[override]  # aiosmtpd: AnyStr
        if self._observe is not None:
            self._observe(f"reply {status[:3]}")
        await super().push(status)

    async def _handle_client(self) -> None:
        if self._observe is not None:
            self._observe("connection")
        if self._slots is not None and not self._slots.take():
            log.warning("Relay: %d connections are open (relay.max_connections); refused one from %s",
                        self._slots.limit, self.session.peer if self.session else "?")
            await self.push(f"421 4.7.0 {self.hostname} Too many connections, try again later")
            if self.transport is not None:
                self.transport.close()
            return
        try:
            await super()._handle_client()
        finally:
            if self._slots is not None:
                self._slots.give_back()

    def _timeout_cb(self) -> None:
        quiet_s = self.loop.time() - self._last_received
        if quiet_s < self._timeout_duration:  # bytes came in since the timer started (a DATA transfer): not idle
            self._reset_timeout(self._timeout_duration - quiet_s)
            return
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode("ascii"))
        super()._timeout_cb()  # type: ignore[no-untyped-call]  # closes the connection

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:  # noqa: N802
        if arg is not None and _CONTROL.search(arg):
            await self.push("501 5.1.7 Bad sender address syntax: control characters are not allowed")
            return
        await super().smtp_MAIL(arg)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:  # noqa: N802
        if arg is not None and _CONTROL.search(arg):
            await self.push("501 5.1.3 Bad recipient address syntax: control characters are not allowed")
            return
        await super().smtp_RCPT(arg)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_ANGLE_ADDR.match(arg)
        if plain is None:
            address, rest = super()._getaddr(arg)
            # "<>" is the null path: the handler decides about it (MAIL: rewritten, RCPT: refused).
            if address and address != "<>" and not is_sendable_address(address):
                return None, None  # aiosmtpd answers 553 5.1.3 malformed address
            return address, rest
        address, rest = plain.group(1), plain.group(2) or ""
        # The pattern already proved a dot-atom and a host name; only the lengths are left to check (a quarter
        # of the full check's time, on the path every message takes).
        local, _, domain = address.rpartition("@")
        if len(address) > ADDRESS_LIMIT or len(local) > LOCAL_PART_LIMIT or \
                any(len(label) > 63 for label in domain.split(".")):
            return None, None
        return address, rest
