"""Opening the outbox at start while another program holds it locked (or its disk is full): wait, do not fail.

`Outbox()` migrates the database, which needs the write lock; a database browser or backup tool holding it
longer than SQLite's busy timeout makes that raise `database is locked`. `serve` then waits with backoff,
saying once that (and on which file) it waits, instead of exiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from wizard.services.errors import describe, storage_error
from wizard.services.sender_boundary import STORAGE_BACKOFF_S

log = logging.getLogger(__name__)

# How long one attempt to open waits for another program's write lock (Outbox(open_wait_s)) before the caller says
# that it waits, rather than SQLite's whole 30 s busy timeout; then it goes on trying with backoff.
OPEN_WAIT_S = 1.0

T = TypeVar("T")


async def open_outbox(make: Callable[[], T], path: Path, *,
                      sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                      on_wait: Callable[[str], object] | None = None) -> T:
    """`make()` (which opens the outbox at `path`), again with backoff while it is locked or its disk is full."""
    attempt = 0
    while True:
        try:
            return await asyncio.to_thread(make)
        except Exception as exc:
            storage = storage_error(exc)
            if storage is None:
                raise
            if attempt == 0:
                diagnosis = describe(storage)
                message = f"Waiting to open the outbox {path}: {diagnosis.title} ({storage.detail}). {diagnosis.fix}"
                log.warning("%s", message)
                if on_wait is not None:
                    on_wait(message)
        await sleep(STORAGE_BACKOFF_S[min(attempt, len(STORAGE_BACKOFF_S) - 1)])
        attempt += 1
