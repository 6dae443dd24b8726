"""`profile add --auth client-certificate --certificate-passphrase-stdin`, end to end: the passphrase goes to the
keyring, the credential signs a client assertion the local identity provider verifies, and the check signs in to
an XOAUTH2-only SMTP server with the app-only token."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.fixtures.identity_provider import TENANT, USER, App, IdentityProvider
from tests.fixtures.xoauth2_smtp import XOAuth2Server
from wizard.cli import main
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.secrets import SecretKind

CLIENT_ID = "5c0a7f3e-2b1d-4e6f-9a8b-7c6d5e4f3a2b"  # Entra client IDs are GUIDs: `profile add` checks that

pytestmark = [pytest.mark.keyring]

PASSPHRASE = "pfx pass phrase"


@pytest.fixture(scope="module")
def app_key_and_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailwright CLI test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, certificate


def write_credential(kind: str, folder: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> Path:
    encryption = serialization.BestAvailableEncryption(PASSPHRASE.encode())
    if kind == "pfx":
        path = folder / "app.pfx"
        path.write_bytes(pkcs12.serialize_key_and_certificates(b"app", key, certificate, None, encryption))
    else:
        path = folder / "app-encrypted.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
                         + certificate.public_bytes(serialization.Encoding.PEM))
    return path


def add_profile(name: str, idp: IdentityProvider, certificate_file: Path, port: int, ca_file: str,
                stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["profile", "add", name, "--provider", "m365-smtp", "--auth", "client-certificate",
                 "--from", USER, "--host", "127.0.0.1", "--port", str(port), "--ca-file", ca_file,
                 "--tenant", TENANT, "--client-id", CLIENT_ID, "--authority", idp.url,
                 "--certificate", str(certificate_file), "--certificate-passphrase-stdin"])


@pytest.mark.parametrize("kind", ["pfx", "encrypted-pem"])
def test_certificate_profile_from_the_cli_signs_in_with_a_client_assertion(
        kind: str, identity_provider: IdentityProvider, xoauth2_smtp_server: XOAuth2Server, ca_file: str,
        profile_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        app_key_and_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    key, certificate = app_key_and_certificate
    identity_provider.register(App(CLIENT_ID, public=False, certificate=certificate))
    xoauth2_smtp_server.handler.audience = "https://outlook.office365.com"  # app-only SMTP tokens
    credential = write_credential(kind, tmp_path, key, certificate)

    assert add_profile(profile_name, identity_provider, credential, xoauth2_smtp_server.port, ca_file,
                       PASSPHRASE + "\n", monkeypatch) == 0
    capsys.readouterr()

    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE) == PASSPHRASE
    assert PASSPHRASE not in ConfigStore().path.read_text()
    assert main(["check", "--profile", profile_name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"], report
    assert identity_provider.grant_types == ["client_credentials"]
    assert xoauth2_smtp_server.handler.authenticated_as == [USER]
    assert PASSPHRASE not in json.dumps(report)


def test_a_wrong_passphrase_is_refused_and_nothing_is_saved(
        identity_provider: IdentityProvider, ca_file: str, profile_name: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        app_key_and_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    credential = write_credential("pfx", tmp_path, *app_key_and_certificate)

    assert add_profile(profile_name, identity_provider, credential, 587, ca_file, "not the passphrase\n",
                       monkeypatch) == 2

    err = capsys.readouterr().err
    assert "wrong passphrase" in err and "not the passphrase" not in err
    assert secrets.load_secret(profile_name, SecretKind.CERTIFICATE_PASSPHRASE) is None
    assert profile_name not in ConfigStore().load().profiles
