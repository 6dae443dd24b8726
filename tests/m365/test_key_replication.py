"""A new key replicates like a new app: rotation keeps the old key until the new one signs in, within a bound.

The directory fixture delays a key added with addKey on the identity provider's clock (AADSTS700027 before), and
the rotation's wait runs on that same clock, driven by the test: no test waits in wall time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from tests.fixtures.cli import mailwright
from tests.m365.conftest import Tenant
from wizard.services import m365
from wizard.services.check import check_profile
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair
from wizard.services.m365.rotation import renew, rotate

pytestmark = [pytest.mark.keyring]


@dataclass
class DrivenClock:
    """The fixture's clock: each of the rotation's waits moves it on instead of sleeping."""

    now: float = 1000.0
    slept: float = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        await asyncio.sleep(0)


async def _set_up(tenant: Tenant, name: str) -> m365.Registration:
    result = await m365.set_up(tenant.request(name, m365.SetupMode.GRAPH_APP))
    assert result.ok, result.report
    tenant.directory.replication_delay = 0
    return result.registration


def _policy(clock: DrivenClock, limit_s: float = 300.0) -> m365.WaitPolicy:
    return m365.WaitPolicy(limit_s=limit_s, first_delay_s=2.0, max_delay_s=30.0, clock=clock, sleep=clock.sleep)


@pytest.mark.asyncio
async def test_rotation_keeps_the_old_key_until_the_new_one_has_signed_in(tenant: Tenant, profile_name: str) -> None:
    before = await _set_up(tenant, profile_name)
    clock = DrivenClock()
    tenant.idp.clock = clock
    tenant.directory.key_replication_delay_s = 40.0
    added_at = clock.now

    after = await rotate(profile_name, wait=_policy(clock))

    new = after.thumbprint
    tries = [(at, outcome) for app, thumbprint, at, outcome in tenant.idp.assertions
             if app == before.app_id and thumbprint == new]
    refused = [at for at, outcome in tries if outcome == "700027"]
    accepted = [at for at, outcome in tries if outcome == ""]
    assert len(refused) >= 3 and all(at < added_at + 40 for at in refused)  # it was tried, and refused, meanwhile
    assert accepted and accepted[0] >= added_at + 40
    [(removed_key, removed_at)] = tenant.directory.removed_keys
    assert removed_key == before.key_id and removed_at >= accepted[0]  # the old key went only after the new worked
    assert [k["keyId"] for k in tenant.directory.only_application()["keyCredentials"]] == [after.key_id]
    assert clock.slept < 40 + 30 + 1  # it stopped waiting soon after the key replicated (the backoff's last step)
    report = await check_profile(ConfigStore().load().profile(profile_name))
    assert report.ok, report.diagnosis


@pytest.mark.asyncio
async def test_rotation_gives_up_within_its_bound_and_keeps_the_old_key(tenant: Tenant, profile_name: str) -> None:
    before = await _set_up(tenant, profile_name)
    old = keypair.load(profile_name)
    clock = DrivenClock()
    tenant.idp.clock = clock
    tenant.directory.key_replication_delay_s = 10_000.0
    started = clock.now

    outcome = await renew(profile_name, wait=_policy(clock, limit_s=120.0))

    assert outcome.diagnosis is not None and outcome.diagnosis.code == "rotation_failed"
    assert "could not sign in" in outcome.diagnosis.explanation and "AADSTS700027" in outcome.diagnosis.explanation
    assert "the old one stays in use" in outcome.diagnosis.explanation
    assert 120 <= clock.now - started < 121  # the bound, on the driven clock
    # The tenant is as it was: the unused new key was taken back (proof signed by the old key), the old one stays.
    assert [k["keyId"] for k in tenant.directory.only_application()["keyCredentials"]] == [before.key_id]
    assert tenant.idp.apps[before.app_id].certificates() == [old.certificate]
    assert keypair.load(profile_name).thumbprint == old.thumbprint
    assert not keypair.key_path(profile_name, ".next").exists()
    assert ConfigStore().load().profile(profile_name).certificate_thumbprint == before.thumbprint
    recorded = m365.registration(profile_name)
    assert recorded is not None and recorded.thumbprint == before.thumbprint
    assert recorded.renewal is not None and not recorded.renewal.ok and recorded.renewal.code == "rotation_failed"
    report = await check_profile(ConfigStore().load().profile(profile_name))
    assert report.ok, report.diagnosis


@pytest.mark.asyncio
async def test_a_failed_manual_rotate_is_recorded_and_shown(tenant: Tenant, profile_name: str) -> None:
    registration = await _set_up(tenant, profile_name)
    del tenant.directory.applications[registration.application_id]  # deleted in the Entra admin center

    result = await asyncio.to_thread(mailwright, "m365", "rotate", profile_name)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "The certificate could not be renewed" in result.stderr and "Request_ResourceNotFound" in result.stderr
    assert f"recorded with the profile (mailwright m365 show {profile_name})" in result.stderr
    recorded = m365.registration(profile_name)
    assert recorded is not None and recorded.renewal is not None and not recorded.renewal.ok
    assert recorded.renewal.code == "rotation_failed" and "Request_ResourceNotFound" in recorded.renewal.explanation
    shown = await asyncio.to_thread(mailwright, "m365", "show", profile_name, "--offline")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Last renewal:      failed on" in shown.stdout and "The certificate could not be renewed" in shown.stdout



@pytest.mark.asyncio
async def test_a_rotation_stopped_while_waiting_keeps_the_old_key_and_no_half_made_file(tenant: Tenant,
                                                                                       profile_name: str) -> None:
    before = await _set_up(tenant, profile_name)
    clock = DrivenClock()
    tenant.idp.clock = clock
    tenant.directory.key_replication_delay_s = 10_000.0
    waiting = asyncio.Event()

    async def stuck(_seconds: float) -> None:  # the wait for the new key never ends on its own
        waiting.set()
        await asyncio.get_running_loop().create_future()

    rotation = asyncio.create_task(rotate(profile_name, wait=m365.WaitPolicy(clock=clock, sleep=stuck)))
    await asyncio.wait_for(waiting.wait(), 30)
    assert keypair.key_path(profile_name, ".next").exists()
    rotation.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rotation

    assert not keypair.key_path(profile_name, ".next").exists()
    assert keypair.load(profile_name).thumbprint == before.thumbprint
    assert ConfigStore().load().profile(profile_name).certificate_thumbprint == before.thumbprint
    assert m365.registration(profile_name) == before
    report = await check_profile(ConfigStore().load().profile(profile_name))
    assert report.ok, report.diagnosis
