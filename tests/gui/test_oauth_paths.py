"""The two delegated-OAuth provider paths through the wizard, end to end against local servers: Gmail with the
admin's imported OAuth client JSON, and Microsoft Graph with browser sign-in. The system browser is the
BROWSER script from tests/oauth/conftest.py, which follows the local identity provider's authorize redirect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QLabel
from pytestqt.qtbot import QtBot

from tests.fixtures.graph_endpoint import GraphEndpoint, graph_endpoint
from tests.fixtures.identity_provider import PUBLIC_CLIENT, TENANT, USER, IdentityProvider, identity_provider
from tests.fixtures.xoauth2_smtp import XOAuth2Server, xoauth2_smtp_server
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, files_containing
from tests.gui.test_provider_paths import point_at, saved_config
from tests.gui.wizard_driver import (
    choose_provider,
    click,
    click_next,
    pass_check,
    register_app_myself,
    settings_dns_test_mail_and_save,
    start_new_account,
    type_into,
)
from tests.oauth.conftest import system_browser
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services import oauth, secrets
from wizard.services.model import AuthMode, ProviderKind
from wizard.services.oauth import google, token_store
from wizard.services.secrets import SecretKind

__all__ = ["graph_endpoint", "identity_provider", "system_browser", "xoauth2_smtp_server"]

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE),
              pytest.mark.usefixtures("system_browser")]

GOOGLE_SECRET = "google-secret"  # what the local identity provider expects of its Google client


@pytest.fixture(autouse=True)
def clean_keyring_and_tokens(profile_name: str) -> Iterator[None]:
    yield
    oauth.forget_profile(profile_name)
    secrets.delete_profile_secrets(profile_name)


async def import_client_json(qtbot: QtBot, window: MailwrightWizard, path: Path) -> None:
    """Click Import, pick the file in the file dialog, wait for the import."""
    page = window.gmail_auth_page
    click(qtbot, window, "importClientJson")
    dialog = page.findChild(QFileDialog, "clientJsonDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    started = SignalWaiter(page.tasks.busy_changed)
    dialog.accept()
    assert await started.wait() == (True,)  # the import runs as a task: wait for it to start, then to end
    await page.tasks.wait()
    assert page.findChild(QLabel, "clientJsonStatus").text() == \
        f"Imported OAuth client {google.load_client(page.profile_for_sign_in(), window.state.secrets).client_id}. " \
        "Now sign in."


async def test_gmail_with_the_admins_oauth_client(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, data_home: Path, profile_name: str,
        tmp_path: Path) -> None:
    server = xoauth2_smtp_server
    server.handler.audience = "https://mail.google.com"
    client_json = tmp_path / "client_secret_desktop.json"
    client_json.write_text(identity_provider.google_client_json())
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.GMAIL)
    click_next(qtbot, window, PageId.GMAIL_AUTH)
    point_at(window, server.host, server.port, ca_file)
    page = window.gmail_auth_page
    click(qtbot, window, "gmailOAuthMode")
    assert page.panel.isVisibleTo(window) and not page.app_password.isVisibleTo(window)
    assert not page.isComplete()
    await import_client_json(qtbot, window, client_json)
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()
    status = page.panel.status.text()
    assert f"Access granted for {USER}" in status and "7 days" in status  # the Testing-status warning
    request = identity_provider.authorize_requests[-1]
    assert request["code_challenge_method"] == "S256" and "https://mail.google.com/" in request["scope"].split()

    await pass_check(qtbot, window, PageId.GMAIL_AUTH)
    assert window.check_page.findChild(QLabel, "step-token").text().startswith("passed")
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    assert server.handler.authenticated_as == [USER, USER]  # the check, then the test mail
    assert identity_provider.grant_types[0] == "authorization_code"
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "gmail" and profile["auth"] == "oauth-interactive"
    assert GOOGLE_SECRET not in text and files_containing(data_home, GOOGLE_SECRET) == []
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == GOOGLE_SECRET
    assert token_store.load_blob(profile_name) is not None


async def test_microsoft_graph_with_browser_sign_in(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        graph_endpoint: GraphEndpoint, ca_file: str, data_home: Path, profile_name: str) -> None:
    graph_endpoint.accept_audience = "https://graph.microsoft.com"
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.GRAPH)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url, graph_endpoint=graph_endpoint.url)
    window.state.draft = replace(window.state.draft, ca_file=ca_file)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    page = window.m365_auth_page
    assert page.title().startswith("Microsoft Graph")
    assert page.auth_mode() is AuthMode.OAUTH_INTERACTIVE
    type_into(window, "m365Tenant", TENANT)
    type_into(window, "m365ClientId", PUBLIC_CLIENT)
    assert not page.isComplete()
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()
    assert f"Access granted for {USER}" in page.panel.status.text()

    await pass_check(qtbot, window, PageId.M365_AUTH)  # delegated: no registration or permissions page
    for step in ("token", "mailbox", "permissions"):
        assert window.check_page.findChild(QLabel, f"step-{step}").text().startswith("passed"), step
    await settings_dns_test_mail_and_save(qtbot, window, to="ops@example.net")

    [mail] = graph_endpoint.received
    assert mail.route == "mime"
    assert identity_provider.grant_types[0] == "authorization_code"
    request = identity_provider.authorize_requests[-1]
    assert "https://graph.microsoft.com/Mail.Send" in request["scope"].split()
    text, config = saved_config(data_home)
    profile = config["profiles"][profile_name]  # type: ignore[index]
    assert profile["provider"] == "graph" and profile["auth"] == "oauth-interactive"
    assert profile["client_id"] == PUBLIC_CLIENT and profile["graph_endpoint"] == graph_endpoint.url
    assert token_store.load_blob(profile_name) is not None
    assert "refresh_token" not in text and "rt-" not in text
