"""Keeping it alive and undoing it: addKey/removeKey with a proof of possession, automatic rotation, teardown."""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography.hazmat.primitives import serialization

from tests.fixtures.waiting import eventually
from tests.m365.conftest import FAST, Tenant
from wizard.services import m365, secrets
from wizard.services.certificate_renewal import CertificateRenewal
from wizard.services.check import check_profile
from wizard.services.config import ConfigStore
from wizard.services.m365 import keypair
from wizard.services.m365.directory import Directory, DirectoryError
from wizard.services.m365.rotation import RotationOutcome, rotate, rotate_due
from wizard.services.m365.teardown import tear_down
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]


async def _set_up(tenant: Tenant, name: str, mode: m365.SetupMode = m365.SetupMode.GRAPH_APP) -> m365.SetupResult:
    result = await m365.set_up(tenant.request(name, mode))
    assert result.ok, result.report
    return result


def _der(pair: keypair.KeyPair) -> str:
    return base64.b64encode(pair.certificate.public_bytes(serialization.Encoding.DER)).decode()


async def test_rotation_adds_the_new_key_switches_then_removes_the_old_one(tenant: Tenant, profile_name: str) -> None:
    before = (await _set_up(tenant, profile_name)).registration
    old = keypair.load(profile_name)
    tenant.directory.replication_delay = 0

    after = await rotate(profile_name, wait=FAST)

    application = tenant.directory.only_application()
    assert [k["keyId"] for k in application["keyCredentials"]] == [after.key_id] != [before.key_id]
    new = keypair.load(profile_name)
    assert new.thumbprint == after.thumbprint != old.thumbprint
    assert _der(new) == _der(keypair.KeyPair(new.key, application["_certificates"][0]))
    assert tenant.idp.apps[before.app_id].certificates() == [new.certificate]  # the old key cannot sign in
    assert ConfigStore().load().profile(profile_name).certificate_thumbprint == after.thumbprint
    assert m365.registration(profile_name) == after and after.rotated_at
    assert not keypair.key_path(profile_name, ".next").exists()
    report = await check_profile(ConfigStore().load().profile(profile_name))
    assert report.ok, report.diagnosis
    # Both proofs were checked by the directory: addKey signed by the old key, removeKey by the new one.
    assert tenant.directory.calls[-2:] == [f"POST /applications/{before.application_id}/addKey",
                                           f"POST /applications/{before.application_id}/removeKey"]


async def test_a_proof_signed_by_a_key_the_app_does_not_have_is_refused(tenant: Tenant, profile_name: str) -> None:
    registration = (await _set_up(tenant, profile_name)).registration
    stranger = keypair.generate("someone else", 1)
    app_token = tenant.graph.issue_token(app_id=registration.app_id, roles=())  # the app's own token

    async with Directory(tenant.endpoints, app_token) as directory:
        with pytest.raises(DirectoryError) as refused:
            await directory.add_key(registration.application_id, stranger.key_credential("x"),
                                    stranger.proof(registration.application_id))

    assert refused.value.status == 400 and "not signed by a current key" in refused.value.message
    assert len(tenant.directory.only_application()["keyCredentials"]) == 1


async def test_automatic_rotation_renews_only_certificates_within_30_days(tenant: Tenant, profile_name: str) -> None:
    registration = (await _set_up(tenant, profile_name)).registration
    tenant.directory.replication_delay = 0
    expires = registration.expires
    assert expires is not None

    assert await rotate_due(now=expires - datetime.timedelta(days=45), wait=FAST) == []
    [outcome] = await rotate_due(now=expires - datetime.timedelta(days=20), wait=FAST)

    assert outcome.ok and outcome.registration is not None
    assert outcome.registration.thumbprint != registration.thumbprint


async def test_an_expired_certificate_cannot_be_rotated_without_an_admin(tenant: Tenant, profile_name: str) -> None:
    registration = (await _set_up(tenant, profile_name)).registration
    expires = registration.expires
    assert expires is not None

    [outcome] = await rotate_due(now=expires + datetime.timedelta(days=1), wait=FAST)

    assert outcome.diagnosis is not None and outcome.diagnosis.code == "rotation_failed"
    assert "expired" in outcome.diagnosis.explanation and "administrator" in outcome.diagnosis.fix
    assert len(tenant.directory.only_application()["keyCredentials"]) == 1


async def test_teardown_deletes_the_app_and_forgets_key_record_and_profile(tenant: Tenant, profile_name: str) -> None:
    registration = (await _set_up(tenant, profile_name)).registration

    result = await tear_down(profile_name)

    assert result.app_deleted and result.profile_removed
    assert tenant.directory.applications == {} and tenant.directory.principal_of(registration.app_id) is None
    assert tenant.directory.role_assignments == []
    assert not keypair.key_path(profile_name).exists()
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE) is None
    assert m365.registration(profile_name) is None and profile_name not in ConfigStore().load().profiles
    scopes = {s.rsplit("/", 1)[-1] for s in tenant.idp.authorize_requests[-1]["scope"].split()}
    assert "Application.ReadWrite.All" in scopes and "AppRoleAssignment.ReadWrite.All" not in scopes


async def test_teardown_by_a_user_without_the_role_changes_nothing(tenant: Tenant, profile_name: str) -> None:
    await _set_up(tenant, profile_name)
    tenant.directory.admin_roles = set()

    with pytest.raises(m365.M365Error) as caught:
        await tear_down(profile_name)

    assert caught.value.diagnosis.code == "admin_role_required"
    assert len(tenant.directory.applications) == 1 and m365.registration(profile_name) is not None
    assert keypair.key_path(profile_name).exists()



async def test_the_running_app_renews_a_certificate_that_expires_within_30_days(tenant: Tenant,
                                                                                profile_name: str) -> None:
    short = await m365.set_up(tenant.request(profile_name, m365.SetupMode.GRAPH_APP, cert_months=1))
    assert short.ok and short.registration.rotation_due()
    tenant.directory.replication_delay = 0
    seen: list[list[RotationOutcome]] = []
    renewal = CertificateRenewal(on_outcomes=seen.append)

    renewal.start()
    try:
        await eventually(lambda: bool(seen))
    finally:
        await renewal.stop()

    [[outcome]] = seen
    assert outcome.ok and outcome.profile == profile_name
    renewed = m365.registration(profile_name)
    assert renewed is not None and not renewed.rotation_due() and renewed.thumbprint != short.registration.thumbprint
