"""Secrets are passed, not staged: a wizard run that checks an account, signs in and sends test mails uses the
typed secrets from memory and writes nothing to the keyring (nor a token cache to the data home) until Save;
cancelled, it leaves the keyring exactly as it was. The keyring is the real gnome-keyring, read over D-Bus with
secretstorage, every collection and item with its attributes and secret."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import secretstorage
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from tests.fixtures.identity_provider import CONFIDENTIAL_CLIENT, PUBLIC_CLIENT, TENANT, USER, App, IdentityProvider
from tests.fixtures.identity_provider import identity_provider as identity_provider
from tests.fixtures.xoauth2_smtp import XOAuth2Server
from tests.fixtures.xoauth2_smtp import xoauth2_smtp_server as xoauth2_smtp_server
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter, WindowFactory, files_containing
from tests.gui.test_oauth_paths import GOOGLE_SECRET, import_client_json
from tests.gui.test_provider_paths import CLIENT_SECRET, enter_app_only_registration, point_at
from tests.gui.wizard_driver import (
    cancel_and_discard,
    choose_provider,
    click,
    click_next,
    finish_and_save,
    pass_check,
    register_app_myself,
    start_new_account,
    type_into,
)
from tests.oauth.conftest import system_browser as system_browser
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services import accounts, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.oauth import token_store
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

SAVED_SECRET = "savedQ~" + "older-Value_" * 2 + "y" * 9
Snapshot = list[tuple[str, str, tuple[tuple[str, str], ...], bytes]]


def keyring_snapshot() -> Snapshot:
    """Everything the Secret Service holds: collection, label, attributes and secret of every item.

    gnome-keyring adds its own `xdg:schema` attribute to an item some time after it was stored (when it writes the
    collection out), so that attribute is left out: it is the daemon's bookkeeping, not a change Mailwright made.
    """
    connection = secretstorage.dbus_init()
    try:
        items = [(collection.collection_path, item.get_label(),
                  tuple(sorted((key, value) for key, value in item.get_attributes().items()
                               if key != "xdg:schema")),
                  item.get_secret())
                 for collection in secretstorage.get_all_collections(connection)
                 for item in collection.get_all_items()]
    finally:
        connection.close()
    return sorted(items)


@pytest.fixture
def keyring_before(profile_name: str) -> Iterator[Snapshot]:
    """Another account's secret is in the keyring, so "untouched" compares a keyring that holds something."""
    neighbour = f"{profile_name}-neighbour"
    secrets.store_secret(neighbour, SecretKind.PASSWORD, "neighbour-password")
    yield keyring_snapshot()
    for name in (profile_name, neighbour):
        secrets.delete_profile_secrets(name)
        token_store.delete(name)


async def enter_an_app_only_account(qtbot: QtBot, window: MailwrightWizard, identity_provider: IdentityProvider,
                                    xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str) -> None:
    """A Microsoft 365 SMTP app-only account with a typed client secret, up to its registration page."""
    identity_provider.register(App(CONFIDENTIAL_CLIENT, public=False, secret=CLIENT_SECRET))
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    window.provider_page.validatePage()
    point_at(window, xoauth2_smtp_server.host, xoauth2_smtp_server.port, ca_file)
    await enter_app_only_registration(qtbot, window, ProviderKind.M365_SMTP, identity_provider)


async def check_and_send_test_mails(qtbot: QtBot, window: MailwrightWizard, from_page: PageId) -> None:
    """The check, the check page's quick test mail, then the test-mail page's."""
    await pass_check(qtbot, window, from_page)
    click(qtbot, window, "sendTestMail")
    dialog = window.check_page.send_test_dialog
    assert dialog is not None
    dialog.findChild(QLineEdit, "testTo").setText("someone@example.net")
    sent = SignalWaiter(dialog.send_finished)
    dialog.send_button.click()
    assert await sent.wait() == (True,), dialog.status.text()
    await window.wait_idle()
    dialog.close()
    click_next(qtbot, window, PageId.SENDER_SETTINGS)
    click_next(qtbot, window, PageId.DELIVERY)
    click_next(qtbot, window, PageId.DNS)
    await window.wait_idle()
    click_next(qtbot, window, PageId.TEST_MAIL)
    type_into(window, "testTo", "ops@example.net")
    sent = SignalWaiter(window.test_mail_page.send_finished)
    click(qtbot, window, "sendTestMailNow")
    assert await sent.wait() == (True,), window.test_mail_page.status.text()
    await window.wait_idle()


