"""Provider sending limits per mailbox: concurrent connections and messages per rolling minute.

Limits belong to the mailbox, not to the profile: two profiles that sign in as the same Microsoft 365
mailbox share its 3 connections and 30 messages per minute (Exchange Online limits, "Sending limits").
The clock and sleep are the sender's, so tests drive them without waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wizard.services.model import Profile, ProviderKind

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ProviderLimits:
    max_connections: int | None = None
    messages_per_minute: int | None = None


PROVIDER_LIMITS: dict[ProviderKind, ProviderLimits] = {
    ProviderKind.M365_SMTP: ProviderLimits(max_connections=3, messages_per_minute=30),
}


def mailbox_key(profile: Profile) -> str:
    server = profile.graph_endpoint if profile.provider is ProviderKind.GRAPH else profile.host
    return f"{profile.provider.value}|{server.lower()}|{profile.login_name.lower()}"


class MailboxLimiter:
    """The connection slots and the rolling one-minute send window of one mailbox."""

    def __init__(self, limits: ProviderLimits, clock: Callable[[], float], sleep: Sleep) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._sent_at: deque[float] = deque()
        self.open_connections = 0
        self.most_connections = 0

    @property
    def rate_limited(self) -> bool:
        return bool(self.limits.messages_per_minute)

    @property
    def full(self) -> bool:
        """Every connection slot is taken (a `take_slot` would wait)."""
        return self._slots is not None and self._slots.locked()

    async def take_slot(self, wait: bool = True) -> bool:
        """A connection slot; without `wait`, False when none is free (fallbacks never wait: no deadlock)."""
        if self._slots is not None:
            if not wait and self._slots.locked():
                return False
            await self._slots.acquire()
        self.open_connections += 1
        self.most_connections = max(self.most_connections, self.open_connections)
        return True

    def give_slot(self) -> None:
        self.open_connections -= 1
        if self._slots is not None:
            self._slots.release()

    async def before_send(self) -> None:
        """Wait until one more message fits in the rolling minute, then count it."""
        per_minute = self.limits.messages_per_minute
        if not per_minute:
            return
        while True:
            now = self.clock()
            while self._sent_at and self._sent_at[0] <= now - 60:
                self._sent_at.popleft()
            if len(self._sent_at) < per_minute:
                self._sent_at.append(now)
                return
            await self.sleep(self._sent_at[0] + 60 - now)
