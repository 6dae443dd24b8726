"""The check page: a failing check explains itself, Cancel really stops a check, Next only after a pass."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWizard
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_USER, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, SilentServer
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.check import STEP_TITLES
from wizard.services.model import Profile, Security
from wizard.services.secret_source import DraftSecrets

pytestmark = [pytest.mark.gui, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def account(host: str, port: int, password: str, ca_file: str = "") -> WizardState:
    return WizardState(
        draft=Profile(name="default", from_address=GOOD_USER, host=host, port=port, security=Security.STARTTLS,
                      username=GOOD_USER, ca_file=ca_file),
        secrets=DraftSecrets(password=password))


async def open_at_check(qtbot: QtBot, state: WizardState) -> MailwrightWizard:
    """The wizard on the SMTP page with these settings; Next starts the check."""
    window = MailwrightWizard(SavedAccounts(state), start=PageId.SMTP)
    qtbot.addWidget(window)
    window.show()
    return window


def next_enabled(window: MailwrightWizard) -> bool:
    return window.button(QWizard.WizardButton.NextButton).isEnabled()


async def test_wrong_password_stops_at_sign_in_with_a_diagnosis(qtbot: QtBot,
                                                                smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    window = await open_at_check(qtbot, account(server.host, server.port, "Wr0ng-pa55", server.ca_file))
    page = window.check_page
    finished = SignalWaiter(page.check_finished)
    window.next()
    assert await finished.wait() == (False,)
    await window.wait_idle()
    assert page.findChild(QLabel, "step-auth").text().startswith("failed: The server rejected")
    assert page.findChild(QLabel, "step-sender").text() == "skipped"
    box = page.findChild(QLabel, "diagnosisTitle")
    assert box.isVisible() and box.text() == "The server rejected the user name or password"
    assert "535" in page.findChild(QLabel, "diagnosisExplanation").text()
    assert all("Wr0ng-pa55" not in label.text() for label in page.findChildren(QLabel))
    assert not next_enabled(window)
    assert not page.findChild(QPushButton, "sendTestMail").isEnabled()


async def test_cancel_stops_a_check_against_a_silent_server(qtbot: QtBot, silent_server: SilentServer) -> None:
    window = await open_at_check(qtbot, account("127.0.0.1", silent_server.port, "pw"))
    page = window.check_page
    finished = SignalWaiter(page.check_finished)
    window.next()
    await asyncio.wait_for(silent_server.connected.wait(), 10)
    cancel = page.findChild(QPushButton, "cancelCheck")
    assert cancel.isEnabled() and page.tasks.busy
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert await finished.wait(10) == (False,)
    await asyncio.wait_for(window.wait_idle(), 10)
    assert not page.tasks.busy
    assert "cancelled" in page.status.text()
    assert page.findChild(QPushButton, "runCheck").isEnabled()
    assert not cancel.isEnabled()
    assert not next_enabled(window)


async def test_rerun_after_fixing_the_server_passes_and_enables_next(qtbot: QtBot,
                                                                     smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    state = account(server.host, server.port, "correct horse battery staple")  # no CA file: untrusted
    window = await open_at_check(qtbot, state)
    page = window.check_page
    first = SignalWaiter(page.check_finished)
    window.next()
    assert await first.wait() == (False,)
    await window.wait_idle()
    assert "certificate" in page.findChild(QLabel, "diagnosisTitle").text()
    window.back()
    window.smtp_page.ca_file.setText(server.ca_file)
    second = SignalWaiter(page.check_finished)
    window.next()
    assert await second.wait() == (True,)
    await window.wait_idle()
    assert not page.findChild(QLabel, "diagnosisTitle").isVisible()
    assert next_enabled(window)


async def saved_account_check(qtbot: QtBot, port: int) -> MailwrightWizard:
    """Editing a saved account with the password field left empty: the check asks the keyring."""
    state = account("127.0.0.1", port, "")
    state.load_profile(replace(state.draft, name="t-saved-without-secret"))
    window = await open_at_check(qtbot, state)
    assert next_enabled(window)
    finished = SignalWaiter(window.check_page.check_finished)
    window.next()
    assert await finished.wait() == (False,)
    await window.wait_idle()
    return window


@pytest.mark.keyring
async def test_saved_account_without_its_password_in_the_keyring_says_so(qtbot: QtBot,
                                                                          smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    window = await saved_account_check(qtbot, server.port)
    assert window.check_page.findChild(QLabel, "step-auth").text().startswith("failed")
    title = window.check_page.findChild(QLabel, "diagnosisTitle").text()
    assert title == "The password for this profile is not in the keyring"
    assert server.handler.mail_from_seen == []  # nothing was attempted without a password


@pytest.mark.usefixtures("no_keyring")
async def test_saved_account_without_a_keyring_explains_the_keyring(qtbot: QtBot,
                                                                    smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    window = await saved_account_check(qtbot, server.port)
    title = window.check_page.findChild(QLabel, "diagnosisTitle").text()
    assert title == "No secure keyring is available"


async def test_the_running_step_shows_its_elapsed_seconds(qtbot: QtBot, silent_server: SilentServer) -> None:
    window = await open_at_check(qtbot, account("127.0.0.1", silent_server.port, "pw"))
    page = window.check_page
    now = [100.0]
    page.clock = lambda: now[0]  # the page's clock, not the wall's: no timed assertion
    finished = SignalWaiter(page.check_finished)
    window.next()
    await asyncio.wait_for(silent_server.connected.wait(), 10)
    running = next(name for name in STEP_TITLES if page.step_result(name) == "running…")
    assert page.elapsed_timer.isActive() and page.elapsed_timer.interval() == 1000
    now[0] = 107.6
    page.show_elapsed()  # what the one-second timer calls
    assert page.step_result(running) == "running… 7 s"
    page.tasks.cancel()
    assert await finished.wait(10) == (False,)
    await asyncio.wait_for(window.wait_idle(), 10)
    assert not page.elapsed_timer.isActive()
    assert page.step_result(running) == "cancelled"
