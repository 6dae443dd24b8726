"""Fixtures that build real things: a data home, a qasync loop for GUI tests, servers on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests judge correctness, not speed: hypothesis's 200 ms deadline per example fails them on a loaded
# 2-core machine (seen in a full run beside other suites), which says nothing about the code.
settings.register_profile("mailwright", deadline=None)
settings.load_profile("mailwright")

pytest_plugins = ["tests.fixtures.smtp_servers"]


def _qasync_loop() -> asyncio.AbstractEventLoop:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    # As the app does (wizard.app): a window that closes while a coroutine runs (Finish saving, then closing the
    # wizard) must not quit the application, which would stop the loop under the running test.
    app.setQuitOnLastWindowClosed(False)
    return qasync.QEventLoop(app)


LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
    """GUI tests run their coroutines on the qasync loop, like the app; the rest on plain asyncio."""
    if item.get_closest_marker("gui"):
        return {"qasync": _qasync_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own MAILWRIGHT_HOME: config.toml, outbox and logs never leak between tests."""
    home = tmp_path / "mailwright-home"
    home.mkdir()
    monkeypatch.setenv("MAILWRIGHT_HOME", str(home))
    yield home


@pytest.fixture
def profile_name(request: pytest.FixtureRequest) -> str:
    """A keyring-safe profile name unique to the test, so parallel or repeated runs never collide."""
    return "t-" + str(abs(hash(request.node.nodeid)) % 10**10)
