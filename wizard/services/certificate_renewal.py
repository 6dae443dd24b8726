"""Keeping Microsoft 365 app certificates fresh while the app or `serve` runs (m365/rotation.py renews them).

Outside the m365 package on purpose: that package loads msal and requests (about a quarter of a second of CPU
and their memory), which a sender with no Microsoft 365 app set up never needs. They are imported only once a
set-up record exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from wizard.services.home import has_m365_records

if TYPE_CHECKING:
    from wizard.services.m365.rotation import RotationOutcome

log = logging.getLogger(__name__)


class CertificateRenewal:
    """`rotate_due` at start, then every `interval_s`. Never raises into its owner; outcomes are logged and handed
    to `on_outcomes`."""

    def __init__(self, interval_s: float = 6 * 3600,
                 on_outcomes: Callable[[list[RotationOutcome]], None] | None = None) -> None:
        self.interval_s = interval_s
        self.on_outcomes = on_outcomes
        self.last: list[RotationOutcome] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="mailwright-m365-renewal")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                self.last = await self._renew_due()
            except Exception:  # a renewal must never stop sending; the log keeps the traceback
                log.exception("m365 certificate renewal failed unexpectedly")
            else:
                if self.last and self.on_outcomes is not None:
                    self.on_outcomes(self.last)
            await asyncio.sleep(self.interval_s)

    @staticmethod
    async def _renew_due() -> list[RotationOutcome]:
        if not await asyncio.to_thread(has_m365_records):
            return []
        from wizard.services.m365.rotation import rotate_due

        return await rotate_due()
