"""The generic SMTP path from the welcome page to a passed connection check with the keyboard only.

Every key goes to the widget that has the focus (as a real keyboard's would), so a field that Tab cannot
reach, a Tab order that jumps around, or a page without a working Alt+N/Enter fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, detect_options
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.model import ProviderKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

MAX_TABS = 40


def focused(window: QWidget) -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None and window.isAncestorOf(widget), "the focus left the wizard"
    return widget


def press(window: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(focused(window), key, modifier)


def press_shortcut(window: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier) -> None:
    """A mnemonic such as Alt+N: only keys that come through the window system reach Qt's shortcut map.

    Only for shortcuts: a key delivered this way is handled synchronously inside the running test task,
    and an Enter that starts the check from there stalls the qasync loop (a test artefact; real keys
    arrive from the event loop).
    """
    focused(window)
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, key, modifier)


def type_text(window: QWidget, text: str) -> None:
    press(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # replace what the field holds
    QTest.keyClicks(focused(window), text)


def tab_to(window: QWidget, name: str) -> list[str]:
    """Tab until the widget named `name` has the focus; the names passed on the way."""
    passed: list[str] = []
    for _ in range(MAX_TABS):
        if focused(window).objectName() == name:
            return passed
        passed.append(focused(window).objectName())
        press(window, Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reaches {name}; it cycles through {passed}")


async def alt_next(window: MailwrightWizard, expect: PageId) -> None:
    """Alt+N; a mnemonic "animates" the click, so Next is pressed on a timer shortly after the key."""
    moved = SignalWaiter(window.currentIdChanged)
    press_shortcut(window, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    await moved.wait(timeout_s=10.0)
    assert window.currentId() == expect, f"Alt+N led to {PageId(window.currentId()).cli_name}, not {expect.cli_name}"


@pytest.mark.asyncio
async def test_generic_smtp_path_to_a_passed_check_with_the_keyboard_only(
        qtbot: QtBot, sender_dns: str, smtp_server: SmtpServerFactory, data_home: Path, profile_name: str) -> None:
    server = smtp_server("starttls")
    window = MailwrightWizard(dns_nameserver=sender_dns)
    window.sender_page.detect_options = detect_options(sender_dns, "example.com")
    qtbot.addWidget(window)
    window.show()
    try:
        await walk_to_a_passed_check(qtbot, window, server.host, server.port, server.ca_file, profile_name)
    finally:
        window.cancel_tasks()
        await window.wait_idle()


async def walk_to_a_passed_check(qtbot: QtBot, window: MailwrightWizard, host: str, port: int, ca_file: str,
                                 profile_name: str) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None and window.isAncestorOf(QApplication.focusWidget()))

    press(window, Qt.Key.Key_Return)  # the welcome page's default button is Next
    assert window.currentId() == PageId.SENDER
    assert focused(window).objectName() == "senderAddress", "the sender page should start in the address field"
    type_text(window, GOOD_USER)
    press(window, Qt.Key.Key_Tab)
    assert focused(window).objectName() == "senderDisplayName"
    type_text(window, "Example Support")
    press(window, Qt.Key.Key_Tab)
    assert focused(window).objectName() == "senderProfileName"
    type_text(window, profile_name)
    await alt_next(window, PageId.PROVIDER)

    # The provider choices are one Tab stop (an exclusive group); the arrow keys move between them.
    for _ in range(MAX_TABS):
        if focused(window).objectName().startswith("provider-"):
            break
        press(window, Qt.Key.Key_Tab)
    for _ in range(len(ProviderKind)):
        if focused(window).objectName() == "provider-smtp":
            break
        press(window, Qt.Key.Key_Down)
    assert focused(window).objectName() == "provider-smtp"
    assert window.provider_page.findChild(QRadioButton, "provider-smtp").isChecked()
    await alt_next(window, PageId.SMTP)

    assert focused(window).objectName() == "host", "the SMTP page should start in the server field"
    type_text(window, host)
    order = ["host"]
    for name, text in (("port", str(port)), ("password", GOOD_PASSWORD), ("caFile", ca_file)):
        order += tab_to(window, name)[1:]
        order.append(name)
        type_text(window, text)
    assert order.index("host") < order.index("port") < order.index("password") < order.index("caFile"), order
    if "username" in order:
        assert order.index("port") < order.index("username") < order.index("password"), order

    checked = SignalWaiter(window.check_page.check_finished)
    press(window, Qt.Key.Key_Return)  # Enter in a field presses the default button, Next
    assert window.currentId() == PageId.CHECK
    assert await checked.wait() == (True,), window.check_page.status.text()
    await window.wait_idle()
    await alt_next(window, PageId.SENDER_SETTINGS)
