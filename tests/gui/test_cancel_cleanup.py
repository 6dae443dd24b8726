"""Cancelling the wizard of a new account forgets what its Google sign-in left: the imported client file,
the client secret in the keyring, and the token cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.identity_provider import PUBLIC_CLIENT, TENANT, USER, IdentityProvider, identity_provider  # noqa: F401
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from tests.gui.test_oauth_paths import GOOGLE_SECRET, import_client_json
from tests.gui.wizard_driver import (
    cancel_and_discard,
    choose_provider,
    click,
    click_next,
    register_app_myself,
    start_new_account,
    type_into,
)
from tests.oauth.conftest import system_browser  # noqa: F401
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services import secrets
from wizard.services.model import ProviderKind
from wizard.services.oauth import google, token_store
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE),
              pytest.mark.usefixtures("system_browser")]


async def test_cancelling_a_new_gmail_account_forgets_its_client_secret_and_tokens(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,  # noqa: F811
        data_home: Path, profile_name: str, tmp_path: Path) -> None:
    client_json = tmp_path / "client_secret_desktop.json"
    client_json.write_text(identity_provider.google_client_json())
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.GMAIL)
    click_next(qtbot, window, PageId.GMAIL_AUTH)
    page = window.gmail_auth_page
    click(qtbot, window, "gmailOAuthMode")
    await import_client_json(qtbot, window, client_json)
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()
    client_file = data_home / "google-clients" / f"{profile_name}.json"
    assert client_file.exists()
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == GOOGLE_SECRET
    assert token_store.load_blob(profile_name) is not None

    cancel_and_discard(qtbot, window)

    assert not client_file.exists()
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) is None
    assert token_store.load_blob(profile_name) is None
    assert not google.delete_client(profile_name)


async def test_cancelling_a_new_microsoft_account_after_browser_sign_in_forgets_its_tokens(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,  # noqa: F811
        profile_name: str) -> None:
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    page = window.m365_auth_page
    type_into(window, "m365Tenant", TENANT)
    type_into(window, "m365ClientId", PUBLIC_CLIENT)
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()
    assert token_store.load_blob(profile_name) is not None

    cancel_and_discard(qtbot, window)

    assert token_store.load_blob(profile_name) is None
    assert secrets.load_secret(profile_name, SecretKind.TOKEN_CACHE_KEY) is None
