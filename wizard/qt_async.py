"""Async slots for Qt widgets, typed, and the tasks they start, so Cancel can really cancel.

`qasync.asyncSlot` is untyped and its return value changed between qasync versions, so it is
wrapped once here and nothing relies on what it returns. A slot stays thin:

    @async_slot()
    async def _on_check_clicked(self) -> None:
        await self.tasks.run(self._check())

`TaskTracker.run` records the slot's own task while the work runs; `cancel()` cancels it (the
`CancelledError` surfaces inside `_check`, which shows "cancelled"), and `wait()` lets tests and
the window's close handler await whatever is still running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import qasync
from PySide6.QtCore import QObject, Signal

import wizard.qt_compat  # noqa: F401  (before any emit: PySide6 6.12.0's emit() refcount bug, see there)

P = ParamSpec("P")
T = TypeVar("T")

def async_slot(*signal_types: type) -> Callable[[Callable[P, Coroutine[Any, Any, None]]], Callable[P, None]]:
    """`qasync.asyncSlot` with types: the decorated coroutine method becomes a plain Qt slot."""

    def decorate(method: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
        return cast(Callable[P, None], qasync.asyncSlot(*signal_types)(method))

    return decorate


class TaskTracker(QObject):
    """The tasks one page or dialog has running; `busy_changed(bool)` drives buttons and spinners."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work` inside the current task, which stays cancellable through `cancel()` meanwhile."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("TaskTracker.run must be awaited inside an asyncio task")
        was_busy = self.busy
        self._tasks.add(task)
        if not was_busy:
            self.busy_changed.emit(True)
        try:
            return await work
        finally:
            self._tasks.discard(task)
            if not self._tasks:
                self.busy_changed.emit(False)

    def cancel(self) -> bool:
        """Cancel everything running; True if there was something to cancel."""
        running = [t for t in self._tasks if not t.done()]
        for task in running:
            task.cancel()
        return bool(running)

    async def wait(self) -> None:
        """Until every tracked task has finished (cancelled or not); never raises their errors."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        # A closed asyncio transport releases its socket one loop turn later (call_soon); let that happen
        # before the caller stops the loop, or the socket is leaked ("unclosed transport").
        loop = asyncio.get_running_loop()
        turned: asyncio.Future[None] = loop.create_future()
        loop.call_soon(turned.set_result, None)
        await turned
