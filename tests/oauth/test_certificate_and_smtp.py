"""App-only certificate credentials, and XOAUTH2 end to end against an SMTP server that trusts the provider."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.fixtures.identity_provider import USER, App, IdentityProvider
from tests.fixtures.xoauth2_smtp import XOAuth2Server
from tests.oauth.conftest import m365_profile
from wizard.services import accounts, check, oauth, secrets
from wizard.services.model import AuthMode, Profile
from wizard.services.oauth.certificates import load_certificate
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.keyring, pytest.mark.usefixtures("system_browser")]


def _certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailwright test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, certificate


@pytest.fixture(scope="module")
def app_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return _certificate()


@pytest.mark.asyncio
async def test_pem_certificate_gets_app_only_token(identity_provider: IdentityProvider, profile_name: str,
                                                   tmp_path: Path,
                                                   app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]
                                                   ) -> None:
    key, certificate = app_certificate
    identity_provider.register(App("cert-app", public=False, certificate=certificate))
    pem = tmp_path / "app.pem"
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem.write_bytes(key_pem + certificate.public_bytes(serialization.Encoding.PEM))
    profile = m365_profile(identity_provider, profile_name, AuthMode.CLIENT_CERTIFICATE, client_id="cert-app",
                           certificate_path=str(pem))

    token = await oauth.get_token(profile)

    assert identity_provider.token_is_valid(token.token, "https://outlook.office365.com") is not None


@pytest.mark.asyncio
async def test_pfx_with_passphrase_and_wrong_certificate(identity_provider: IdentityProvider, profile_name: str,
                                                         tmp_path: Path,
                                                         app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]
                                                         ) -> None:
    key, certificate = app_certificate
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        b"app", key, certificate, None, serialization.BestAvailableEncryption(b"pfx-pass")))
    secrets.store_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE, "pfx-pass")
    assert load_certificate(str(pfx), "pfx-pass").thumbprint == certificate.fingerprint(hashes.SHA1()).hex().upper()
    profile = m365_profile(identity_provider, profile_name, AuthMode.CLIENT_CERTIFICATE, client_id="cert-app",
                           certificate_path=str(pfx))

    identity_provider.register(App("cert-app", public=False, certificate=_certificate()[1]))  # another cert
    with pytest.raises(oauth.OAuthError) as raised:
        await oauth.get_token(profile)
    assert "700027" in raised.value.diagnosis.detail

    identity_provider.register(App("cert-app", public=False, certificate=certificate))
    assert identity_provider.token_is_valid((await oauth.get_token(profile)).token) is not None


def _smtp_profile(identity_provider: IdentityProvider, profile_name: str, port: int, ca_file: str) -> Profile:
    return m365_profile(identity_provider, profile_name, port=port, ca_file=ca_file)


@pytest.mark.asyncio
async def test_check_gets_token_then_signs_in_with_xoauth2(identity_provider: IdentityProvider, profile_name: str,
                                                           xoauth2_smtp_server: XOAuth2Server, ca_file: str) -> None:
    server = xoauth2_smtp_server
    handler = server.handler
    profile = _smtp_profile(identity_provider, profile_name, server.port, ca_file)
    await oauth.login(profile)

    report = await check.check_profile(profile)

    assert report.ok, report.diagnosis
    names = [step.name for step in report.steps]
    assert names.index("token") < names.index("connect")
    assert handler.authenticated_as == [USER]


@pytest.mark.asyncio
async def test_rejected_token_is_refreshed_once_then_mail_goes(identity_provider: IdentityProvider,
                                                               profile_name: str, xoauth2_smtp_server: XOAuth2Server,
                                                               ca_file: str) -> None:
    server = xoauth2_smtp_server
    handler = server.handler
    profile = _smtp_profile(identity_provider, profile_name, server.port, ca_file)
    await oauth.login(profile)
    identity_provider.issued.clear()  # the server no longer accepts the cached access token

    transport = await accounts.transport_for(profile)
    async with transport:
        result = await transport.send(USER, ["someone@example.net"], b"Subject: hi\r\n\r\nhello\r\n")

    assert result.accepted == ["someone@example.net"]
    assert identity_provider.grant_types[-1] == "refresh_token"
    assert handler.authenticated_as == [USER]


@pytest.mark.asyncio
async def test_valid_token_without_mailbox_permission_is_oauth_not_authorized(
        identity_provider: IdentityProvider, profile_name: str, xoauth2_smtp_server: XOAuth2Server,
        ca_file: str) -> None:
    server = xoauth2_smtp_server
    server.handler.audience = "https://not-outlook.example"  # tokens valid, but not for this mailbox service
    profile = _smtp_profile(identity_provider, profile_name, server.port, ca_file)
    await oauth.login(profile)

    report = await check.check_profile(profile)

    assert report.diagnosis is not None and report.diagnosis.code == "oauth_not_authorized"
    assert "New-ServicePrincipal" in report.diagnosis.fix
