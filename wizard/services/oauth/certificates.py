"""App-only certificate credentials for msal: PEM (key + certificate) or PFX/PKCS#12 with a passphrase.

msal wants `{"private_key": PEM, "public_certificate": PEM}`; we build that
ourselves with `cryptography` so PFX files work the same way on every msal version, and the
thumbprint is computed from the certificate instead of trusting a pasted value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12


class CertificateError(ValueError):
    """The certificate file cannot be used (missing, wrong passphrase, no private key)."""


@dataclass(frozen=True)
class CertificateCredential:
    private_key_pem: str
    certificate_pem: str
    thumbprint: str  # SHA-1 hex, upper case, as the Entra admin center shows it
    not_after_iso: str

    def for_msal(self) -> dict[str, str]:
        # Without "thumbprint" msal derives the SHA-256 thumbprint from the certificate and signs with PS256,
        # which Entra prefers; the SHA-1 `thumbprint` is kept for display (it is what the portal lists).
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}

    def __repr__(self) -> str:
        return f"CertificateCredential(thumbprint={self.thumbprint!r}, private_key=<hidden>)"


def thumbprint_of(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # Entra x5t is SHA-1 by definition


def load_certificate(path: str, passphrase: str | None = None) -> CertificateCredential:
    file = Path(path)
    if not file.is_file():
        raise CertificateError(f"The certificate file {path} does not exist.")
    data = file.read_bytes()
    password = passphrase.encode() if passphrase else None
    try:
        if file.suffix.lower() in {".pfx", ".p12"} or not data.lstrip().startswith(b"-----"):
            key, certificate, _ = pkcs12.load_key_and_certificates(data, password)
        else:
            key = serialization.load_pem_private_key(data, password)
            certificate = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"The certificate file {file.name} could not be read: wrong passphrase, or it "
                               "does not hold both the private key and the certificate.") from exc
    if key is None or certificate is None:
        raise CertificateError(f"{file.name} must contain both the private key and the certificate.")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return CertificateCredential(key_pem, cert_pem, thumbprint_of(certificate),
                                 certificate.not_valid_after_utc.isoformat())
