"""The app: opens with no configuration, one error handler with a copyable report without secrets, gui command."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QMessageBox, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory, free_port
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from tests.outbox.test_sender_boundary import Locker
from wizard import app
from wizard.dialogs.error_report import redact
from wizard.main_window import MainWindow
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services import accounts, background_delivery, secrets
from wizard.services.config import ConfigStore
from wizard.services.logs import REDACTED
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox

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


def _run_watched(watcher: QObject, start: PageId | None = None) -> int:
    """`app.run` as the double-click starts it, with `watcher` seeing every event of the application meanwhile."""
    application = QApplication.instance()
    assert application is not None
    application.installEventFilter(watcher)
    try:
        return app.run([], start=start)
    finally:
        application.removeEventFilter(watcher)


@pytest.mark.usefixtures("restore_log_handlers")
def test_run_opens_the_wizard_without_configuration_and_returns_when_closed(data_home: Path) -> None:
    watcher = _CloseWhenShown()
    assert _run_watched(watcher) == 0
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
    choices = ", ".join(page.cli_name for page in PageId)
    assert f"unknown page 'nope' (choose from {choices})" in result.stderr
    assert "m365_auth" in choices and "graph_permissions" in choices and "test_mail" in choices


class _QuitWhenSent(QObject):
    """Once the main window shows, waits for the queued message to be sent by the app's sender, then quits."""

    def __init__(self, outbox: Outbox, message_id: int) -> None:
        super().__init__()
        self.outbox = outbox
        self.message_id = message_id
        self.titles: list[str] = []
        self.cards: list[str] = []
        self.timer = QTimer(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, MainWindow) and event.type() == QEvent.Type.Show and not self.titles:
            self.titles.append(watched.windowTitle())
            self.timer.timeout.connect(lambda: self._poll(watched))
            self.timer.start(20)
        return False

    def _poll(self, window: MainWindow) -> None:
        if self.outbox.get(self.message_id).state is MessageState.SENT and window.cards:
            self.cards = list(window.cards)
            self.timer.stop()
            window.request_quit()


@pytest.mark.keyring
@pytest.mark.usefixtures("restore_log_handlers")
def test_run_with_an_account_opens_the_main_window_and_its_background_sender_delivers(
        smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    sink = smtp_server("starttls")
    accounts.save_profile(Profile(name=profile_name, from_address=GOOD_USER, host=sink.host, port=sink.port,
                                  security=Security.STARTTLS, username=GOOD_USER, ca_file=sink.ca_file), GOOD_PASSWORD)
    try:
        outbox = Outbox()
        raw = f"From: {GOOD_USER}\r\nTo: x@example.net\r\nSubject: queued before start\r\n\r\nhi\r\n".encode()
        queued = outbox.enqueue(raw, profile=profile_name, envelope_from=GOOD_USER, recipients=["x@example.net"])
        watcher = _QuitWhenSent(outbox, queued.id)
        assert _run_watched(watcher) == 0
        assert watcher.titles == ["Mailwright"]
        assert watcher.cards == [profile_name]
        assert [m.rcpt_tos for m in sink.messages] == [["x@example.net"]]
        assert gc.isenabled()
    finally:
        secrets.delete_profile_secrets(profile_name)


class _FreeTheOutboxWhenTold(_QuitWhenSent):
    """The other program lets go of the outbox once the app said it waits for it; then as _QuitWhenSent."""

    def __init__(self, outbox: Outbox, message_id: int, locker: Locker) -> None:
        super().__init__(outbox, message_id)
        self.locker = locker
        self.notes: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QMessageBox) and watched.objectName() == "outbox_wait_note" \
                and event.type() == QEvent.Type.Show and not self.notes:
            self.notes.append(watched.text())
            QTimer.singleShot(200, self.locker.release)
        return super().eventFilter(watched, event)


