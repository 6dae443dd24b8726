"""Every page has help in plain words; provider pages link to that provider's own documentation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser, QWizard
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.ids import PageId
from wizard.pages.page_help import PAGE_TEXT, help_html, page_links
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard, SavedAccounts
from wizard.services.model import AuthMode, Profile, ProviderKind


def test_every_page_has_help() -> None:
    assert set(PAGE_TEXT) == set(PageId)
    for page in PageId:
        html = help_html(page, page.cli_name, WizardState())
        assert PAGE_TEXT[page][:40].replace("'", "&#x27;") in html


@pytest.mark.parametrize(("provider", "auth", "preset", "expected"), [
    (ProviderKind.M365_SMTP, AuthMode.OAUTH_INTERACTIVE, "", "learn.microsoft.com/exchange/client-developer"),
    (ProviderKind.GRAPH, AuthMode.CLIENT_SECRET, "", "learn.microsoft.com/graph/api/user-sendmail"),
    (ProviderKind.GMAIL, AuthMode.PASSWORD, "", "support.google.com/accounts/answer/185833"),
    (ProviderKind.GMAIL, AuthMode.OAUTH_INTERACTIVE, "", "developers.google.com/identity/protocols/oauth2/native-app"),
    (ProviderKind.SMTP, AuthMode.PASSWORD, "zoho", "zoho.com/mail/help"),
])
def test_provider_pages_link_to_the_providers_documentation(provider: ProviderKind, auth: AuthMode, preset: str,
                                                            expected: str) -> None:
    state = WizardState(draft=Profile(name="default", provider=provider, auth=auth, preset=preset))
    urls = [url for _text, url in page_links(PageId.CHECK, state)]
    assert any(expected in url for url in urls), urls
    assert expected in help_html(PageId.CHECK, "Connection check", state)


def test_a_server_without_a_preset_has_no_made_up_links() -> None:
    assert page_links(PageId.SMTP, WizardState(draft=Profile(name="default", provider=ProviderKind.SMTP))) == []


def test_dns_help_links_to_google_and_microsoft_not_to_rfcs_as_provider_documentation() -> None:
    state = WizardState(draft=Profile(name="default", provider=ProviderKind.SMTP))
    urls = [url for _text, url in page_links(PageId.DNS, state)]
    assert "https://support.google.com/a/answer/33786" in urls  # Google: set up SPF
    assert "https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure" in urls
    assert not any("rfc-editor.org" in url for url in urls)
    html = help_html(PageId.DNS, "DNS", state)
    assert "Your provider&#x27;s own documentation" not in html and "What Google and Microsoft" in html
    assert "Postmaster Tools, a free dashboard" in html


@pytest.mark.parametrize("page", [PageId.SMTP, PageId.CHECK, PageId.DNS, PageId.TEST_MAIL, PageId.SUMMARY])
def test_help_for_the_main_pages_is_more_than_one_paragraph(page: PageId) -> None:
    assert help_html(page, page.cli_name, WizardState()).count("<p>") >= 2


def test_smtp_help_explains_starttls_and_a_ca_file() -> None:
    html = help_html(PageId.SMTP, "SMTP", WizardState())
    assert "STARTTLS (usually port 587) connects unencrypted and then switches encryption on" in html
    assert "A custom CA file is only needed when your server&#x27;s certificate was issued by your own" in html


@pytest.mark.gui
@pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
def test_the_help_button_shows_the_current_pages_help(qtbot: QtBot) -> None:
    state = WizardState(draft=Profile(name="default", provider=ProviderKind.GMAIL, auth=AuthMode.PASSWORD))
    window = MailwrightWizard(SavedAccounts(state), start=PageId.GMAIL_AUTH, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.mouseClick(window.button(QWizard.WizardButton.HelpButton), Qt.MouseButton.LeftButton)
    dialog = window.help_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.findChild(QTextBrowser, "pageHelpText")
    assert "app password" in text.toPlainText()
    assert "https://support.google.com/accounts/answer/185833" in text.toHtml()
    assert text.openExternalLinks()
    dialog.close()
