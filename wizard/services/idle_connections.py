"""Connections the sender keeps open for a moment after the queue ran dry.

Mail from an application comes in bursts with short gaps. Closing the provider connection at every gap
and opening a new one (TCP, TLS, EHLO, AUTH or an OAuth token) for the next message costs far more than
the message; keeping it open for long holds one of the few connections a mailbox may have (Microsoft 365:
3). Postfix keeps an idle connection for 2 seconds (`smtp_connection_cache_time_limit`), and so do we.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

C = TypeVar("C")

KEEP_IDLE_S = 2.0


class IdleConnections(Generic[C]):
    """Parked connections by name, each closed with `close` when it has been idle for `keep_s`."""

    def __init__(self, keep_s: float, close: Callable[[C], Awaitable[None]]) -> None:
        self.keep_s = keep_s
        self._close = close
        self._parked: dict[str, tuple[C, asyncio.TimerHandle]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def park(self, name: str, connection: C) -> bool:
        """Keep `connection` for reuse under `name`; False when keeping is off (the caller closes it)."""
        if self.keep_s <= 0:
            return False
        previous = self._parked.pop(name, None)
        if previous is not None:
            self._expire_now(previous)
        handle = asyncio.get_running_loop().call_later(self.keep_s, self._expire, name)
        self._parked[name] = (connection, handle)
        return True

    def take(self, name: str) -> C | None:
        """The connection parked under `name`, now the caller's, or None."""
        parked = self._parked.pop(name, None)
        if parked is None:
            return None
        parked[1].cancel()
        return parked[0]

    def take_matching(self, matches: Callable[[C], bool]) -> C | None:
        """Any parked connection that `matches`, now the caller's (to close it and use its slot), or None."""
        for name, (connection, handle) in list(self._parked.items()):
            if matches(connection):
                del self._parked[name]
                handle.cancel()
                return connection
        return None

    async def close_all(self) -> None:
        """Close every parked connection and wait for all closes, including ones already under way."""
        for name in list(self._parked):
            self._expire_now(self._parked.pop(name))
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _expire(self, name: str) -> None:
        parked = self._parked.pop(name, None)
        if parked is not None:
            self._expire_now(parked)

    def _expire_now(self, parked: tuple[C, asyncio.TimerHandle]) -> None:
        parked[1].cancel()
        task = asyncio.get_running_loop().create_task(self._close_quietly(parked[0]))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_quietly(self, connection: C) -> None:
        with contextlib.suppress(Exception):
            await self._close(connection)
