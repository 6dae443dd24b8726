"""The main window's service line: what the service manager says, and Install…/Remove… that elevate or explain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.services.service_status import ServiceStatus, read_service_status
from wizard.widgets.service_panel import ServicePanel

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def _reader(status: ServiceStatus) -> Callable[[], Awaitable[ServiceStatus]]:
    async def read() -> ServiceStatus:
        return status

    return read


@pytest.mark.asyncio
async def test_a_running_service_is_named_with_what_it_told_systemd(qtbot: QtBot) -> None:
    panel = ServicePanel(_reader(ServiceStatus(True, installed=True, active="active", state="running", pid=42,
                                               status_text="Delivering mail; relay on 127.0.0.1:2525")))
    qtbot.addWidget(panel)
    panel.show()
    await panel.refresh()
    assert panel.label.text() == ("The Mailwright service is active (running): Delivering mail; relay on "
                                  "127.0.0.1:2525")
    assert panel.remove.isVisible() and not panel.install.isVisible()


@pytest.mark.asyncio
async def test_without_an_elevation_prompt_install_shows_the_exact_command(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no pkexec on this PATH
    panel = ServicePanel(_reader(ServiceStatus(True, installed=False)))
    qtbot.addWidget(panel)
    panel.show()
    await panel.refresh()
    assert panel.label.text() == "No Mailwright service is installed."
    assert panel.install.isVisible() and not panel.remove.isVisible()
    panel.install.click()
    await panel.tasks.wait()
    assert panel.dialog is not None and panel.dialog.isVisible()
    assert panel.dialog.command.text().startswith("sudo ") and panel.dialog.command.text().endswith(
        "-m wizard service install")
    panel.dialog.close()


@pytest.mark.asyncio
async def test_the_real_status_reader_answers_without_blocking_even_without_systemd(qtbot: QtBot) -> None:
    status = await read_service_status()
    assert status.known or status.reason
