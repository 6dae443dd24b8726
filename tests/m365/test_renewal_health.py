"""Renewal outcomes reach the main window and the alerts: recorded with the profile, assessed by services.health."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from tests.m365.conftest import FAST, Tenant
from tests.services.test_alerts import WebhookReceiver, webhook
from wizard.main_window import MainWindow
from wizard.services import m365
from wizard.services.alerts import AlertDispatcher, AlertSettings, AlertTracker
from wizard.services.app_services import Services
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.health import HealthState, Issue, assess_profile
from wizard.services.m365.record import Renewal
from wizard.services.m365.rotation import rotate_due
from wizard.services.model import Profile
from wizard.services.outbox import Outbox

__all__ = ["webhook"]
pytestmark = [pytest.mark.keyring]


async def _set_up(tenant: Tenant, name: str, **values: object) -> m365.Registration:
    result = await m365.set_up(tenant.request(name, m365.SetupMode.GRAPH_APP, **values))
    assert result.ok, result.report
    return result.registration


@pytest.mark.gui
@pytest.mark.asyncio
@pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)
async def test_a_failed_renewal_shows_on_the_card_and_raises_an_alert(tenant: Tenant, profile_name: str,
                                                                      qtbot: QtBot, webhook: WebhookReceiver) -> None:
    registration = await _set_up(tenant, profile_name)
    expires = registration.expires
    assert expires is not None
    # Someone deleted the app in the Entra admin center: the app still signs in (its key is known to the identity
    # provider) but the directory answers addKey with 404.
    del tenant.directory.applications[registration.application_id]

    [outcome] = await rotate_due(now=expires - datetime.timedelta(days=20), wait=FAST)

    assert outcome.diagnosis is not None and outcome.diagnosis.code == "rotation_failed"
    assert "Request_ResourceNotFound" in outcome.diagnosis.explanation
    recorded = m365.registration(profile_name)
    assert recorded is not None and recorded.renewal is not None and not recorded.renewal.ok
    assert recorded.renewal.code == "rotation_failed" and "Request_ResourceNotFound" in recorded.renewal.explanation
    store = ConfigStore()
    outbox = Outbox()
    settings = AlertSettings(webhook_url=webhook.url)
    dispatcher = AlertDispatcher(outbox, lambda: replace(store.load(), alerts=settings), tracker=AlertTracker())
    window = MainWindow(Services(store.home, store, outbox), BackgroundDelivery(outbox, store.load), dispatcher)
    qtbot.addWidget(window)
    try:
        window.show()
        await window.refresh()
        card = window.cards[profile_name]
        assert card.state_badge.text() == "● Needs attention"
        assert not card.reasons.isHidden()
        assert "Certificate renewal failed on" in card.reasons.text()
        assert "The certificate could not be renewed" in card.reasons.text()
        assert "Request_ResourceNotFound" in card.reasons.text()
        assert f"Certificate expires {expires.date().isoformat()}" in card.extra.text()
        [health] = [h for h in window.healths if h.name == profile_name]
        assert Issue.CERTIFICATE_RENEWAL_FAILED in health.issues and health.diagnosis_code == "rotation_failed"
        [body] = webhook.bodies
        assert body["profile"] == profile_name and body["issues"] == ["certificate_renewal_failed"]
        assert "The certificate could not be renewed" in json.dumps(body["reasons"])
        await window.refresh()
        assert len(webhook.bodies) == 1  # said once, not on every refresh
    finally:
        await window.shutdown()
        window.close()


@pytest.mark.asyncio
async def test_a_successful_renewal_clears_the_failure_and_is_shown(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    expires = registration.expires
    assert expires is not None
    m365.record.save(registration.with_renewal(Renewal("2026-01-01T00:00:00+00:00", False, "rotation_failed",
                                                       "The certificate could not be renewed", "x", "y")))
    tenant.directory.replication_delay = 0

    [outcome] = await rotate_due(now=expires - datetime.timedelta(days=20), wait=FAST)

    assert outcome.ok
    renewed = m365.registration(profile_name)
    assert renewed is not None and renewed.renewal is not None and renewed.renewal.ok
    health = assess_profile(ConfigStore().load().profile(profile_name), None, now=datetime.datetime.now().timestamp(),
                            m365=renewed)
    assert health.state is HealthState.OK and health.certificate_renewed is not None


def _registration(not_after: datetime.datetime, renewal: Renewal | None = None) -> m365.Registration:
    return m365.Registration("main", "graph-app", "t", "Mailwright main", "obj", "app", "sp", "a@example.com",
                             thumbprint="AB", not_after=not_after.isoformat(), renewal=renewal)


def test_a_certificate_close_to_expiry_without_renewal_is_a_warning_and_an_expired_one_fails() -> None:
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    profile = Profile(name="main")
    far = assess_profile(profile, None, now=now.timestamp(), m365=_registration(now + datetime.timedelta(days=90)))
    assert far.state is HealthState.OK and far.certificate_expires == datetime.date(2026, 8, 30)
    soon = assess_profile(profile, None, now=now.timestamp(), m365=_registration(now + datetime.timedelta(days=25)))
    assert (soon.state, soon.issues) == (HealthState.WARNING, (Issue.CERTIFICATE_EXPIRING,))
    assert "expires in 25 days (2026-06-26) and has not been renewed yet" in soon.reasons[0]
    gone = assess_profile(profile, None, now=now.timestamp(), m365=_registration(now - datetime.timedelta(days=1)))
    assert (gone.state, gone.issues) == (HealthState.FAILING, (Issue.CERTIFICATE_EXPIRED,))
