"""GUI fixtures: a wizard on the qasync loop, and awaiting Qt signals without sleeps."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import pytest_asyncio
from keyring.backends import fail
from pytestqt.qtbot import QtBot

from wizard.pages.wizard import MailwrightWizard

SIGNAL_TIMEOUT_S = 20.0
# The offscreen platform plugin says this for every shown top-level window; it is not about our code.
OFFSCREEN_NOISE = "does not support propagateSizeHints"


def files_containing(home: Path, text: str) -> list[Path]:
    """Every file under the data home that contains `text` (a password must be in none of them)."""
    return [p for p in home.rglob("*") if p.is_file() and text in p.read_text(errors="ignore")]


class SignalWaiter:
    """Connect first, act, then await: the signal's arguments, or TimeoutError (never a sleep)."""

    def __init__(self, signal: Any) -> None:
        self.future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self.signal = signal
        signal.connect(self._fired)

    def _fired(self, *args: Any) -> None:
        if not self.future.done():
            self.future.set_result(args)

    async def wait(self, timeout_s: float = SIGNAL_TIMEOUT_S) -> tuple[Any, ...]:
        try:
            return await asyncio.wait_for(self.future, timeout_s)
        finally:
            self.signal.disconnect(self._fired)


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Collect the previous test's Qt objects (its closed qasync loop and timers) here, in the main thread.

    Otherwise Python's cyclic GC may run inside a worker thread (asyncio.to_thread for the keyring) and
    destroy them there: "QObject::~QObject: Timers cannot be stopped from another thread".
    """
    gc.collect()
    yield
    gc.collect()


@pytest_asyncio.fixture
async def wizard_window(qtbot: QtBot) -> AsyncIterator[MailwrightWizard]:
    """The wizard as the app opens it (saved accounts from this test's data home); every task awaited after."""
    window = MailwrightWizard()
    qtbot.addWidget(window)
    window.show()
    yield window
    window.cancel_tasks()
    await window.wait_idle()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


class SilentServer:
    """Accepts TCP connections and never says a word: the check hangs at the greeting until cancelled."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.release = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        await self.release.wait()
        writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest_asyncio.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    silent = SilentServer()
    silent.server = await asyncio.start_server(silent.handle, "127.0.0.1", 0)
    yield silent
    silent.release.set()
    silent.server.close()
    await silent.server.wait_closed()


# --- Whole flows: a local DNS server for the sender's domain, and the wizard pointed at it ----------------

SENDER_ZONE = {
    "example.com": [("MX", "10 mx.example.com", 60), ("TXT", "v=spf1 ip4:127.0.0.1 -all", 60)],
    "_dmarc.example.com": [("TXT", "v=DMARC1; p=none", 60)],
    # A Microsoft 365 customer: only the MX record says so.
    "contoso-mail.com": [("MX", "0 contoso-mail-com.mail.protection.outlook.com", 60)],
}


@pytest.fixture(scope="session")
def sender_dns() -> Iterator[str]:
    """"127.0.0.1:PORT" of a real UDP DNS server answering for the flows' sender domains."""
    from tests.dns.server import dns_server

    with dns_server(SENDER_ZONE) as (address, _resolver):
        yield address


def detect_options(nameserver: str, domain: str) -> dict[str, Any]:
    """autodetect.detect() kept on this machine: DNS from `nameserver`, autoconfig and probe names go nowhere."""
    from tests.autodetect.conftest import connect_to_for

    return {"nameserver": nameserver, "timeout_s": 4.0, "connect_to": connect_to_for(domain, https_port=None)}


WindowFactory = Callable[[], MailwrightWizard]


@pytest_asyncio.fixture
async def open_flow_window(qtbot: QtBot, sender_dns: str) -> AsyncIterator[WindowFactory]:
    """Opens the wizard as the app does (saved accounts from this test's data home), with DNS health and
    autodetection asking the local DNS server; every task is cancelled and awaited after the test (not in
    it: Finish closes the last window, which stops the qasync loop until the next test phase)."""
    windows: list[MailwrightWizard] = []

    def open_window() -> MailwrightWizard:
        window = MailwrightWizard(dns_nameserver=sender_dns)
        window.sender_page.detect_options = detect_options(sender_dns, "example.com")
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield open_window
    for window in windows:
        window.cancel_tasks()
        await window.wait_idle()


@pytest.fixture
def flow_window(open_flow_window: WindowFactory) -> MailwrightWizard:
    return open_flow_window()
