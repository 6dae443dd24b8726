"""The DNS health page against a real DNS server on loopback: green, red, unreachable, cancelled; never blocks Next."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from dnslib import RCODE
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabBar,
    QToolButton,
    QWizard,
    QWizardPage,
)
from pytestqt.qtbot import QtBot

from tests.dns.server import dns_server, silent_server
from tests.dns.zones import ZONE
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from wizard.pages.dns_page import DnsHealthPage
from wizard.pages.state import WizardState
from wizard.services.model import Profile, ProviderKind

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

MERGED_FOR_M365 = "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all"


@pytest.fixture(scope="module")
def nameserver() -> Iterator[str]:
    with dns_server(ZONE) as (address, _resolver):
        yield address


@pytest.fixture(scope="module")
def servfail_nameserver() -> Iterator[str]:
    with dns_server({}, rcode=RCODE.SERVFAIL) as (address, _resolver):
        yield address


@pytest.fixture
def silent_nameserver() -> Iterator[str]:
    with silent_server() as address:
        yield address


class Opened:
    def __init__(self, qtbot: QtBot, state: WizardState, nameserver: str, timeout_s: float = 2.0) -> None:
        self.state = state
        self.page = DnsHealthPage(state, nameserver=nameserver, timeout_s=timeout_s)
        self.window = QWizard()
        self.window.addPage(QWizardPage())
        self.window.addPage(self.page)
        self.window.addPage(QWizardPage())
        qtbot.addWidget(self.window)
        self.window.show()

    async def enter(self) -> tuple[bool, ...]:
        """Go to the DNS page (it starts checking at once) and wait for the verdict."""
        finished = SignalWaiter(self.page.check_finished)
        self.window.next()
        return await finished.wait()

    def row(self, check_id: str) -> tuple[str, str]:
        return (self.page.findChild(QLabel, f"verdict-{check_id}").text(),
                self.page.findChild(QLabel, f"summary-{check_id}").text())

    def next_enabled(self) -> bool:
        return self.window.button(QWizard.WizardButton.NextButton).isEnabled()


def m365_sender(domain: str) -> WizardState:
    return WizardState(draft=Profile(name="default", from_address=f"app@{domain}", provider=ProviderKind.M365_SMTP))


@pytest.mark.asyncio
async def test_correct_microsoft_365_domain_is_all_green(qtbot: QtBot, nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("contoso.test"), nameserver)
    assert await opened.enter() == (True,)
    await opened.page.tasks.wait()
    page = opened.page
    assert "contoso.test" in page.findChild(QLabel, "dnsTarget").text()
    assert "Microsoft 365" in page.findChild(QLabel, "dnsTarget").text()
    for check_id in ("spf", "dkim", "dmarc", "mx"):
        assert opened.row(check_id)[0] == "OK", check_id
    assert opened.row("spf")[1] == "SPF is valid and authorises Microsoft 365"
    assert page.status.text().startswith("All green: contoso.test is ready for sending.")
    assert "up to 60 minutes" in page.status.text()  # the zone's TTL is one hour
    assert "no change is needed" in page.findChild(QPlainTextEdit, "dnsLetter").toPlainText()
    assert page.findChild(QLineEdit, "spfRecord") is None
    assert opened.next_enabled()


@pytest.mark.asyncio
async def test_google_only_spf_for_microsoft_365_shows_the_merged_record_and_the_letter(
        qtbot: QtBot, nameserver: str, tmp_path: Path) -> None:
    opened = Opened(qtbot, m365_sender("googleonly.test"), nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    page = opened.page
    assert opened.row("spf") == ("Problem", "SPF is broken or incomplete")
    details = page.findChild(QLabel, "details-spf")
    assert details.isVisible() and "Microsoft 365 is NOT authorised" in details.text()  # problems open by default
    assert page.findChild(QLabel, "fix-spf").isVisible()
    assert page.findChild(QLineEdit, "spfRecord").text() == MERGED_FOR_M365
    qtbot.mouseClick(page.findChild(QPushButton, "copySpf"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == MERGED_FOR_M365
    letter = page.findChild(QPlainTextEdit, "dnsLetter").toPlainText()
    assert letter.startswith("Subject: DNS changes needed for e-mail from googleonly.test")
    assert f"Value: {MERGED_FOR_M365}" in letter
    qtbot.mouseClick(page.findChild(QPushButton, "copyLetter"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == letter
    assert "problem" in page.status.text() and "You can continue" in page.status.text()
    saved = tmp_path / "letter.txt"
    page.save_letter(str(saved))
    assert saved.read_text(encoding="utf-8") == letter
    assert page.status.text() == f"Letter saved to {saved}."
    assert opened.next_enabled()  # DNS problems warn, they do not block the wizard
    opened.window.next()
    assert opened.window.currentPage() is not page


@pytest.mark.asyncio
async def test_recheck_sees_the_dns_as_it_is_now(qtbot: QtBot, nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("googleonly.test"), nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    # as if the admin had fixed the records:
    opened.state.draft = replace(opened.state.draft, from_address="app@contoso.test")
    finished = SignalWaiter(opened.page.check_finished)
    qtbot.mouseClick(opened.page.findChild(QPushButton, "recheckDns"), Qt.MouseButton.LeftButton)
    assert await finished.wait() == (True,)
    await opened.page.tasks.wait()
    assert opened.row("spf")[0] == "OK"


@pytest.mark.asyncio
async def test_servfail_shows_could_not_check_never_missing(qtbot: QtBot, servfail_nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("contoso.test"), servfail_nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    for check_id in ("spf", "dkim", "dmarc", "mx"):
        assert opened.row(check_id)[0] == "Could not check", check_id
    assert "could not be done" in opened.page.status.text()
    assert opened.next_enabled()


@pytest.mark.asyncio
async def test_cancel_stops_a_check_against_a_dns_server_that_never_answers(qtbot: QtBot,
                                                                           silent_nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("contoso.test"), silent_nameserver, timeout_s=60)
    page = opened.page
    finished = SignalWaiter(page.check_finished)
    started = SignalWaiter(page.tasks.busy_changed)
    opened.window.next()
    assert await started.wait() == (True,)  # entering the page started the check
    cancel = page.findChild(QPushButton, "cancelDns")
    assert cancel.isEnabled() and page.progress.isVisible()
    assert opened.row("spf")[0] == "Checking…"
    assert opened.next_enabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert await finished.wait(10) == (False,)
    await asyncio.wait_for(page.tasks.wait(), 10)
    assert opened.row("spf") == ("Cancelled", "not checked (cancelled)")
    assert page.status.text().startswith("DNS check cancelled.")
    assert page.findChild(QPushButton, "recheckDns").isEnabled() and not cancel.isEnabled()
    assert not page.progress.isVisible()


@pytest.mark.asyncio
async def test_leaving_the_page_cancels_a_running_check(qtbot: QtBot, silent_nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("contoso.test"), silent_nameserver, timeout_s=60)
    finished = SignalWaiter(opened.page.check_finished)
    started = SignalWaiter(opened.page.tasks.busy_changed)
    opened.window.next()
    assert await started.wait() == (True,)
    opened.window.next()
    assert await finished.wait(10) == (False,)
    await asyncio.wait_for(opened.page.tasks.wait(), 10)


@pytest.mark.asyncio
async def test_missing_or_bad_sender_domain_is_explained(qtbot: QtBot, nameserver: str) -> None:
    opened = Opened(qtbot, WizardState(), nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    assert opened.page.status.text() == "There is no sender address to check yet: go Back and enter one."
    assert opened.next_enabled()
    opened.state.draft = replace(opened.state.draft, from_address="app@192.0.2.1")
    finished = SignalWaiter(opened.page.check_finished)
    qtbot.mouseClick(opened.page.findChild(QPushButton, "recheckDns"), Qt.MouseButton.LeftButton)
    assert await finished.wait() == (False,)
    await opened.page.tasks.wait()
    assert opened.page.status.text() == "Cannot check the DNS: '192.0.2.1' is not a mail domain (like example.com)."


@pytest.mark.asyncio
async def test_every_input_and_button_has_a_name_and_an_accessible_name(qtbot: QtBot, nameserver: str) -> None:
    opened = Opened(qtbot, m365_sender("googleonly.test"), nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    widgets = opened.page.findChildren(QLineEdit) + opened.page.findChildren(QPushButton) + \
        opened.page.findChildren(QPlainTextEdit) + opened.page.findChildren(QToolButton)
    assert len(widgets) > 10
    for widget in widgets:
        if isinstance(widget.parent(), QTabBar):
            continue  # the tab bar's own scroll arrows
        assert widget.objectName() and widget.accessibleName(), widget


def test_dnspython_is_not_imported_with_the_page() -> None:
    code = ("import sys, wizard.pages.dns_page; "
            "loaded = sorted(m for m in sys.modules if m == 'dns' or m.startswith(('dns.', 'wizard.services.dns_h')));"
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.asyncio
async def test_the_dkim_selector_and_daily_volume_are_fields_not_command_line_options(qtbot: QtBot,
                                                                                     nameserver: str) -> None:
    draft = Profile(name="default", from_address="app@hidden.test", host="smtp.hidden.test")
    opened = Opened(qtbot, WizardState(draft=draft), nameserver)
    assert await opened.enter() == (False,)
    await opened.page.tasks.wait()
    page = opened.page
    dkim = page.findChild(QLabel, "details-dkim").text() + page.findChild(QLabel, "fix-dkim").text()
    assert "enter it as the DKIM selector (the field on the DNS page, or --selector for mailwright dns)" in dkim
    assert "give your selector with --selector" not in dkim
    rules = page.findChild(QLabel, "details-sender_rules").text()
    assert "Enter how many messages a day you expect to send (the field on the DNS page" in rules
    assert "Postmaster Tools, Google's free dashboard for senders" in rules  # the term explained where it is used

    selector = page.findChild(QLineEdit, "dkimSelector")
    selector.setText("X7")
    selector.textEdited.emit("X7")
    assert page.status.text() == "Press Enter or click “Check now” to check with the new value."
    finished = SignalWaiter(page.check_finished)
    qtbot.keyClick(selector, Qt.Key.Key_Return)  # Enter checks again with the selector
    await finished.wait()
    await page.tasks.wait()
    assert opened.row("dkim") == ("OK", "DKIM key published (selectors: x7)")

    volume = page.findChild(QSpinBox, "dailyVolume")
    assert volume.value() == 0 and volume.text() == "not sure"
    volume.setValue(20000)
    finished = SignalWaiter(page.check_finished)
    qtbot.mouseClick(page.findChild(QPushButton, "recheckDns"), Qt.MouseButton.LeftButton)  # or Check now
    await finished.wait()
    await page.tasks.wait()
    rules = page.findChild(QLabel, "details-sender_rules").text()
    assert "Bulk sender (20000/day >= 5000)" in rules and "Enter how many messages" not in rules


@pytest.mark.asyncio
async def test_a_selector_that_is_no_dns_name_is_explained_not_checked(qtbot: QtBot, nameserver: str) -> None:
    opened = Opened(qtbot, WizardState(draft=Profile(name="default", from_address="app@hidden.test")), nameserver)
    await opened.enter()
    await opened.page.tasks.wait()
    page = opened.page
    page.findChild(QLineEdit, "dkimSelector").setText("my selector!")
    finished = SignalWaiter(page.check_finished)
    qtbot.keyClick(page.findChild(QLineEdit, "dkimSelector"), Qt.Key.Key_Return)
    assert await finished.wait() == (False,)
    await page.tasks.wait()
    assert page.status.text() == ("Cannot check the DNS: 'selector!' is not a DKIM selector: one name of letters, "
                                  "digits, - and _ (like s1 or google), as in the s= tag of a DKIM-Signature.")
