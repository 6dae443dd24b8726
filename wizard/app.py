"""The desktop app: one QApplication, one qasync event loop, the main window or the wizard, one error handler.

`run()` works with no configuration at all: the wizard starts empty and the welcome page offers a new
account. With saved profiles it opens the main window (each account's health, the tray, the background
sender and, when `[relay] enabled = true`, the loopback relay); `run(start=PageId.X)` opens the wizard
at that page instead (`mailwright gui --page X`).

The wizard's welcome page is shown and painted before asyncio, qasync and the log configuration are
imported (about 40 ms): `show_until_painted` runs Qt's own event loop until the window's first paint, so
on a real display the first frame is on the screen by then. Everything that runs on the asyncio loop is in
wizard.app_loop, imported afterwards; this module imports neither.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from wizard.pages.ids import PageId

if TYPE_CHECKING:
    import asyncio

    from wizard.dialogs.error_report import ErrorReportDialog
    from wizard.pages.wizard import MailwrightWizard, SavedAccounts
    from wizard.services.config import ConfigStore

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (800, 600)
SETTLE_MS = 50  # after show(), before a screenshot is grabbed: posted layout requests have run
FIRST_PAINT_TIMEOUT_MS = 1000  # a window that is not exposed (minimised, another workspace) is not waited for
# Set by benchmarks/startup.py: the file gets the wall-clock time (ns) at which the first window was painted.
STARTUP_PROBE_ENV = "MAILWRIGHT_STARTUP_PROBE"


class ExceptionReporter(QObject):
    """`sys.excepthook` and the loop's exception handler: a copyable report without secrets."""

    reported = Signal(str)  # the redacted report, once its dialog is open

    def __init__(self, secrets: Callable[[], Iterable[str]] = list, window: QWidget | None = None) -> None:
        super().__init__(window)
        self.secrets = secrets
        self.window = window
        self.dialogs: list[ErrorReportDialog] = []

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Report errors raised in Qt slots, and in the loop's callbacks once there is a loop."""
        sys.excepthook = self.excepthook
        if loop is not None:
            loop.set_exception_handler(self.loop_exception_handler)

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        try:
            from wizard.dialogs.error_report import ErrorReportDialog, format_report

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
        # What start-up made (modules, classes, the first window) lives as long as the app; `mailwright gui` starts
        # with the collector off, so the first turn would otherwise walk all of it (30-60 ms, the first stall
        # benchmarks/responsiveness.py --queued saw). freeze_heap does the same again after the warm-up.
        gc.freeze()

    def collect(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        gc.unfreeze()
        gc.enable()

    def freeze_heap(self) -> None:
        """Move everything alive now (modules, widgets) out of the collector's sight: a full collection
        walks only what is allocated later, instead of stalling the loop for tens of milliseconds.

        Nothing is collected first: any collection here walks what start-up allocated since the last one (tens
        of thousands of objects, 40-60 ms on 2 cores, benchmarks/responsiveness.py --queued). What start-up left
        as garbage cycles at this moment stays allocated: a few hundred objects when measured, once."""
        gc.freeze()


def application(argv: Sequence[str] = (), *, defer_theme: bool = False) -> QApplication:
    """The QApplication, created once. `defer_theme`: the caller applies the theme (`apply_theme`) after the
    first paint, except on Windows, where the theme may replace the style and so must come first."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication([sys.argv[0] if sys.argv else "mailwright", *argv])
    app.setApplicationName("Mailwright")
    app.setOrganizationName("Mailwright")
    app.setDesktopFileName("mailwright")  # Wayland and the .desktop entry: the window gets the app's icon
    if not defer_theme or sys.platform == "win32":
        apply_theme(app)
    return app


def apply_theme(app: QApplication) -> None:
    """Follow the system's colour scheme. Importing wizard.theme builds PySide6's `Qt` namespace (~17 ms)."""
    from wizard.theme import follow_system_colour_scheme

    follow_system_colour_scheme(app)


def has_profiles(store: ConfigStore | None = None) -> bool:
    from wizard.services.home import has_config_file

    if store is None and not has_config_file():
        return False  # a first start: the config loader is not even imported before the first paint
    from wizard.services.config import ConfigStore

    try:
        return bool((store or ConfigStore()).load().profiles)
    except (ValueError, OSError):
        return False  # the wizard explains a broken config.toml


class _FirstPaint(QObject):
    """Event filter: ends `loop` once `window` has been painted, or has closed without being painted."""

    def __init__(self, window: QWidget, loop: QEventLoop) -> None:
        super().__init__(window)
        self.window = window
        self.loop = loop
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window:
            kind = event.type()
            if kind == QEvent.Type.Paint:
                self.painted = True
                self.loop.quit()  # exec() returns once this paint is done and flushed to the window
            elif kind == QEvent.Type.Hide:
                self.loop.quit()
        return False


def show_until_painted(window: QWidget, timeout_ms: int = FIRST_PAINT_TIMEOUT_MS) -> bool:
    """Show `window` and run Qt's event loop until its first paint; True if it was painted.

    Qt paints a window only once the platform exposed it (an X11 Expose, a Wayland configure), so when this
    returns True the first frame has been handed to the display. Keyboard and mouse input waits for the
    application's own loop: nothing the user does can start async work before that loop exists.
    """
    loop = QEventLoop()
    watcher = _FirstPaint(window, loop)
    window.installEventFilter(watcher)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(timeout_ms)
    window.show()
    if not watcher.painted and window.isVisible():
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    deadline.stop()
    window.removeEventFilter(watcher)
    watcher.deleteLater()
    if watcher.painted and (probe := os.environ.get(STARTUP_PROBE_ENV)):
        Path(probe).write_text(str(time.time_ns()), encoding="ascii")
    return watcher.painted


def settle(delay_ms: int) -> None:
    """Run Qt's event loop for `delay_ms` (no asyncio loop needed)."""
    if delay_ms <= 0:
        return
    loop = QEventLoop()
    QTimer.singleShot(delay_ms, loop.quit)
    loop.exec()


class ShownWizard(QObject):
    """A wizard shown before the asyncio loop runs; remembers its result if it finished before anyone waited."""

    def __init__(self, window: MailwrightWizard) -> None:
        super().__init__(window)
        self.window = window
        self.result: int | None = None
        self._waiting: list[Callable[[int], None]] = []
        window.finished.connect(self._finished)

    def _finished(self, result: int) -> None:
        if self.result is None:
            self.result = int(result)
            for callback in self._waiting:
                callback(self.result)

    def when_finished(self, callback: Callable[[int], None]) -> None:
        if self.result is not None:
            callback(self.result)
        else:
            self._waiting.append(callback)


def show_wizard(start: PageId, reporter: ExceptionReporter) -> ShownWizard:
    """The wizard at `start`, shown and painted (the theme follows right after the first paint)."""
    from wizard.pages.wizard import MailwrightWizard

    window = MailwrightWizard(start=start)
    reporter.secrets, reporter.window = window.state.secret_values, window
    shown = ShownWizard(window)
    show_until_painted(window)
    apply_theme(application())
    return shown


def run(argv: Sequence[str] | None = None, start: PageId | None = None) -> int:
    """The desktop app: the main window when accounts exist, else the wizard; the wizard at `start` if given."""
    # The app ends when its coroutine does; Qt quitting on its own when the last window closes would stop
    # the loop under the coroutine that is still cleaning up (cancelling checks, closing connections).
    application(argv or (), defer_theme=True).setQuitOnLastWindowClosed(False)
    reporter = ExceptionReporter()
    reporter.install()
    try:
        shown: ShownWizard | None = None
        # Only the welcome page is shown before the loop: the check and DNS pages start their work when shown.
        if start is PageId.WELCOME or (start is None and not has_profiles()):
            shown = show_wizard(PageId.WELCOME, reporter)
        else:
            apply_theme(application())
        from wizard import app_loop  # asyncio, qasync, logging: once the first page is on the screen

        return app_loop.run(start, reporter, shown)
    finally:
        sys.excepthook = sys.__excepthook__  # an error escaping run() is printed, not put in a dialog


def screenshot(start: PageId, path: Path, saved: SavedAccounts | None = None) -> None:
    """Render one page (nothing runs on its own) to a PNG and return, as `run` would show it first."""
    from wizard.pages.wizard import MailwrightWizard

    application(defer_theme=True).setQuitOnLastWindowClosed(False)
    window = MailwrightWizard(saved, start=start, autostart_check=False)
    window.resize(*SCREENSHOT_SIZE)
    shown_at = time.monotonic()
    try:
        show_until_painted(window)
        apply_theme(application())
        settle(SETTLE_MS - int((time.monotonic() - shown_at) * 1000))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
    finally:
        window.close()
        window.deleteLater()


async def grab(widget: QWidget, path: Path) -> None:
    """On the running loop: show the widget (if needed), let layouts settle, and save it as a PNG."""
    from wizard.app_loop import next_frame

    widget.show()
    await next_frame(SETTLE_MS)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def screenshot_main(path: Path) -> None:
    """Render the main window for the current configuration (800x600) to a PNG and return."""
    from wizard import app_loop

    application().setQuitOnLastWindowClosed(False)
    app_loop.screenshot_main(path)
