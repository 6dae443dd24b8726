"""Short-lived aiosmtplib connections (probes, checks) that release their socket before the caller returns.

`aiosmtplib.SMTP.close()` only starts closing a TLS connection: the socket is released after the
close_notify round trip with the server (up to asyncio's 30 s shutdown timeout when the server
never answers). A loop that ends first (the CLI, a test, the app) or a cancelled probe leaves
the socket to the garbage collector ("unclosed transport"), and a caller that closes the raw
socket itself meanwhile pulls the descriptor from under a live transport. `PromptClosingSMTP`
aborts instead and remembers the socket; `close_smtp` says QUIT first when the session went well
and returns once that socket is really closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosmtplib

QUIT_WAIT_S = 2.0
_QUICK_TURNS = 20  # an aborted socket closes within a loop iteration or two; after that, poll gently
_POLL_S = 0.005


class PromptClosingSMTP(aiosmtplib.SMTP):
    """An `aiosmtplib.SMTP` whose every close (ours, or aiosmtplib's own after an error or a cancellation)
    drops the connection at once and records its socket in `closed_sockets`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed_sockets: list[Any] = []  # asyncio TransportSockets; fileno() is -1 once really closed

    def close(self) -> None:
        transport = self.transport
        if isinstance(transport, asyncio.Transport):
            sock = transport.get_extra_info("socket")
            if sock is not None:
                self.closed_sockets.append(sock)
            if not transport.is_closing():
                transport.abort()
        super().close()


async def close_smtp(smtp: aiosmtplib.SMTP, *, polite: bool = True, wait_s: float = QUIT_WAIT_S) -> None:
    """QUIT (when `polite` and still connected), close, and return once the socket is closed (at most `wait_s`)."""
    transport = smtp.transport
    sockets = [transport.get_extra_info("socket")] if transport is not None else []
    try:
        if polite and smtp.is_connected:
            try:
                async with asyncio.timeout(wait_s):
                    await smtp.quit()  # closes from our side once the server said 221
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
    finally:
        smtp.close()
        sockets += getattr(smtp, "closed_sockets", [])
        await _until_closed([s for s in sockets if s is not None], wait_s)


async def _until_closed(sockets: list[Any], wait_s: float) -> None:
    # The transport closes its socket in a loop callback (after flushing a close_notify it already queued):
    # there is no public event for it, so look at the descriptor.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    turn = 0
    while any(sock.fileno() != -1 for sock in sockets) and loop.time() < deadline:
        turn += 1
        await asyncio.sleep(0 if turn <= _QUICK_TURNS else _POLL_S)
