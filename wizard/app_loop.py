"""The app on the qasync loop, once wizard.app has shown the first window: the main window or the wizard.

Imported after the first paint (asyncio and qasync cost about 35 ms). The warm-up imports, in the
background, what the next steps will need, so that Next and the first check do not stall the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from wizard.app import (
    SCREENSHOT_SIZE,
    ExceptionReporter,
    MainThreadGarbageCollector,
    ShownWizard,
    grab,
    has_profiles,
)
from wizard.app_icon import app_icon
from wizard.pages.ids import PageId
from wizard.pages.wizard import PAGE_MODULES, MailwrightWizard
from wizard.services.logs import configure_logging

if TYPE_CHECKING:
    from wizard.services.app_services import Services

# Imported after the first paint, in a thread: the first lookup or check then does not stall the loop.
WARM_UP_MODULES = ("wizard.services.autodetect", "wizard.services.dns_health", "wizard.services.check")

async def next_frame(delay_ms: int = 50) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not done.done():
            done.set_result(None)

    QTimer.singleShot(delay_ms, resolve)
    await done


async def warm_up(collector: MainThreadGarbageCollector, delay_ms: int = 300) -> None:
    await next_frame(delay_ms)
    QApplication.setWindowIcon(app_icon())  # after the first paint: decoding costs ~20 ms
    for name in WARM_UP_MODULES:
        await asyncio.to_thread(importlib.import_module, name)
    # The wizard's pages are built when first reached; with their modules imported here (Qt classes: in the
    # GUI thread, one a turn of the loop, a few ms each once the services are in) Next only builds the page.
    for name in PAGE_MODULES:
        importlib.import_module(name)
        await asyncio.sleep(0)
    collector.freeze_heap()


async def _until_finished(shown: ShownWizard) -> int:
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(result: int) -> None:
        if not finished.done():
            finished.set_result(result)

    shown.when_finished(on_finished)
    if shown.result is None:  # not closed while wizard.app waited for its first paint
        shown.window.show()
    result = await finished
    await shown.window.wait_idle()
    return result


async def _open_services() -> Services:
    """The app's services; while another program holds the outbox locked (a database browser, a backup), a note
    says so in plain words and the app opens once it lets go (outbox_open.py), instead of an error report."""
    from PySide6.QtWidgets import QMessageBox

    from wizard.services.app_services import Services
    from wizard.services.config import data_home
    from wizard.services.outbox import OUTBOX_FILE
    from wizard.services.outbox_open import OPEN_WAIT_S, open_outbox

    note: list[QMessageBox] = []

    def waiting(text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Mailwright is waiting for its outbox",
                          f"{text}\n\nMailwright opens as soon as the outbox is free.")
        box.setObjectName("outbox_wait_note")
        box.setStandardButtons(QMessageBox.StandardButton.NoButton)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        note.append(box)

    try:
        return await open_outbox(lambda: Services.open(open_wait_s=OPEN_WAIT_S), data_home() / OUTBOX_FILE,
                                 on_wait=waiting)
    finally:
        for box in note:
            box.close()
            box.deleteLater()


async def _open_main_window(reporter: ExceptionReporter) -> int:
    from wizard.main_window import MainWindow
    from wizard.services.background_delivery import BackgroundDelivery, relay_address, relay_settings_from_config
    from wizard.services.idle_connections import KEEP_IDLE_S
    from wizard.tray import MailwrightTray

    services = await _open_services()  # the composition root: one per running app
    store = services.store
    relay = relay_settings_from_config(store.path)
    delivery = BackgroundDelivery(services.outbox, store.load, sender=services.sender(keep_idle_s=KEEP_IDLE_S),
                                  relay_address=relay_address(relay), relay_allow_remote=relay.allow_remote,
                                  config_home=store.home)
    await delivery.start()
    from wizard.services.certificate_renewal import CertificateRenewal

    renewal = CertificateRenewal()  # Microsoft 365 app certificates renewed 30 days before they expire
    renewal.start()
    alerts = services.alerts  # health alerts and events (an unauthorised sender) of this data home
    alerts.on_queued = delivery.wake  # an alert mail goes out at once, not at the next poll
    window = MainWindow(services, delivery)  # its alerts dispatcher is `alerts`, the services' own
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
        await renewal.stop()
        await delivery.stop()
        window.deleteLater()
    return 0


async def _open_app(start: PageId | None, reporter: ExceptionReporter, shown: ShownWizard | None) -> int:
    reporter.install(asyncio.get_running_loop())
    collector = MainThreadGarbageCollector()
    warming = asyncio.create_task(warm_up(collector))
    try:
        if shown is None:
            if start is None:  # wizard.app.run shows the wizard first unless config.toml has accounts
                return await _open_main_window(reporter)
            window = MailwrightWizard(start=start or PageId.WELCOME)
            reporter.secrets, reporter.window = window.state.secret_values, window
            shown = ShownWizard(window)
        accepted = await _until_finished(shown) == int(QDialog.DialogCode.Accepted)
        shown.window.deleteLater()
        if start is None and accepted and has_profiles():
            return await _open_main_window(reporter)  # first account saved: straight to the overview
        return 0
    finally:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
        collector.stop()


def run(start: PageId | None, reporter: ExceptionReporter, shown: ShownWizard | None) -> int:
    """wizard.app.run from the point where the first window (if it is the wizard) is on the screen.

    `shown` is the wizard already painted, or None: then `start` is the wizard page to open, or None when
    wizard.app.run found accounts in config.toml (the main window opens without reading it again).
    """
    configure_logging()
    return int(qasync.run(_open_app(start, reporter, shown)))


async def _screenshot_main(path: Path) -> None:
    from wizard.main_window import MainWindow
    from wizard.services.alerts import AlertDispatcher
    from wizard.services.app_services import Services
    from wizard.services.background_delivery import BackgroundDelivery

    services = await asyncio.to_thread(Services.open)
    outbox, store = services.outbox, services.store
    delivery = BackgroundDelivery(outbox, store.load)  # never started: a screenshot sends nothing
    quiet = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(services, delivery, quiet)
    window.resize(*SCREENSHOT_SIZE)
    try:
        await window.refresh()
        await grab(window, path)
    finally:
        await window.shutdown()
        window.close()
        window.deleteLater()


def screenshot_main(path: Path) -> None:
    qasync.run(_screenshot_main(path))
