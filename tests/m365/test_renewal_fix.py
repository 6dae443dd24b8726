"""The main window's Fix… on a failed certificate renewal renews it there and then (a task on the Qt loop, the
blocking parts in worker threads), says the outcome on the card, and records it like an automatic renewal."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fixtures.waiting import eventually
from tests.gui.conftest import OFFSCREEN_NOISE
from tests.m365.conftest import FAST, Tenant
from wizard.main_window import MainWindow
from wizard.services import m365
from wizard.services.alerts import AlertDispatcher, AlertSettings, AlertTracker
from wizard.services.app_services import Services
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.health import DnsVerdictStore, assess_profile
from wizard.services.m365 import keypair
from wizard.services.m365.record import Renewal
from wizard.services.m365.rotation import rotate_due
from wizard.services.model import Profile, ProviderKind
from wizard.services.outbox import Outbox
from wizard.widgets.profile_card import ProfileCard

pytestmark = [pytest.mark.keyring, pytest.mark.gui, pytest.mark.asyncio, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


async def _failed_renewal(tenant: Tenant, name: str, outage: str) -> m365.Registration:
    """A set-up whose automatic renewal met a Graph outage at addKey (recorded as failed)."""
    result = await m365.set_up(tenant.request(name, m365.SetupMode.GRAPH_APP))
    assert result.ok, result.report
    expires = result.registration.expires
    assert expires is not None
    tenant.directory.replication_delay = 0
    tenant.graph.fail_next(503, "serviceUnavailable", outage, path_contains="/addKey")
    [outcome] = await rotate_due(now=expires - datetime.timedelta(days=20), wait=FAST)
    assert outcome.diagnosis is not None and outage in outcome.diagnosis.explanation
    return result.registration


@contextlib.asynccontextmanager
async def main_window(qtbot: QtBot) -> AsyncIterator[MainWindow]:
    store = ConfigStore()
    outbox = Outbox()
    dispatcher = AlertDispatcher(outbox, lambda: replace(store.load(), alerts=AlertSettings()), tracker=AlertTracker())
    main = MainWindow(Services(store.home, store, outbox), BackgroundDelivery(outbox, store.load), dispatcher)
    qtbot.addWidget(main)
    main.show()
    try:
        yield main
    finally:
        await main.shutdown()
        main.close()


async def _click_fix(window: MainWindow, name: str, qtbot: QtBot,
                     meanwhile: Callable[[], Awaitable[None]] | None = None) -> None:
    await window.refresh()
    card = window.cards[name]
    assert card.fix_button.isVisible() and card.fix_button.accessibleName() == "Renew the certificate now"
    window.renewal_wait = FAST
    before = m365.registration(name)
    assert before is not None

    qtbot.mouseClick(card.fix_button, Qt.MouseButton.LeftButton)

    if meanwhile is not None:
        await meanwhile()
    await eventually(lambda: _renewal_of(name) != before.renewal, "the renewal's outcome to be recorded")
    await window.wait_idle()
    await window.refresh()


def _renewal_of(name: str) -> Renewal | None:
    registration = m365.registration(name)
    return registration.renewal if registration is not None else None


async def test_fix_renews_a_failed_certificate_and_the_card_turns_ok(tenant: Tenant, profile_name: str,
                                                                     qtbot: QtBot) -> None:
    before = await _failed_renewal(tenant, profile_name, "first outage")
    async with main_window(qtbot) as window:
        await _fix_renews(tenant, profile_name, before, window, qtbot)


async def _fix_renews(tenant: Tenant, profile_name: str, before: m365.Registration, window: MainWindow,
                      qtbot: QtBot) -> None:
    await window.refresh()
    card = window.cards[profile_name]
    assert card.state_badge.text() == "● Needs attention" and "first outage" in card.reasons.text()
    tenant.graph.hold = True  # the renewal's addKey waits in the tenant until the test releases it

    async def edit_the_account_meanwhile() -> None:
        """The card the renewal started from is replaced while it runs (an edit here; the renewal's own switch
        to the new certificate does the same): the renewal goes on, and nothing it saves undoes the edit."""
        await eventually(lambda: tenant.graph.in_flight == 1, "the renewal's addKey to reach the tenant")
        profile = window.store.load().profile(profile_name)
        await asyncio.to_thread(window.store.save_profile, replace(profile, display_name="Monthly reports"))
        await window.refresh()
        assert window.cards[profile_name] is not card
        tenant.graph.release()

    await _click_fix(window, profile_name, qtbot, edit_the_account_meanwhile)

    card = window.cards[profile_name]  # a new card: the renewal switched the profile to the new certificate
    after = m365.registration(profile_name)
    assert after is not None and after.renewal is not None and after.renewal.ok
    assert after.thumbprint != before.thumbprint and keypair.load(profile_name).thumbprint == after.thumbprint
    assert [k["keyId"] for k in tenant.directory.only_application()["keyCredentials"]] == [after.key_id]
    assert card.activity.text() == (f"Certificate renewed: {after.thumbprint}, valid until "
                                    f"{after.not_after[:10]}.")
    assert card.state_badge.text() == "● OK" and card.reasons.isHidden() and card.fix_button.isHidden()
    assert f"renewed {datetime.date.today().isoformat()}" in card.extra.text()
    switched = window.store.load().profile(profile_name)
    assert (switched.certificate_thumbprint, switched.display_name) == (after.thumbprint, "Monthly reports")


async def test_fix_that_fails_again_says_why_and_records_it(tenant: Tenant, profile_name: str, qtbot: QtBot) -> None:
    before = await _failed_renewal(tenant, profile_name, "first outage")
    first = m365.registration(profile_name)
    assert first is not None and first.renewal is not None
    tenant.graph.fail_next(503, "serviceUnavailable", "second outage", path_contains="/addKey")
    async with main_window(qtbot) as window:
        await _click_fix(window, profile_name, qtbot)
        _fails_again(window, profile_name, before, first)


def _fails_again(window: MainWindow, profile_name: str, before: m365.Registration, first: m365.Registration) -> None:
    assert first.renewal is not None
    card = window.cards[profile_name]
    assert card.activity.text().startswith("Renewal failed again: Adding the new certificate: 503")
    assert "second outage" in card.activity.text() and not card.activity.isHidden()
    recorded = m365.registration(profile_name)
    assert recorded is not None and recorded.renewal is not None and not recorded.renewal.ok
    assert recorded.renewal.at != first.renewal.at and "second outage" in recorded.renewal.explanation
    assert recorded.thumbprint == before.thumbprint == keypair.load(profile_name).thumbprint
    assert card.state_badge.text() == "● Needs attention" and "second outage" in card.reasons.text()
    assert card.fix_button.isVisible() and card.fix_button.isEnabled()


@pytest.mark.parametrize(("days_left", "renews"), [(25, True), (90, False)])
async def test_fix_renews_a_certificate_that_is_due_and_is_not_offered_otherwise(qtbot: QtBot, tmp_path: Path,
                                                                                 days_left: int, renews: bool) -> None:
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    registration = m365.Registration("main", "graph-app", "t", "Mailwright main", "obj", "app", "sp",
                                     "a@example.com", thumbprint="AB",
                                     not_after=(now + datetime.timedelta(days=days_left)).isoformat())
    profile = Profile(name="main", provider=ProviderKind.GRAPH, from_address="a@example.com")
    card = ProfileCard(profile, DnsVerdictStore(tmp_path / "dns.json"))
    qtbot.addWidget(card)
    card.show()

    card.show_health(assess_profile(profile, None, now=now.timestamp(), m365=registration), "", now.timestamp())

    assert card.renews_certificate is renews and card.fix_button.isVisible() is renews
    if renews:
        assert card.fix_button.accessibleName() == "Renew the certificate now"
