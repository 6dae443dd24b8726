"""The test-mail page sends through the unsaved account to a real TLS+AUTH server, explains failures, can be skipped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QWizard,
    QWizardPage,
)
from pytestqt.qtbot import QtBot

from tests.fixtures.identity_provider import PUBLIC_CLIENT, TENANT, USER, IdentityProvider, identity_provider
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SinkHandler, SmtpServerFactory
from tests.fixtures.xoauth2_smtp import XOAuth2Server, xoauth2_smtp_server
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, SilentServer
from tests.oauth.conftest import system_browser
from wizard.pages.state import WizardState
from wizard.pages.test_mail import TestMailPage
from wizard.services import oauth, secrets
from wizard.services.model import AuthMode, Profile, ProviderKind, Security
from wizard.services.secret_source import DraftSecrets
from wizard.services.secrets import SecretKind

__all__ = ["identity_provider", "system_browser", "xoauth2_smtp_server"]  # fixtures used by the OAuth test

pytestmark = [pytest.mark.gui, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def account(host: str, port: int, password: str = GOOD_PASSWORD, ca_file: str = "", **changes: Any) -> WizardState:
    draft = Profile(name="default", from_address=GOOD_USER, display_name="Example App", host=host, port=port,
                    security=Security.STARTTLS, username=GOOD_USER, ca_file=ca_file)
    return WizardState(draft=replace(draft, **changes), secrets=DraftSecrets(password=password))


class Opened:
    def __init__(self, qtbot: QtBot, state: WizardState) -> None:
        self.page = TestMailPage(state)
        self.window = QWizard()
        self.window.addPage(self.page)
        self.window.addPage(QWizardPage())
        qtbot.addWidget(self.window)
        self.window.show()
        self.qtbot = qtbot

    async def send(self) -> tuple[bool, ...]:
        sent = SignalWaiter(self.page.send_finished)
        self.qtbot.mouseClick(self.page.findChild(QPushButton, "sendTestMailNow"), Qt.MouseButton.LeftButton)
        result = await sent.wait()
        await self.page.tasks.wait()
        return result

    def next_enabled(self) -> bool:
        return self.window.button(QWizard.WizardButton.NextButton).isEnabled()

    def shown_diagnosis(self) -> str:
        return " ".join(label.text() for label in self.page.diagnosis.findChildren(QLabel) if label.isVisible())


async def test_the_page_is_prefilled_and_can_be_skipped(qtbot: QtBot) -> None:
    opened = Opened(qtbot, account("127.0.0.1", 25))
    page = opened.page
    assert page.findChild(QLineEdit, "testTo").text() == GOOD_USER
    assert page.findChild(QLabel, "testFrom").text() == f"Example App <{GOOD_USER}>"
    assert page.findChild(QLineEdit, "testSubject").text() == "Mailwright test message"
    assert opened.next_enabled()
    opened.window.next()
    assert opened.window.currentId() == 1


async def test_accepted_mail_arrives_with_html_and_shows_the_queue_id(qtbot: QtBot,
                                                                      smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    opened = Opened(qtbot, account(server.host, server.port, ca_file=server.ca_file))
    assert await opened.send() == (True,)
    [received] = server.messages
    assert received.authenticated_as == GOOD_USER and received.rcpt_tos == [GOOD_USER]
    message = message_from_bytes(received.data, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Mailwright test message"
    status = opened.page.findChild(QLabel, "testMailStatus").text()
    assert status.startswith("The server accepted the message: ")
    assert "Queue id: Q00001" in status
    assert opened.page.result is not None and opened.page.result.accepted == [GOOD_USER]
    assert not opened.page.diagnosis.isVisible()
    assert opened.next_enabled()


async def test_wrong_password_shows_the_diagnosis_and_never_the_password(qtbot: QtBot,
                                                                        smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    opened = Opened(qtbot, account(server.host, server.port, "Wr0ng-pa55", server.ca_file))
    assert await opened.send() == (False,)
    assert opened.page.findChild(QLabel, "testMailStatus").text() == "The message was not sent."
    assert opened.page.findChild(QLabel, "diagnosisTitle").text() == "The server rejected the user name or password"
    assert "535" in opened.shown_diagnosis()
    assert all("Wr0ng-pa55" not in label.text() for label in opened.page.findChildren(QLabel))
    assert server.messages == []
    assert opened.next_enabled()  # a failed test mail does not trap the user on the page


async def test_refused_message_shows_the_servers_reply(qtbot: QtBot, smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", handler=SinkHandler(data_replies=["554 5.7.1 Message rejected: spam score 9.7"]))
    opened = Opened(qtbot, account(server.host, server.port, ca_file=server.ca_file))
    assert await opened.send() == (False,)
    assert "spam score 9.7" in opened.shown_diagnosis()


async def test_forced_postmaster_sends_as_the_postmaster_with_the_author_in_reply_to(
        qtbot: QtBot, smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    state = account(server.host, server.port, ca_file=server.ca_file, postmaster="postmaster@example.com",
                    force_postmaster_sender=True)
    opened = Opened(qtbot, state)
    assert await opened.send() == (True,)
    [received] = server.messages
    message = message_from_bytes(received.data, policy=default)
    assert received.mail_from == "postmaster@example.com"
    assert message["From"] == "Example App <postmaster@example.com>"
    assert message["Reply-To"] == f"Example App <{GOOD_USER}>"


@pytest.fixture
def saved_password(profile_name: str) -> Iterator[str]:
    secrets.store_secret(profile_name, SecretKind.PASSWORD, GOOD_PASSWORD)
    yield profile_name
    secrets.delete_profile_secrets(profile_name)


async def test_editing_a_saved_account_uses_the_password_in_the_keyring(
        qtbot: QtBot, smtp_server: SmtpServerFactory, saved_password: str) -> None:
    server = smtp_server("starttls")
    state = account(server.host, server.port, password="", ca_file=server.ca_file, name=saved_password)
    state.load_profile(state.draft)  # editing the saved profile, its password left empty
    opened = Opened(qtbot, state)
    assert await opened.send() == (True,)
    assert server.messages[0].authenticated_as == GOOD_USER


async def test_cancel_stops_sending_to_a_server_that_never_answers(qtbot: QtBot, silent_server: SilentServer) -> None:
    opened = Opened(qtbot, account("127.0.0.1", silent_server.port))
    page = opened.page
    sent = SignalWaiter(page.send_finished)
    qtbot.mouseClick(page.findChild(QPushButton, "sendTestMailNow"), Qt.MouseButton.LeftButton)
    await asyncio.wait_for(silent_server.connected.wait(), 10)
    cancel = page.findChild(QPushButton, "cancelTestMail")
    assert cancel.isEnabled() and page.findChild(QProgressBar, "testMailProgress").isVisible()
    assert not opened.next_enabled()  # Cancel first, then move on
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert await sent.wait(10) == (False,)
    await asyncio.wait_for(page.tasks.wait(), 10)
    assert page.findChild(QLabel, "testMailStatus").text().startswith("Sending cancelled.")
    assert not cancel.isEnabled() and page.findChild(QPushButton, "sendTestMailNow").isEnabled()
    assert opened.next_enabled()


async def test_bad_recipient_disables_send(qtbot: QtBot) -> None:
    opened = Opened(qtbot, account("127.0.0.1", 25))
    opened.page.findChild(QLineEdit, "testTo").setText("someone@")
    assert "not a valid e-mail address" in opened.page.findChild(QLabel, "testValidation").text()
    assert not opened.page.findChild(QPushButton, "sendTestMailNow").isEnabled()
    assert opened.next_enabled()


async def test_every_input_and_button_has_a_name_and_an_accessible_name(qtbot: QtBot) -> None:
    opened = Opened(qtbot, account("127.0.0.1", 25))
    widgets = opened.page.findChildren(QLineEdit) + opened.page.findChildren(QPushButton) + \
        opened.page.findChildren(QPlainTextEdit) + opened.page.findChildren(QCheckBox)
    assert len(widgets) >= 9
    for widget in widgets:
        assert widget.objectName() and widget.accessibleName(), widget


@pytest.mark.keyring
@pytest.mark.usefixtures("system_browser")
async def test_microsoft_365_oauth_account_sends_with_its_signed_in_token(
        qtbot: QtBot, identity_provider: IdentityProvider, xoauth2_smtp_server: XOAuth2Server, ca_file: str,
        profile_name: str) -> None:
    state = WizardState(
        draft=Profile(name=profile_name, provider=ProviderKind.M365_SMTP, auth=AuthMode.OAUTH_INTERACTIVE,
                      from_address=USER, username=USER, host=xoauth2_smtp_server.host, port=xoauth2_smtp_server.port,
                      tenant=TENANT, client_id=PUBLIC_CLIENT, authority=identity_provider.url, ca_file=ca_file))
    await oauth.login(state.profile(), secrets=state.secrets)  # what the sign-in page did before: in memory
    opened = Opened(qtbot, state)
    assert await opened.send() == (True,), opened.shown_diagnosis()
    handler = xoauth2_smtp_server.handler
    assert handler.authenticated_as == [USER]
    [received] = handler.messages
    assert received.rcpt_tos == [USER]