async def test_an_app_only_account_checked_and_tested_then_cancelled_leaves_the_keyring_untouched(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, data_home: Path, profile_name: str,
        keyring_before: Snapshot) -> None:
    window = flow_window
    await enter_an_app_only_account(qtbot, window, identity_provider, xoauth2_smtp_server, ca_file, profile_name)

    await check_and_send_test_mails(qtbot, window, PageId.AZURE_REGISTRATION)

    # the typed secret signed in three times (check, dialog, test-mail page) without ever being stored
    assert xoauth2_smtp_server.handler.authenticated_as == [USER, USER, USER]
    assert set(identity_provider.grant_types) == {"client_credentials"}
    assert keyring_snapshot() == keyring_before
    cancel_and_discard(qtbot, window)
    assert keyring_snapshot() == keyring_before
    assert files_containing(data_home, CLIENT_SECRET) == [] and not token_store.cache_path(profile_name).exists()


@pytest.mark.usefixtures("system_browser")
async def test_a_browser_sign_in_checked_and_tested_then_cancelled_leaves_no_tokens_behind(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str, keyring_before: Snapshot) -> None:
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    point_at(window, xoauth2_smtp_server.host, xoauth2_smtp_server.port, ca_file)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    type_into(window, "m365Tenant", TENANT)
    type_into(window, "m365ClientId", PUBLIC_CLIENT)
    page = window.m365_auth_page
    signed_in = SignalWaiter(page.panel.signed_in_changed)
    click(qtbot, window, "signIn")
    assert await signed_in.wait() == (True,), page.panel.status.text()
    await window.wait_idle()

    await check_and_send_test_mails(qtbot, window, PageId.M365_AUTH)

    assert xoauth2_smtp_server.handler.authenticated_as == [USER, USER, USER]
    assert identity_provider.grant_types.count("authorization_code") == 1  # one sign-in, its tokens reused
    assert keyring_snapshot() == keyring_before
    assert not token_store.cache_path(profile_name).exists()
    cancel_and_discard(qtbot, window)
    assert keyring_snapshot() == keyring_before
    assert not token_store.cache_path(profile_name).exists()


@pytest.mark.usefixtures("system_browser")
async def test_a_google_client_imported_and_signed_in_then_cancelled_leaves_nothing_behind(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider, data_home: Path,
        profile_name: str, tmp_path: Path, keyring_before: Snapshot) -> None:
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
    assert window.state.secrets.token_cache(profile_name) is not None  # the sign-in's tokens, in memory

    assert keyring_snapshot() == keyring_before
    cancel_and_discard(qtbot, window)
    assert keyring_snapshot() == keyring_before
    assert not (data_home / "google-clients").exists() and not token_store.cache_path(profile_name).exists()
    assert files_containing(data_home, GOOGLE_SECRET) == []


async def test_a_new_secret_checked_on_a_saved_account_then_cancelled_keeps_the_saved_one(
        qtbot: QtBot, open_flow_window: WindowFactory, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str, keyring_before: Snapshot) -> None:
    identity_provider.register(App(CONFIDENTIAL_CLIENT, public=False, secret=CLIENT_SECRET))
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"
    saved_profile = Profile(
        name=profile_name, provider=ProviderKind.M365_SMTP, from_address=USER, host=xoauth2_smtp_server.host,
        port=xoauth2_smtp_server.port, username=USER, auth=AuthMode.CLIENT_SECRET, tenant=TENANT,
        client_id=CONFIDENTIAL_CLIENT, authority=identity_provider.url, ca_file=ca_file)
    accounts.save_profile(saved_profile, None, ConfigStore())
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, SAVED_SECRET)
    before = keyring_snapshot()
    window = open_flow_window()
    assert window.state.editing == profile_name
    click_next(qtbot, window, PageId.SENDER)
    click_next(qtbot, window, PageId.PROVIDER)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    click_next(qtbot, window, PageId.AZURE_REGISTRATION)
    type_into(window, "clientSecret", CLIENT_SECRET)

    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)  # the new secret works (the saved one would not)

    assert keyring_snapshot() == before
    cancel_and_discard(qtbot, window)
    assert keyring_snapshot() == before
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == SAVED_SECRET


async def test_save_is_where_the_typed_secret_reaches_the_keyring(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str, keyring_before: Snapshot) -> None:
    window = flow_window
    await enter_an_app_only_account(qtbot, window, identity_provider, xoauth2_smtp_server, ca_file, profile_name)
    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)
    for page in (PageId.SENDER_SETTINGS, PageId.DELIVERY, PageId.DNS, PageId.TEST_MAIL, PageId.SUMMARY):
        click_next(qtbot, window, page)
        await window.wait_idle()
    assert keyring_snapshot() == keyring_before

    await finish_and_save(qtbot, window)

    added = {dict(attributes)["username"]: secret
             for _path, _label, attributes, secret in keyring_snapshot() if (_path, _label, attributes, secret)
             not in keyring_before}
    # the typed secret, and the key of the encrypted token cache the check's token went into
    assert sorted(added) == [f"{profile_name}/client-secret", f"{profile_name}/token-cache-key"]
    assert added[f"{profile_name}/client-secret"] == CLIENT_SECRET.encode()
    assert token_store.load_blob(profile_name) is not None
