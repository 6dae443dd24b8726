"""The app: opens with no configuration, one error handler with a copyable report without secrets, gui command."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from wizard import app
from wizard.dialogs.error_report import redact
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.logs import REDACTED

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.fixture
def restore_excepthook() -> Iterator[None]:
    previous = sys.excepthook
    yield
    sys.excepthook = previous


def test_redact_removes_known_secrets_and_secret_looking_values() -> None:
    text = ("login failed for bob with 'hunter2'; password=abc123 Authorization: Bearer eyJhbGciOiJIUzI1 "
            "AUTH PLAIN AGJvYgBo")
    redacted = redact(text, ["hunter2"])
    for secret in ("hunter2", "abc123", "eyJhbGciOiJIUzI1", "AGJvYgBo"):
        assert secret not in redacted
    assert redacted.startswith(f"login failed for bob with '{REDACTED}'; password={REDACTED}")


@pytest.mark.asyncio
@pytest.mark.usefixtures("restore_excepthook")
async def test_unexpected_error_in_the_event_loop_shows_a_copyable_report_without_the_password(qtbot: QtBot) -> None:
    reporter = app.ExceptionReporter(lambda: ["s3cr3t-pw"])
    loop = asyncio.get_running_loop()
    reporter.install(loop)
    try:
        reported = SignalWaiter(reporter.reported)

        def broken() -> None:
            raise RuntimeError("could not sign in with s3cr3t-pw")

        loop.call_soon(broken)
        (report,) = await reported.wait()
    finally:
        loop.set_exception_handler(None)
    assert f"RuntimeError: could not sign in with {REDACTED}" in report
    assert "s3cr3t-pw" not in report
    [dialog] = reporter.dialogs
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert dialog.findChild(QPlainTextEdit, "errorReport").toPlainText() == report
    dialog.findChild(QPushButton, "copyErrorReport").click()
    assert QGuiApplication.clipboard().text() == report


@pytest.mark.usefixtures("restore_excepthook")
def test_excepthook_reports_errors_raised_in_slots(qtbot: QtBot) -> None:
    reporter = app.ExceptionReporter(lambda: [])
    with qtbot.waitSignal(reporter.reported) as blocker:
        try:
            raise ValueError("unexpected value")
        except ValueError as exc:
            reporter.excepthook(type(exc), exc, exc.__traceback__)
    assert "ValueError: unexpected value" in blocker.args[0]
    for dialog in reporter.dialogs:
        qtbot.addWidget(dialog)


class _CloseWhenShown(QObject):
    """Closes the wizard as soon as it is shown, remembering what it looked like."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, MailwrightWizard) and event.type() == QEvent.Type.Show:
            self.titles.append(watched.windowTitle())
            QTimer.singleShot(0, watched.reject)
        return False


@pytest.fixture
def restore_log_handlers() -> Iterator[None]:
    """app.run configures file logging in this test's data home; later tests configure their own."""
    logger = logging.getLogger("wizard")
    before = list(logger.handlers)
    yield
    for handler in [h for h in logger.handlers if h not in before]:
        logger.removeHandler(handler)
        handler.close()


@pytest.mark.usefixtures("restore_log_handlers")
def test_run_opens_the_wizard_without_configuration_and_returns_when_closed(data_home: Path) -> None:
    watcher = _CloseWhenShown()
    application = QApplication.instance()
    assert application is not None
    application.installEventFilter(watcher)
    try:
        assert app.run([]) == 0
    finally:
        application.removeEventFilter(watcher)
    assert (data_home / "logs" / "mailwright.log").exists()
    assert watcher.titles == ["Mailwright"]
    assert gc.isenabled()  # collection moved to the GUI thread while the app ran, and back afterwards
    assert not (data_home / "config.toml").exists()


def test_gui_list_pages_prints_the_page_ids() -> None:
    result = subprocess.run([sys.executable, "-m", "wizard", "gui", "--list-pages"], capture_output=True, text=True,
                            check=True, timeout=60)
    assert [line.split()[0] for line in result.stdout.splitlines()] == [p.cli_name for p in PageId]


@pytest.mark.slow
def test_gui_screenshot_renders_a_page_to_png(tmp_path: Path) -> None:
    target = tmp_path / "smtp.png"
    result = subprocess.run([sys.executable, "-m", "wizard", "gui", "--page", "smtp", "--screenshot", str(target)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (800, 600)


def test_gui_rejects_an_unknown_page() -> None:
    result = subprocess.run([sys.executable, "-m", "wizard", "gui", "--page", "nope", "--screenshot", "x.png"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown page 'nope' (choose from welcome, provider, smtp, check, summary)" in result.stderr
