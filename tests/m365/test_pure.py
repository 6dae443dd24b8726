"""The pure parts: scopes per mode, clouds, the Exchange script, the certificate and its proof JWT, the record."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.fixtures.identity_provider import b64url_decode
from wizard.services import m365
from wizard.services.m365 import exchange, keypair
from wizard.services.m365.modes import SetupMode
from wizard.services.m365.record import Registration


def test_national_clouds_get_their_own_graph_for_scopes() -> None:
    us = m365.Endpoints(authority="https://login.microsoftonline.us")
    china = m365.Endpoints(authority="https://login.chinacloudapi.cn")

    assert us.graph_resource == "https://graph.microsoft.us" and us.graph_api == "https://graph.microsoft.us/v1.0"
    assert china.graph_resource == "https://microsoftgraph.chinacloudapi.cn"
    assert us.authority_url == "https://login.microsoftonline.us/organizations"


@pytest.mark.parametrize(("mode", "grant_scope"), [
    (SetupMode.GRAPH_APP, "AppRoleAssignment.ReadWrite.All"), (SetupMode.SMTP_APP, "AppRoleAssignment.ReadWrite.All"),
    (SetupMode.GRAPH_DELEGATED, "DelegatedPermissionGrant.ReadWrite.All"),
    (SetupMode.SMTP_DELEGATED, "DelegatedPermissionGrant.ReadWrite.All"),
])
def test_the_admin_is_asked_only_for_what_the_mode_needs(mode: SetupMode, grant_scope: str) -> None:
    assert mode.admin_scopes == ("User.Read", "Application.ReadWrite.All", grant_scope)


def test_the_exchange_script_names_the_app_the_principal_and_the_mailbox() -> None:
    script = exchange.smtp_app_script("app-1", "sp-1", "Mailwright \u2013 p (o'neil@example.com)", "o'neil@example.com")

    assert script.splitlines() == [
        "Connect-ExchangeOnline",
        "New-ServicePrincipal -AppId 'app-1' -ObjectId 'sp-1' -DisplayName 'Mailwright \u2013 p (o''neil@example.com)'",
        "Add-MailboxPermission -Identity 'o''neil@example.com' -User 'sp-1' -AccessRights FullAccess"]


def test_the_certificate_lasts_the_months_asked_and_the_proof_is_signed_by_its_key() -> None:
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    pair = keypair.generate("Mailwright test", 24, now)

    assert pair.key.key_size >= 2048
    assert (pair.not_after - now).days in range(728, 733)
    header, claims, signature = pair.proof("object-id", now).split(".")
    assert json.loads(b64url_decode(claims)) | {"jti": ""} == {
        "aud": "00000002-0000-0000-c000-000000000000", "iss": "object-id", "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600, "jti": ""}
    assert json.loads(b64url_decode(header))["alg"] == "RS256"
    pair.certificate.public_key().verify(  # type: ignore[union-attr, call-arg]
        b64url_decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ValueError, match="1 to 24"):
        keypair.generate("x", 25)


def test_rotation_is_due_30_days_before_expiry() -> None:
    registration = Registration("p", "graph-app", "t", "n", "o", "a", "s", "x@example.com",
                                not_after="2027-12-01T00:00:00+00:00")

    assert not registration.rotation_due(datetime.datetime(2027, 10, 31, tzinfo=datetime.UTC))
    assert registration.rotation_due(datetime.datetime(2027, 11, 2, tzinfo=datetime.UTC))
    assert Registration.from_json(json.loads(json.dumps(registration.to_json()))) == registration
