"""The app's certificate: an RSA key and a self-signed certificate made on this computer, kept encrypted.

The private key never exists in clear on disk and never leaves the computer: `<data home>/m365/<profile>.pem`
holds the PKCS#8 key encrypted (BestAvailableEncryption) with a random passphrase that lives in the system
keyring (`SecretKind.CERTIFICATE_PASSPHRASE`), plus the certificate. That is the same PEM + passphrase pair the
`client-certificate` sign-in already loads (oauth/certificates.py), so sending needs no new code. Only the
certificate (public) is uploaded to Entra (`keyCredentials`).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets as std_secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from wizard.services import secrets
from wizard.services.config import profile_file
from wizard.services.oauth.certificates import thumbprint_of
from wizard.services.secrets import SecretKind

KEY_BITS = 3072  # >= 2048 (Entra's minimum); 3072 is NIST's recommendation beyond 2030
DEFAULT_MONTHS = 12
MAX_MONTHS = 24
GRAPH_PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"  # addKey/removeKey proof audience (Graph docs)


@dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def thumbprint(self) -> str:
        return thumbprint_of(self.certificate)

    @property
    def not_after(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc

    def key_credential(self, display_name: str) -> dict[str, Any]:
        """The Graph `keyCredential` for this certificate (public part only)."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode(),
                "displayName": display_name}

    def proof(self, application_object_id: str, now: datetime.datetime | None = None) -> str:
        """The JWT addKey/removeKey want: signed by this (current) key; aud fixed, iss the application's id."""
        issued = int((now or datetime.datetime.now(datetime.UTC)).timestamp())
        header = {"alg": "RS256", "typ": "JWT", "x5t": _b64url(self.certificate.fingerprint(hashes.SHA1()))}
        claims = {"aud": GRAPH_PROOF_AUDIENCE, "iss": application_object_id, "nbf": issued, "exp": issued + 600,
                  "jti": str(uuid.uuid4())}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def __repr__(self) -> str:
        return f"KeyPair(thumbprint={self.thumbprint!r}, private_key=<hidden>)"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate(subject: str, months: int = DEFAULT_MONTHS, now: datetime.datetime | None = None) -> KeyPair:
    """A new RSA key and a self-signed certificate valid for `months` (1..24) from now. CPU-bound: use a thread."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"The certificate may be valid for 1 to {MAX_MONTHS} months, not {months}.")
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject[:64])])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(start + datetime.timedelta(days=round(months * 30.44)))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return KeyPair(key, certificate)


def key_path(profile: str, suffix: str = "") -> Path:
    return profile_file("m365", profile, f"{suffix}.pem")  # a valid name, resolved inside the data home


def save(profile: str, pair: KeyPair, suffix: str = "") -> Path:
    """Writes the encrypted key + certificate (0600); the passphrase is the profile's keyring entry (made once)."""
    passphrase = secrets.load_secret(profile, SecretKind.CERTIFICATE_PASSPHRASE)
    if not passphrase:
        passphrase = std_secrets.token_urlsafe(32)
        secrets.store_secret(profile, SecretKind.CERTIFICATE_PASSPHRASE, passphrase)
    encrypted = pair.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(passphrase.encode()))
    path = key_path(profile, suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(encrypted + pair.certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)
    return path


def load(profile: str, suffix: str = "") -> KeyPair:
    """The stored pair; raises FileNotFoundError / ValueError (wrong or missing keyring passphrase)."""
    data = key_path(profile, suffix).read_bytes()
    passphrase = secrets.load_secret(profile, SecretKind.CERTIFICATE_PASSPHRASE)
    if not passphrase:
        raise ValueError("The keyring holds no passphrase for this profile's certificate key.")
    key = serialization.load_pem_private_key(data, passphrase.encode())
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("The stored key is not an RSA key.")
    return KeyPair(key, x509.load_pem_x509_certificate(data))


def forget(profile: str) -> bool:
    """Deletes the key files and the keyring passphrase; True when something was removed."""
    removed = False
    for suffix in ("", ".next"):
        path = key_path(profile, suffix)
        removed = path.exists() or removed
        path.unlink(missing_ok=True)
    try:
        removed = secrets.delete_secret(profile, SecretKind.CERTIFICATE_PASSPHRASE) or removed
    except secrets.KeyringUnavailableError:
        pass
    return removed
