"""A client secret typed in the wizard is staged in the keyring for the check before Save; a wizard closed
without saving puts the keyring back: a new profile's staged secret is removed, a saved profile's secret is
restored to its saved value."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.identity_provider import (
    CONFIDENTIAL_CLIENT,
    TENANT,
    USER,
    App,
    IdentityProvider,
    identity_provider,
)
from tests.fixtures.xoauth2_smtp import XOAuth2Server, xoauth2_smtp_server
from tests.gui.conftest import OFFSCREEN_NOISE, WindowFactory
from tests.gui.test_provider_paths import CLIENT_SECRET, enter_app_only_registration, point_at
from tests.gui.wizard_driver import (
    cancel_and_discard,
    choose_provider,
    click_next,
    pass_check,
    register_app_myself,
    start_new_account,
    type_into,
)
from wizard.pages.credentials import restore_staged_secrets, staged_secrets
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.pages.wizard import MailwrightWizard
from wizard.services import accounts, oauth, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.secrets import SecretKind

__all__ = ["identity_provider", "xoauth2_smtp_server"]

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

SAVED_SECRET = "savedQ~" + "older-Value_" * 2 + "y" * 9


@pytest.fixture(autouse=True)
def clean_keyring(profile_name: str) -> Iterator[None]:
    oauth.forget_sessions()
    yield
    oauth.forget_sessions()
    secrets.delete_profile_secrets(profile_name)


def cancel(qtbot: QtBot, window: MailwrightWizard) -> None:
    cancel_and_discard(qtbot, window)


@pytest.mark.asyncio
async def test_cancelling_a_new_profile_removes_the_staged_secret(
        qtbot: QtBot, flow_window: MailwrightWizard, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str) -> None:
    identity_provider.register(App(CONFIDENTIAL_CLIENT, public=False, secret=CLIENT_SECRET))
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"
    window = flow_window
    start_new_account(qtbot, window, USER, profile_name)
    choose_provider(qtbot, window, ProviderKind.M365_SMTP)
    window.state.draft = replace(window.state.draft, authority=identity_provider.url)
    window.provider_page.validatePage()
    point_at(window, xoauth2_smtp_server.host, xoauth2_smtp_server.port, ca_file)
    await enter_app_only_registration(qtbot, window, ProviderKind.M365_SMTP, identity_provider)
    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)
    # staged for the token request under the profile name, though nothing is saved yet
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == CLIENT_SECRET
    assert staged_secrets(window.state).pending() == [(profile_name, SecretKind.CLIENT_SECRET)]

    cancel(qtbot, window)

    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) is None
    assert staged_secrets(window.state).pending() == []


@pytest.mark.asyncio
async def test_cancelling_an_edit_restores_the_saved_secret(
        qtbot: QtBot, open_flow_window: WindowFactory, identity_provider: IdentityProvider,
        xoauth2_smtp_server: XOAuth2Server, ca_file: str, profile_name: str) -> None:
    new_secret = CLIENT_SECRET
    identity_provider.register(App(CONFIDENTIAL_CLIENT, public=False, secret=new_secret))
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"
    accounts.save_profile(Profile(
        name=profile_name, provider=ProviderKind.M365_SMTP, from_address=USER, host=xoauth2_smtp_server.host,
        port=xoauth2_smtp_server.port, username=USER, auth=AuthMode.CLIENT_SECRET, tenant=TENANT,
        client_id=CONFIDENTIAL_CLIENT, authority=identity_provider.url, ca_file=ca_file), None, ConfigStore())
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, SAVED_SECRET)
    window = open_flow_window()
    assert window.state.editing == profile_name
    click_next(qtbot, window, PageId.SENDER)
    click_next(qtbot, window, PageId.PROVIDER)
    click_next(qtbot, window, PageId.M365_AUTH)
    register_app_myself(qtbot, window)
    click_next(qtbot, window, PageId.AZURE_REGISTRATION)
    type_into(window, "clientSecret", new_secret)
    await pass_check(qtbot, window, PageId.AZURE_REGISTRATION)  # the new secret works...
    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == new_secret

    cancel(qtbot, window)  # ...but was never saved: the profile keeps its saved secret

    assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == SAVED_SECRET


def test_save_commits_the_staged_secret_and_other_names_are_still_put_back(profile_name: str) -> None:
    """A secret staged under a name abandoned before Save is removed; the saved name's secret stays."""
    state = WizardState()
    ledger = staged_secrets(state)
    abandoned = f"{profile_name}-old"
    try:
        for name in (profile_name, abandoned):
            secrets.store_secret(name, SecretKind.CLIENT_SECRET, CLIENT_SECRET)
            ledger.remember(name, SecretKind.CLIENT_SECRET, None)
        ledger.remember(profile_name, SecretKind.CLIENT_SECRET, SAVED_SECRET)  # the first previous value counts
        ledger.commit(profile_name)  # what the summary page does after a successful save
        restore_staged_secrets(state)
        assert secrets.load_secret(profile_name, SecretKind.CLIENT_SECRET) == CLIENT_SECRET
        assert secrets.load_secret(abandoned, SecretKind.CLIENT_SECRET) is None
        assert ledger.pending() == []
    finally:
        secrets.delete_profile_secrets(abandoned)