@pytest.mark.slow
@pytest.mark.usefixtures("qapp", "restore_log_handlers")
def test_run_with_the_outbox_locked_by_another_program_says_so_and_opens_once_it_is_free(
        smtp_server: SmtpServerFactory, data_home: Path) -> None:
    sink = smtp_server("plain", auth=False)
    ConfigStore().save_profile(Profile(name="main", from_address=GOOD_USER, host=sink.host, port=sink.port,
                                       security=Security.NONE, allow_plaintext_loopback=True))
    outbox = Outbox()
    raw = f"From: {GOOD_USER}\r\nTo: x@example.net\r\nSubject: queued before start\r\n\r\nhi\r\n".encode()
    queued = outbox.enqueue(raw, profile="main", envelope_from=GOOD_USER, recipients=["x@example.net"])
    locker = Locker(outbox.path)  # a database browser holds the outbox as the app starts
    watcher = _FreeTheOutboxWhenTold(outbox, queued.id, locker)
    try:
        assert _run_watched(watcher) == 0
    finally:
        locker.release()
    [note] = watcher.notes
    assert "Another program holds the outbox locked" in note and str(outbox.path) in note, note
    assert "Traceback" not in note
    assert watcher.titles == ["Mailwright"]  # then the main window opened
    assert [m.rcpt_tos for m in sink.messages] == [["x@example.net"]]


@pytest.mark.usefixtures("restore_log_handlers")
def test_run_at_a_page_opens_the_wizard_even_when_accounts_exist(data_home: Path) -> None:
    ConfigStore().save_profile(Profile(name="main", from_address="a@example.com", host="smtp.example.com"))
    watcher = _CloseWhenShown()
    assert _run_watched(watcher, start=PageId.SMTP) == 0
    assert watcher.titles == ["Mailwright"]


def test_the_relay_is_off_unless_the_relay_table_enables_it(data_home: Path) -> None:
    config = data_home / "config.toml"
    assert background_delivery.relay_address_from_config(config) is None
    config.write_text('[relay]\nlisten = "127.0.0.1:2600"\n', encoding="utf-8")
    assert background_delivery.relay_address_from_config(config) is None
    config.write_text('[relay]\nenabled = true\n', encoding="utf-8")
    assert background_delivery.relay_address_from_config(config) == ("127.0.0.1", 2525)
    config.write_text('[relay]\nenabled = true\nlisten = "127.0.0.1:2600"\n', encoding="utf-8")
    assert background_delivery.relay_address_from_config(config) == ("127.0.0.1", 2600)


@pytest.mark.keyring
@pytest.mark.asyncio
async def test_the_apps_relay_feeds_the_outbox_and_the_sender_delivers(
        smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    sink = smtp_server("starttls")
    store = ConfigStore()
    accounts.save_profile(Profile(name=profile_name, from_address=GOOD_USER, host=sink.host, port=sink.port,
                                  security=Security.STARTTLS, username=GOOD_USER, ca_file=sink.ca_file),
                          GOOD_PASSWORD, store)
    relay_port = free_port()
    delivery = background_delivery.BackgroundDelivery(Outbox(), store.load, relay_address=("127.0.0.1", relay_port),
                                                      poll_s=5)
    try:
        await delivery.start()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = GOOD_USER, "y@example.net", "via the relay"
        message.set_content("hello")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=relay_port, start_tls=False, use_tls=False)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not sink.messages:
            if loop.time() - started > 15:
                raise AssertionError("the relayed message never arrived")
            await asyncio.sleep(0.02)
        assert [m.rcpt_tos for m in sink.messages] == [["y@example.net"]]
        assert loop.time() - started < 5  # the relay woke the sender: no wait for its 5 s poll
    finally:
        await delivery.stop()
        secrets.delete_profile_secrets(profile_name)


@pytest.mark.usefixtures("restore_log_handlers")
def test_the_main_window_screenshot_is_800_by_600(data_home: Path, tmp_path: Path) -> None:
    ConfigStore().save_profile(Profile(name="main", from_address="a@example.com", host="smtp.example.com"))
    target = tmp_path / "main.png"
    app.screenshot_main(target)
    image = QImage(str(target))
    assert (image.width(), image.height()) == (800, 600)
    assert not (data_home / "alerts-state.json").exists()  # a screenshot raises no alerts


def test_the_window_icon_has_a_drawing_for_each_bundled_size(qtbot: QtBot) -> None:
    from PySide6.QtCore import QSize

    from wizard.app_icon import app_icon

    icon = app_icon()
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert {(16, 16), (32, 32), (256, 256)} <= sizes  # a title bar gets the 16 px drawing, not a shrunk 256
    assert icon.pixmap(QSize(16, 16)).width() == 16 and not icon.pixmap(QSize(16, 16)).isNull()
