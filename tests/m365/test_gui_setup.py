""""Set it up for me" in the wizard, end to end: the admin's browser sign-in ($BROWSER), the directory calls, the
replication wait, the certificate, the saved profile and a passed check, against the local tenant."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.gui.conftest import (
    OFFSCREEN_NOISE,
    SignalWaiter,
    flow_window,
    open_flow_window,
    sender_dns,
)
from tests.gui.wizard_driver import choose_provider, click, click_next, pass_check, start_new_account
from tests.m365.conftest import FAST, SENDER, Tenant
from wizard.pages.ids import PageId
from wizard.pages.m365_setup import DONE, FAILED
from wizard.pages.wizard import MailwrightWizard
from wizard.services import m365
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, ProviderKind

__all__ = ["flow_window", "open_flow_window", "sender_dns"]

pytestmark = [pytest.mark.gui, pytest.mark.keyring, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


async def _to_setup_page(qtbot: QtBot, window: MailwrightWizard, tenant: Tenant, profile_name: str,
                         sender: str = SENDER) -> None:
    start_new_account(qtbot, window, sender, profile_name)
    choose_provider(qtbot, window, ProviderKind.GRAPH)
    state = window.state
    state.draft = replace(state.draft, authority=tenant.idp.url, graph_endpoint=tenant.graph.url,
                          ca_file=tenant.ca_file)
    click_next(qtbot, window, PageId.M365_AUTH)
    page = window.m365_auth_page
    assert page.setup_for_me.isChecked() and page.setup_mode_buttons["graph-app"].isChecked()
    assert not page.manual_box.isVisibleTo(window)
    click_next(qtbot, window, PageId.M365_SETUP)
    window.m365_setup_page.wait_policy = FAST


def _keep_screenshot(window: MailwrightWizard, name: str) -> None:
    """MAILWRIGHT_SHOTS=DIR keeps what the page looked like (for a person to look at; nothing is asserted)."""
    folder = os.environ.get("MAILWRIGHT_SHOTS")
    if folder:
        window.grab().save(str(Path(folder) / f"{name}.png"), "PNG")


async def _run(qtbot: QtBot, window: MailwrightWizard) -> None:
    page = window.m365_setup_page
    started = SignalWaiter(page.tasks.busy_changed)
    click(qtbot, window, "m365SetupStart")
    assert await started.wait() == (True,)
    await page.tasks.wait()
    await window.wait_idle()


async def test_set_it_up_for_me_ends_with_a_saved_profile_and_a_passed_check(
        qtbot: QtBot, flow_window: MailwrightWizard, tenant: Tenant, profile_name: str, data_home: Path) -> None:
    window = flow_window
    await _to_setup_page(qtbot, window, tenant, profile_name)
    page = window.m365_setup_page
    assert not page.isComplete()
    assert [label.text()[0] for label in page.step_labels.values()] == ["\u2610"] * 8

    await _run(qtbot, window)

    assert page.isComplete(), (page.status.text(), page.diagnosis.explanation.text())
    assert all(label.text().startswith(DONE) for label in page.step_labels.values()), \
        [label.text() for label in page.step_labels.values()]
    assert "check passed" in page.status.text()
    _keep_screenshot(window, "m365_setup-done")
    application = tenant.directory.only_application()
    assert application["appId"] in page.created.text() and "Mail.Send" in page.created.text()
    await pass_check(qtbot, window, PageId.M365_SETUP)
    assert window.check_page.findChild(QLabel, "step-token").text().startswith("passed")
    profile = ConfigStore().load().profile(profile_name)
    assert (profile.auth, profile.client_id) == (AuthMode.CLIENT_CERTIFICATE, application["appId"])
    assert m365.registration(profile_name) is not None


async def test_a_failed_step_is_marked_and_explained_with_the_manual_way_out(
        qtbot: QtBot, flow_window: MailwrightWizard, tenant: Tenant, profile_name: str) -> None:
    tenant.directory.admin_roles = set()
    window = flow_window
    await _to_setup_page(qtbot, window, tenant, profile_name)

    await _run(qtbot, window)

    page = window.m365_setup_page
    assert not page.isComplete()
    assert page.step_labels["application"].text().startswith(FAILED)
    assert page.step_labels["tenant"].text().startswith(DONE)
    assert page.diagnosis.isVisibleTo(window)
    assert "Application Administrator" in page.diagnosis.explanation.text()
    assert "register the app myself" in page.status.text()
    _keep_screenshot(window, "m365_setup-failed")
