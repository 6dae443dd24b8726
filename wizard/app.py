"""The desktop app: one QApplication, one qasync event loop, the main window or the wizard, one error handler.

`run()` works with no configuration at all: the wizard starts empty and the welcome page offers a new
account. With saved profiles it opens the main window (each account's health, the tray, the background
sender and, when `[relay] enabled = true`, the loopback relay); `run(start=PageId.X)` opens the wizard
at that page instead (`mailwright gui --page X`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import qasync
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from wizard.pages.ids import PageId
from wizard.pages.wizard import PAGE_MODULES, MailwrightWizard, SavedAccounts
from wizard.services.config import CONFIG_FILE, Config, ConfigStore, data_home
from wizard.services.logs import configure_logging

if TYPE_CHECKING:
    from wizard.dialogs.error_report import ErrorReportDialog
    from wizard.services.outbox import Outbox
    from wizard.services.sender import Sender
    from wizard.services.sender_lock import SenderLockOwner

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (800, 600)
DEFAULT_RELAY = "127.0.0.1:2525"


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
        walks only what is allocated later, instead of stalling the loop for tens of milliseconds."""
        gc.collect()
        gc.freeze()


# Imported after the first paint, in a thread: the first lookup or check then does not stall the loop.
WARM_UP_MODULES = ("wizard.services.autodetect", "wizard.services.dns_health", "wizard.services.check")


APP_ICON = Path(__file__).parent / "resources" / "icons" / "mailwright-256.png"


async def warm_up(collector: MainThreadGarbageCollector, delay_ms: int = 300) -> None:
    await _next_frame(delay_ms)
    if APP_ICON.is_file():  # decoding it costs ~20 ms: after the first paint, not before
        QApplication.setWindowIcon(QIcon(str(APP_ICON)))
    for name in WARM_UP_MODULES:
        await asyncio.to_thread(importlib.import_module, name)
    # The wizard's pages are built when first reached; with their modules imported here (Qt classes: in the
    # GUI thread, one a turn of the loop, a few ms each once the services are in) Next only builds the page.
    for name in PAGE_MODULES:
        importlib.import_module(name)
        await asyncio.sleep(0)
    collector.freeze_heap()


def application(argv: Sequence[str] = ()) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication([sys.argv[0] if sys.argv else "mailwright", *argv])
    app.setApplicationName("Mailwright")
    app.setOrganizationName("Mailwright")
    app.setDesktopFileName("mailwright")  # Wayland and the .desktop entry: the window gets the app's icon
    from wizard.theme import follow_system_colour_scheme

    follow_system_colour_scheme(app)
    return app


