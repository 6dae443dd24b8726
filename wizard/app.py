"""The desktop app: one QApplication, one qasync event loop, the wizard, and one error handler.

`run()` works with no configuration at all: the wizard starts empty and the welcome page offers
a new account; with saved profiles it lists them and prefills the default one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import qasync
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from wizard.dialogs.error_report import ErrorReportDialog, format_report
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.logs import configure_logging

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (800, 600)


class ExceptionReporter(QObject):
    """`sys.excepthook` and the loop's exception handler: a copyable report without secrets."""

    reported = Signal(str)  # the redacted report, once its dialog is open

    def __init__(self, secrets: Callable[[], Iterable[str]] = list, window: QWidget | None = None) -> None:
        super().__init__(window)
        self.secrets = secrets
        self.window = window
        self.dialogs: list[ErrorReportDialog] = []

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        sys.excepthook = self.excepthook
        loop.set_exception_handler(self.loop_exception_handler)

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        try:
            report = format_report(exc_type, exc, tb, self.secrets())
            log.error("Unexpected error:\n%s", report)
            dialog = ErrorReportDialog(report, self.window)
            dialog.finished.connect(lambda _result: self.dialogs.remove(dialog))
            self.dialogs.append(dialog)
            dialog.open()  # never exec(): we may be inside the event loop's callback
            self.reported.emit(report)
        except Exception:  # the reporter must never raise from inside the hook
            sys.__excepthook__(exc_type, exc, tb)

    def loop_exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not isinstance(exc, Exception):
            loop.default_exception_handler(context)
            return
        self.excepthook(type(exc), exc, exc.__traceback__)


class MainThreadGarbageCollector(QObject):
    """Run Python's cyclic garbage collector only in the GUI thread.

    Automatic collection runs in whichever thread happens to allocate, e.g. a keyring call in
    `asyncio.to_thread`; collecting a cycle that holds a QObject there destroys it in the wrong
    thread ("Timers cannot be stopped from another thread", or a crash). Anki does the same.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)
        gc.disable()

    def collect(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()


def application(argv: Sequence[str] = ()) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication([sys.argv[0] if sys.argv else "mailwright", *argv])
    app.setApplicationName("Mailwright")
    app.setOrganizationName("Mailwright")
    return app


async def _open_wizard(start: PageId) -> int:
    window = MailwrightWizard(start=start)
    reporter = ExceptionReporter(window.state.secrets, window)
    reporter.install(asyncio.get_running_loop())
    collector = MainThreadGarbageCollector(window)
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(result: int) -> None:
        if not finished.done():
            finished.set_result(int(result))

    window.finished.connect(on_finished)
    window.show()
    try:
        await finished
        await window.wait_idle()
    finally:
        collector.stop()
        sys.excepthook = sys.__excepthook__
    return 0


def run(argv: Sequence[str] | None = None, start: PageId = PageId.WELCOME) -> int:
    """Open the wizard and return the exit status when it closes."""
    # The wizard's `finished` ends the loop; Qt quitting on its own when the last window closes would stop
    # the loop under the coroutine that is still cleaning up (cancelling checks, closing connections).
    application(argv or ()).setQuitOnLastWindowClosed(False)
    configure_logging()
    return int(qasync.run(_open_wizard(start)))


async def _next_frame(delay_ms: int = 50) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not done.done():
            done.set_result(None)

    QTimer.singleShot(delay_ms, resolve)
    await done


async def grab(widget: QWidget, path: Path) -> None:
    """Show the widget (if needed), let layouts settle, and save what it looks like as a PNG."""
    widget.show()
    await _next_frame()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


async def _screenshot(start: PageId, path: Path, saved: SavedAccounts | None) -> None:
    window = MailwrightWizard(saved, start=start, autostart_check=False)
    window.resize(*SCREENSHOT_SIZE)
    try:
        await grab(window, path)
    finally:
        window.close()
        window.deleteLater()


def screenshot(start: PageId, path: Path, saved: SavedAccounts | None = None) -> None:
    """Render one page (nothing runs on its own) to a PNG and return."""
    application().setQuitOnLastWindowClosed(False)
    qasync.run(_screenshot(start, path, saved))
