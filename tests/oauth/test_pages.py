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
from wizard.pages import flow
from wizard.pages.azure_registration import AzureRegistrationPage
from wizard.pages.gmail_auth import GmailAuthPage
from wizard.pages.ids import PageId
from wizard.pages.m365_auth import M365AuthPage
from wizard.pages.state import WizardState
from wizard.services.model import AuthMode, Profile, ProviderKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def m365_page(qtbot: QtBot, idp: IdentityProvider, name: str, auth: AuthMode = AuthMode.OAUTH_INTERACTIVE,
              **values: object) -> M365AuthPage:
    """The sign-in page over a wizard state for a new account pointing at the local identity provider."""
    state = WizardState()
    state.load_profile(m365_profile(idp, name, auth, **values))
    state.editing = ""
    page = M365AuthPage(state)
    qtbot.addWidget(page)
    page.initializePage()
    return page


@pytest.mark.asyncio
@pytest.mark.usefixtures("system_browser")
async def test_browser_consent_then_remove_access(qtbot: QtBot, identity_provider: IdentityProvider,
                                                  profile_name: str) -> None:
    page = m365_page(qtbot, identity_provider, profile_name)
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
    page = m365_page(qtbot, identity_provider, profile_name, AuthMode.OAUTH_DEVICE)
    assert page.auth_mode() is AuthMode.OAUTH_DEVICE and page.panel.device_button.isVisibleTo(page)

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
    page = m365_page(qtbot, identity_provider, profile_name)

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
    state = WizardState(
        draft=Profile(name="default", from_address="app@contoso.com", provider=ProviderKind.M365_SMTP,
                      auth=AuthMode.CLIENT_SECRET))
    page = AzureRegistrationPage(state)
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
    assert state.secrets.client_secret == "abC8Q~" + "k" * 34 and state.draft.tenant == "contoso.com"
    assert state.enterprise_object_id == "99999999-8888-4777-8666-555555555555"


def test_gmail_app_password_format(qtbot: QtBot) -> None:
    state = WizardState(draft=Profile(name="default", from_address="me@gmail.com", provider=ProviderKind.GMAIL))
    page = GmailAuthPage(state)
    qtbot.addWidget(page)
    page.initializePage()
    page.app_password.setText("abcd efgh ijkl")
    assert not page.isComplete() and "16 letters" in page.app_password_hint.text()
    page.app_password.setText("abcd efgh ijkl mnop")
    assert page.isComplete() and page.password() == "abcdefghijklmnop"
    assert (state.draft.auth, state.draft.username) == (AuthMode.PASSWORD, "me@gmail.com")
    assert state.secrets.password == "abcdefghijklmnop"


def test_app_only_mode_continues_on_the_registration_page(qtbot: QtBot, identity_provider: IdentityProvider) -> None:
    page = m365_page(qtbot, identity_provider, "p", client_id=CONFIDENTIAL_CLIENT)
    assert not page.isComplete()  # delegated: sign in first
    page.set_auth_mode(AuthMode.CLIENT_SECRET)
    assert page.state.draft.auth is AuthMode.CLIENT_SECRET and page.profile_for_sign_in().auth is AuthMode.CLIENT_SECRET
    assert not page.panel.isVisibleTo(page) and "client secret" in page.next_note.text()
    assert page.isComplete()  # the secret is entered, and proven by the check, on the next pages
    assert flow.next_page(PageId.M365_AUTH, page.state) == PageId.AZURE_REGISTRATION


def test_without_a_registration_the_guide_comes_next(qtbot: QtBot, identity_provider: IdentityProvider) -> None:
    page = m365_page(qtbot, identity_provider, "p")
    page.need_registration.setChecked(True)
    assert page.isComplete() and not page.panel.isVisibleTo(page)
    assert flow.next_page(PageId.M365_AUTH, page.state) == PageId.AZURE_REGISTRATION
    page.have_registration.setChecked(True)
    page.client_id.setText("not-a-guid")
    assert "Application (client) ID is a GUID" in page.registration_problem.text() and not page.isComplete()