class BackgroundDelivery:
    """The app's background sender (and optional loopback relay) as asyncio tasks on the GUI's loop.

    Sending can be paused (mail keeps queueing) and resumed; `stop()` ends it cleanly on quit. This is
    `Sender.run` with a pause switch: its startup steps (recover abandoned rows, hold queued mail if
    `send_pending_at_startup = false`) run once at start, not again on every resume.
    """

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config], *, sender: Sender | None = None,
                 relay_address: tuple[str, int] | None = None, poll_s: float = 1.0) -> None:
        self.outbox = outbox
        self.load_config = load_config
        if sender is None:
            from wizard.services.sender import Sender  # aiosmtplib/aiosmtpd stay off the wizard's startup path

            sender = Sender(outbox, load_config)
        self.sender = sender
        self.relay_address = relay_address
        self.poll_s = poll_s
        self.relay: asyncio.Server | None = None
        self.relay_error = ""
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    @property
    def sending(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self._started:
            # Only the holder of the outbox's sender lock sends; otherwise the loop below keeps trying to take
            # over (the other Mailwright may quit or die), and the window shows whose progress it is.
            await self.sender.take_over()
            self._started = True
            if self.relay_address is not None:
                from wizard.services.relay import RelayConfigError, start_relay

                try:
                    self.relay = await start_relay(self.outbox, self.load_config, *self.relay_address,
                                                   on_queued=self.wake)
                except (OSError, RelayConfigError) as exc:  # e.g. the port is taken by `mailwright serve`
                    self.relay_error = (f"The relay could not listen on {self.relay_address[0]}:"
                                        f"{self.relay_address[1]}: {exc}")
                    log.warning("%s", self.relay_error)
        self.resume_sending()

    @property
    def other_sender(self) -> SenderLockOwner | None:
        """Who delivers this outbox when this process does not (another app window or `mailwright serve`)."""
        if not self._started or self.sender.lock.held:
            return None
        return self.sender.lock.owner()

    def resume_sending(self) -> None:
        if self.sending:
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(self._stop), name="mailwright-sender")

    def pause_sending(self) -> None:
        """Stop sending after the message in flight; mail keeps queueing."""
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Send now rather than at the next poll (a test mail was queued, an account resumed)."""
        self._wake.set()

    def resume_profile(self, name: str) -> int:
        """The account was fixed: un-pause it and release its held mail; returns how many were released."""
        released = self.sender.resume(name)
        self.wake()
        return released

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()  # a wake during the round makes the wait below return at once
            try:
                if await self.sender.take_over(startup=False):
                    await self.sender.run_once()
            except Exception:  # a bad config.toml or a locked database: keep the sender alive, try again later
                log.exception("The background sender hit an error; retrying in %.0f s", self.poll_s)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass

    async def stop(self, grace_s: float = 5.0) -> None:
        """Finish the message in flight (up to `grace_s`), then cancel; the outbox lease covers the rest."""
        self.pause_sending()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, grace_s)
            except TimeoutError:
                pass  # wait_for cancelled it; an interrupted message is due again at the next start
        self.sender.give_up()
        if self.relay is not None:
            self.relay.close()
            await self.relay.wait_closed()
            self.relay = None


def relay_address_from_config(path: Path | None = None) -> tuple[str, int] | None:
    """`[relay] enabled = true, listen = "127.0.0.1:2525"` in config.toml; off unless enabled."""
    path = path or data_home() / CONFIG_FILE
    import tomllib

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("relay", {})
    except (OSError, ValueError):
        return None
    if not isinstance(table, dict) or table.get("enabled") is not True:
        return None
    from wizard.commands.serve import parse_host_port

    try:
        return parse_host_port(str(table.get("listen", DEFAULT_RELAY)))
    except ValueError as exc:
        log.warning("relay.listen: %s", exc)
        return None


def has_profiles(store: ConfigStore | None = None) -> bool:
    try:
        return bool((store or ConfigStore()).load().profiles)
    except (ValueError, OSError):
        return False  # the wizard explains a broken config.toml


async def _until_finished(window: MailwrightWizard) -> int:
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(result: int) -> None:
        if not finished.done():
            finished.set_result(int(result))

    window.finished.connect(on_finished)
    window.show()
    result = await finished
    await window.wait_idle()
    return result


async def _open_main_window(reporter: ExceptionReporter) -> int:
    from wizard.main_window import MainWindow
    from wizard.tray import MailwrightTray

    store = ConfigStore()
    from wizard.services.outbox import Outbox

    outbox = await asyncio.to_thread(Outbox)
    delivery = BackgroundDelivery(outbox, store.load, relay_address=relay_address_from_config(store.path))
    await delivery.start()
    window = MainWindow(store, outbox, delivery)
    reporter.window = window
    tray = MailwrightTray.create_if_available(window, window)
    window.tray = tray
    window.show()
    try:
        await window.wait_for_quit()
    finally:
        if tray is not None:
            tray.hide()
        await window.shutdown()
        await delivery.stop()
        window.deleteLater()
    return 0


async def _open_app(start: PageId | None) -> int:
    reporter = ExceptionReporter()
    reporter.install(asyncio.get_running_loop())
    collector = MainThreadGarbageCollector()
    warming = asyncio.create_task(warm_up(collector))
    try:
        if start is None and has_profiles():
            return await _open_main_window(reporter)
        window = MailwrightWizard(start=start or PageId.WELCOME)
        reporter.secrets, reporter.window = window.state.secrets, window
        accepted = await _until_finished(window) == int(QDialog.DialogCode.Accepted)
        window.deleteLater()
        if start is None and accepted and has_profiles():
            return await _open_main_window(reporter)  # first account saved: straight to the overview
        return 0
    finally:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
        collector.stop()
        sys.excepthook = sys.__excepthook__


def run(argv: Sequence[str] | None = None, start: PageId | None = None) -> int:
    """The desktop app: the main window when accounts exist, else the wizard; the wizard at `start` if given."""
    # The app ends when its coroutine does; Qt quitting on its own when the last window closes would stop
    # the loop under the coroutine that is still cleaning up (cancelling checks, closing connections).
    application(argv or ()).setQuitOnLastWindowClosed(False)
    configure_logging()
    return int(qasync.run(_open_app(start)))


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


async def _screenshot_main(path: Path) -> None:
    from wizard.main_window import MainWindow
    from wizard.services.alerts import AlertDispatcher

    store = ConfigStore()
    from wizard.services.outbox import Outbox

    outbox = await asyncio.to_thread(Outbox)
    delivery = BackgroundDelivery(outbox, store.load)  # never started: a screenshot sends nothing
    quiet = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(store, outbox, delivery, quiet)
    window.resize(*SCREENSHOT_SIZE)
    try:
        await window.refresh()
        await grab(window, path)
    finally:
        await window.shutdown()
        window.close()
        window.deleteLater()


def screenshot_main(path: Path) -> None:
    """Render the main window for the current configuration (800x600) to a PNG and return."""
    application().setQuitOnLastWindowClosed(False)
    qasync.run(_screenshot_main(path))
