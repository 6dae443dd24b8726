"""Waiting for a new app to become usable: Entra replicates a new registration for a while (AADSTS700016
"application not found", 401 from Graph on the first calls). Bounded backoff with a visible countdown.

msal throttles a repeated identical failed token request (HTTP 400 answers are cached for 60 s per application
object, msal/throttled_http_client.py), so every attempt builds a fresh msal application, and the delays grow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class NotReadyError(Exception):
    """This attempt hit replication (the app, its certificate or its grant is not visible yet): try again."""


@dataclass(frozen=True)
class WaitPolicy:
    limit_s: float = 300.0  # default 5 minutes
    first_delay_s: float = 2.0
    max_delay_s: float = 30.0
    # The bound is kept on this clock and the waits go through this sleep: tests pass a clock they drive (shared
    # with the test identity provider's replication), so no test waits in wall time.
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)

    def delays(self) -> Callable[[], float]:
        delay = self.first_delay_s

        def next_delay() -> float:
            nonlocal delay
            current, delay = delay, min(delay * 2, self.max_delay_s)
            return current
        return next_delay


@dataclass(frozen=True)
class WaitTick:
    attempt: int
    retry_in_s: int
    left_s: int
    reason: str


WaitCallback = Callable[[WaitTick], None]


class ReplicationTimeoutError(Exception):
    def __init__(self, waited_s: float, reason: str) -> None:
        super().__init__(reason)
        self.waited_s = waited_s
        self.reason = reason


async def wait_until_ready(attempt: Callable[[], Awaitable[T]], policy: WaitPolicy,
                           on_wait: WaitCallback | None = None) -> T:
    """Runs `attempt` until it stops raising NotReadyError, sleeping with backoff; a tick per second."""
    clock = policy.clock
    started = clock()
    next_delay = policy.delays()
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except NotReadyError as exc:
            reason = str(exc)
            left = policy.limit_s - (clock() - started)
            if left <= 0:
                raise ReplicationTimeoutError(clock() - started, reason) from None
            delay = min(next_delay(), left)
            deadline = clock() + delay
            while (remaining := deadline - clock()) > 0:
                if on_wait is not None:
                    on_wait(WaitTick(number, round(remaining + 0.49), round(left - (delay - remaining)), reason))
                await policy.sleep(min(1.0, remaining))
