"""The OAuth wizard pages against the local identity provider: grant, device code, cancel, remove access."""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.fixtures.identity_provider import CONFIDENTIAL_CLIENT, USER, IdentityProvider
from tests.gui.conftest import OFFSCREEN_NOISE
from tests.oauth.conftest import m365_profile
from wizard.pages.azure_registration import AzureRegistrationPage
from wizard.pages.gmail_auth import GmailAuthPage
from wizard.pages.m365_auth import M365AuthPage
from wizard.services.config import AuthMode, Profile

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


@pytest.mark.asyncio
@pytest.mark.usefixtures("system_browser")
async def test_browser_consent_then_remove_access(qtbot: QtBot, identity_provider: IdentityProvider,
                                                  profile_name: str) -> None:
    page = M365AuthPage(lambda: m365_profile(identity_provider, profile_name))
    qtbot.addWidget(page)
    assert not page.isComplete()

    await page.panel.tasks.run(page.panel.sign_in(device=False))

    assert f"Access granted for {USER}" in page.panel.status.text()
    assert page.isComplete() and page.panel.remove_button.isEnabled()
    await page.panel.tasks.run(page.panel.remove_access())
    assert not page.isComplete()
    assert "Enterprise applications" in page.panel.status.text()


@pytest.mark.asyncio
async def test_device_code_is_shown_large_with_copy(qtbot: QtBot, identity_provider: IdentityProvider,
                                                    profile_name: str) -> None:
    identity_provider.auto_approve_devices_as = USER
    page = M365AuthPage(lambda: m365_profile(identity_provider, profile_name, AuthMode.OAUTH_DEVICE))
    qtbot.addWidget(page)
    page.set_auth_mode(AuthMode.OAUTH_DEVICE)

    await page.panel.tasks.run(page.panel.sign_in(device=True))

    assert len(page.panel.device_code.text()) == 8 and page.panel.device_code.font().pointSize() >= 20
    page.panel.copy_code.click()
    assert QGuiApplication.clipboard().text() == page.panel.device_code.text()
    assert page.isComplete()


@pytest.mark.asyncio
async def test_cancel_stops_waiting_for_the_browser(qtbot: QtBot, identity_provider: IdentityProvider,
                                                    profile_name: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened = asyncio.Event()

    async def browser_started(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.set()
        writer.close()

    signal = await asyncio.start_server(browser_started, "127.0.0.1", 0)
    port = signal.sockets[0].getsockname()[1]
    script = tmp_path / "idle-browser"  # a browser where nobody ever signs in
    script.write_text(f"#!{sys.executable}\nimport socket\nsocket.create_connection(('127.0.0.1', {port})).close()\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    page = M365AuthPage(lambda: m365_profile(identity_provider, profile_name))
    qtbot.addWidget(page)

    task = asyncio.ensure_future(page.panel.tasks.run(page.panel.sign_in(device=False)))
    await opened.wait()
    signal.close()
    await signal.wait_closed()
    assert "Waiting for you to sign in in your browser" in page.panel.status.text()
    assert page.panel.cancel_button.isVisibleTo(page)
    page.panel.cancel_button.click()
    await asyncio.wait([task])

    assert page.panel.status.text() == "Sign-in cancelled."
    assert not page.isComplete()


def test_registration_page_catches_a_pasted_secret_id(qtbot: QtBot) -> None:
    page = AzureRegistrationPage(lambda: Profile(name="p", from_address="app@contoso.com"), app_only=lambda: True)
    qtbot.addWidget(page)
    page.initializePage()
    page.tenant.setText("contoso.com")
    page.client_id.setText("1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d")
    page.object_id.setText("99999999-8888-4777-8666-555555555555")
    page.secret.setText("0f9e8d7c-6b5a-4948-8372-615e4d3c2b1a")

    assert "Secret ID" in page.validation.text() and not page.isComplete()
    page.secret.setText("abC8Q~" + "k" * 34)
    assert page.isComplete()
    assert "New-ServicePrincipal -AppId 1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d -ObjectId 99999999" in \
        page.powershell.toPlainText()
    assert "Add-MailboxPermission -Identity 'app@contoso.com'" in page.powershell.toPlainText()
    assert page.consent_url.text().startswith("https://login.microsoftonline.com/contoso.com/v2.0/adminconsent")


def test_gmail_app_password_format(qtbot: QtBot) -> None:
    page = GmailAuthPage(lambda: Profile(name="p", from_address="me@gmail.com"))
    qtbot.addWidget(page)
    page.app_password.setText("abcd efgh ijkl")
    assert not page.isComplete() and "16 letters" in page.app_password_hint.text()
    page.app_password.setText("abcd efgh ijkl mnop")
    assert page.isComplete() and page.password() == "abcdefghijklmnop"


def test_app_only_mode_relabels_the_button(qtbot: QtBot, identity_provider: IdentityProvider) -> None:
    page = M365AuthPage(lambda: m365_profile(identity_provider, "p", client_id=CONFIDENTIAL_CLIENT))
    qtbot.addWidget(page)
    page.set_auth_mode(AuthMode.CLIENT_SECRET)
    assert page.panel.sign_in_button.text() == "Test the app credentials"
    assert page.profile_for_sign_in().auth is AuthMode.CLIENT_SECRET
