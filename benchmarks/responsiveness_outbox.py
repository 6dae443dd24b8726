"""`responsiveness.py --queued N`: the longest stall of the app's own loop with the main window and the outbox
viewer open on an outbox of N queued messages that cannot be delivered (the account's server refuses every
connection, so the running background sender keeps retrying and everything stays queued).

Phases, each measured by responsiveness.StallMeter (a 5 ms QTimer on the app's loop; a stall is how late a tick
came):

- idle:     10 s with nothing on the loop but the meter (the baseline: what the machine's load alone costs);

- open:     the main window is built, shown and refreshed as the app does, then the outbox viewer is opened and
            its first read applied;
- steady:   10 s with both open: the viewer reads every second, the main window refreshes, the sender retries;
- actions:  select a message and read its details, retry, delete, release held mail, export the message;
- browse:   Show more (twice), the state filter (queued, then all), scroll to the bottom.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

STEADY_S = 10.0  # the idle baseline and the steady phase: as long as each other
FILL_BATCH = 1000  # messages enqueued per group commit while the outbox is filled (before measuring)


def message_bytes(number: int, body_kb: int) -> bytes:
    body = (f"Line {number} of a newsletter that waits in the outbox. " * 16 + "\r\n") * max(1, body_kb)
    return (f"From: Bench Newsletter <news@bench.test>\r\nTo: reader{number}@example.net\r\n"
            f"Subject: Newsletter issue {number}\r\n\r\n{body[:body_kb * 1024]}\r\n").encode()


async def fill(outbox: Any, count: int, body_kb: int) -> float:
    """Queue `count` messages through the outbox's group commit; returns the seconds it took."""
    started = time.perf_counter()
    for first in range(0, count, FILL_BATCH):
        await asyncio.gather(*(outbox.aenqueue(message_bytes(n, body_kb), profile="bench",
                                               envelope_from="news@bench.test", recipients=[f"reader{n}@example.net"])
                               for n in range(first, min(count, first + FILL_BATCH))))
    return time.perf_counter() - started


def fill_in_child(home: Path, count: int, body_kb: int) -> float:
    """`fill` in a child process, as an application fills the app's outbox: the measured process starts with a
    heap and garbage-collector counts like the app's, not with those of 100,000 enqueues."""
    script = ("import asyncio, importlib.util, sys\n"
              "spec = importlib.util.spec_from_file_location('fill', sys.argv[1])\n"
              "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
              "from wizard.services.outbox import Outbox\n"
              "outbox = Outbox(sys.argv[2])\n"
              "print(asyncio.run(module.fill(outbox, int(sys.argv[3]), int(sys.argv[4]))))\n")
    done = subprocess.run([sys.executable, "-c", script, __file__, str(home / "outbox.sqlite3"), str(count),
                           str(body_kb)], check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def prepare_home(home: Path, refused_port: int) -> None:
    from wizard.services.config import ConfigStore
    from wizard.services.model import Profile, Security

    store = ConfigStore(home)
    store.save_profile(Profile(name="bench", from_address="news@bench.test", host="127.0.0.1", port=refused_port,
                               security=Security.STARTTLS, timeout_s=2.0))  # no sign-in: nothing in the keyring


async def measure(meter: Any, home: Path, collector: Any) -> dict[str, Any]:
    from wizard.app_loop import warm_up
    from wizard.main_window import MainWindow
    from wizard.services.alerts import AlertDispatcher
    from wizard.services.app_services import Services
    from wizard.services.background_delivery import BackgroundDelivery
    from wizard.services.idle_connections import KEEP_IDLE_S

    # as wizard.app_loop._open_main_window: the composition root, its outbox and the app's sender
    services = await asyncio.to_thread(Services.open, home)
    store, outbox = services.store, services.outbox
    delivery = BackgroundDelivery(outbox, store.load, sender=services.sender(keep_idle_s=KEEP_IDLE_S),
                                  config_home=store.home)
    phases: dict[str, Any] = {}
    state: dict[str, Any] = {}
    meter.start()

    async def idle() -> None:  # the baseline: only the meter's timer on this loop, on this machine, now
        await asyncio.sleep(STEADY_S)

    phases["idle"] = await meter.phase(idle)
    # as wizard.app_loop._open_app: the warm-up (imports, then gc.freeze of the long-lived heap) runs beside the
    # opening of the main window
    warming = asyncio.create_task(warm_up(collector))

    async def open_windows() -> None:
        await delivery.start()
        window = MainWindow(services, delivery, AlertDispatcher(outbox, store.load, enabled=False))
        window.resize(1000, 700)
        window.show()
        await window.refresh()
        if os.environ.get("BENCH_NO_VIEWER"):
            window.outbox_dialog = None
        dialog = window.open_outbox()
        if os.environ.get("BENCH_NO_VIEWER"):
            dialog.stop_reading()
        await dialog.refresh()  # the first read, applied (the reading task's own first read may still run)
        state.update(window=window, dialog=dialog)

    async def steady() -> None:
        await asyncio.sleep(STEADY_S)

    async def actions() -> None:
        dialog = state["dialog"]
        for row in (0, 1, 2):
            dialog.table.selectRow(row)
            await asyncio.sleep(0.05)
        dialog.table.selectRow(0)
        await dialog._act("retried", outbox.retry, dialog.selected_id())
        dialog.table.selectRow(1)
        await dialog._act("deleted", outbox.delete, dialog.selected_id())
        await dialog.release_held()
        dialog.table.selectRow(0)
        with tempfile.TemporaryDirectory() as tmp:
            if not await dialog.export_selected(Path(tmp) / "message.eml"):
                raise RuntimeError(dialog.status.text())

    async def browse() -> None:
        dialog = state["dialog"]
        for _ in range(2):
            dialog.more_button.click()
            await dialog.tasks.wait()
            await asyncio.sleep(0.1)
        dialog.filter.setCurrentIndex(1)  # queued
        await asyncio.sleep(1.2)
        dialog.filter.setCurrentIndex(0)
        await asyncio.sleep(1.2)
        dialog.table.scrollToBottom()
        await asyncio.sleep(0.2)

    work: dict[str, Callable[[], Awaitable[None]]] = {"open": open_windows, "steady": steady, "actions": actions,
                                                      "browse": browse}
    try:
        for name, step in work.items():
            phases[name] = await meter.phase(step)
    finally:
        meter.stop()
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)
        window = state.get("window")
        if window is not None:
            await window.shutdown()
            window.close()
        await delivery.stop()
        outbox.close() if hasattr(outbox, "close") else None
    phases["shown"] = state["dialog"].model.rowCount() if "dialog" in state else 0
    return phases
