"""The sender page: autodetection against a local DNS server proposes the provider and says why; the
provider page preselects it and the admin can override it; a lookup that hangs can be cancelled."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLineEdit, QProgressBar
from pytestqt.qtbot import QtBot

from tests.dns.server import silent_server
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, detect_options
from tests.gui.wizard_driver import choose_provider, click, click_next, type_into
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.model import ProviderKind

pytestmark = [pytest.mark.gui, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def on_sender_page(qtbot: QtBot, window: MailwrightWizard, address: str) -> None:
    click_next(qtbot, window, PageId.SENDER)
    type_into(window, "senderAddress", address)


async def test_mx_record_proposes_microsoft_365_and_the_admin_can_override(
        qtbot: QtBot, flow_window: MailwrightWizard, sender_dns: str) -> None:
    window = flow_window
    window.sender_page.detect_options = detect_options(sender_dns, "contoso-mail.com")
    on_sender_page(qtbot, window, "billing@contoso-mail.com")
    detected = SignalWaiter(window.sender_page.detection_finished)
    busy = SignalWaiter(window.sender_page.tasks.busy_changed)
    click(qtbot, window, "detectProvider")
    assert await busy.wait() == (True,)
    assert window.sender_page.findChild(QProgressBar, "detectProgress").isVisible()
    assert not window.button(window.WizardButton.NextButton).isEnabled()  # wait for the answer, or Cancel
    assert await detected.wait() == (True,)
    await window.wait_idle()

    result = window.sender_page.result.text()
    assert "Proposed: Microsoft 365" in result and "smtp.office365.com" in result
    assert "contoso-mail-com.mail.protection.outlook.com" in result  # the evidence: the MX record
    assert "DNS MX records: found" in window.sender_page.sources.text()
    assert not window.sender_page.findChild(QProgressBar, "detectProgress").isVisible()

    click_next(qtbot, window, PageId.PROVIDER)
    assert window.provider_page.buttons[ProviderKind.M365_SMTP].isChecked()
    assert "Microsoft Graph is the alternative" in window.provider_page.proposal.text()
    choose_provider(qtbot, window, ProviderKind.GMAIL)
    click_next(qtbot, window, PageId.GMAIL_AUTH)
    assert window.state.draft.provider is ProviderKind.GMAIL and window.state.draft.host == "smtp.gmail.com"


async def test_a_catalogue_domain_preselects_the_smtp_preset(qtbot: QtBot, flow_window: MailwrightWizard,
                                                             sender_dns: str) -> None:
    window = flow_window
    window.sender_page.detect_options = detect_options(sender_dns, "fastmail.com")
    on_sender_page(qtbot, window, "me@fastmail.com")
    detected = SignalWaiter(window.sender_page.detection_finished)
    click(qtbot, window, "detectProvider")
    assert await detected.wait() == (True,)
    await window.wait_idle()
    assert "Provider catalogue: found" in window.sender_page.sources.text()
    click_next(qtbot, window, PageId.PROVIDER)
    assert window.provider_page.buttons[ProviderKind.SMTP].isChecked()
    assert window.provider_page.preset.currentData() == "fastmail"
    click_next(qtbot, window, PageId.SMTP)
    assert window.smtp_page.findChild(QLineEdit, "host").text() == "smtp.fastmail.com"
    assert window.smtp_page.findChild(QLineEdit, "port").text() == "465"


async def test_a_hanging_lookup_can_be_cancelled(qtbot: QtBot, flow_window: MailwrightWizard) -> None:
    window = flow_window
    with silent_server() as nameserver:
        options = detect_options(nameserver, "example.com")
        window.sender_page.detect_options = {**options, "timeout_s": 60.0}
        on_sender_page(qtbot, window, "app@example.com")
        finished = SignalWaiter(window.sender_page.detection_finished)
        busy = SignalWaiter(window.sender_page.tasks.busy_changed)
        click(qtbot, window, "detectProvider")
        assert await busy.wait() == (True,)
        click(qtbot, window, "cancelDetect")
        assert await finished.wait(10) == (False,)
        await window.wait_idle()
    assert "Lookup cancelled" in window.sender_page.result.text()
    assert window.state.detection is None
    assert window.button(window.WizardButton.NextButton).isEnabled()
    click_next(qtbot, window, PageId.PROVIDER)
    assert "choose" in window.provider_page.proposal.text().lower()


async def test_an_invalid_address_or_profile_name_blocks_next(qtbot: QtBot, flow_window: MailwrightWizard) -> None:
    window = flow_window
    on_sender_page(qtbot, window, "not an address")
    assert "not a valid e-mail address" in window.sender_page.problem.text()
    assert not window.sender_page.detect_button.isEnabled()
    assert not window.button(window.WizardButton.NextButton).isEnabled()
    type_into(window, "senderAddress", "app@example.com")
    type_into(window, "senderProfileName", "my office")
    assert "one word" in window.sender_page.problem.text()
    assert not window.button(window.WizardButton.NextButton).isEnabled()
    type_into(window, "senderProfileName", "office")
    assert window.button(window.WizardButton.NextButton).isEnabled()
    assert (window.state.draft.from_address, window.state.draft.name) == ("app@example.com", "office")
