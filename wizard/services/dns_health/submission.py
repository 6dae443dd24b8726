"""The `submission_tls` check: the configured SMTP host negotiates TLS with a valid certificate.

Checkers test the MX (inbound); the application submits to this host, so this is the TLS that matters.
"""

from __future__ import annotations

import ssl
import time

from wizard.services.dns_health.report import CheckResult, Status

EXPIRY_WARN_DAYS = 14


async def check_submission_tls(host: str, port: int = 587, security: str = "starttls", *, timeout_s: float = 10.0,
                               ca_file: str | None = None) -> CheckResult:
    # Imported here: only a generic SMTP account asks for this check (keeps `mailwright dns` light).
    import aiosmtplib

    from wizard.services.smtp_closing import PromptClosingSMTP, close_smtp

    where = f"{host}:{port}"
    if security == "none":
        return CheckResult("submission_tls", Status.WARN, f"{where} is used without TLS",
                           "Credentials and mail cross the network unencrypted.",
                           "Use port 587 with STARTTLS or 465 with TLS.")
    client = PromptClosingSMTP(hostname=host, port=port, use_tls=security == "tls",
                             start_tls=security == "starttls", timeout=timeout_s, cert_bundle=ca_file)
    finished = False
    try:
        await client.connect()
        finished = True
        ssl_object = client.transport.get_extra_info("ssl_object") if client.transport else None
        version = ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else None
        cert = ssl_object.getpeercert() if isinstance(ssl_object, ssl.SSLObject) else None
    except (aiosmtplib.SMTPException, OSError) as exc:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return CheckResult("submission_tls", Status.FAIL, f"{where}: the TLS certificate is not valid", text,
                               "The server must present a certificate for this host name signed by a public CA.")
        if "STARTTLS" in text:
            return CheckResult("submission_tls", Status.FAIL, f"{where} does not offer STARTTLS", text,
                               "Use the provider's submission port with TLS (587 STARTTLS or 465).")
        return CheckResult("submission_tls", Status.ERROR, f"Could not connect to {where}", text,
                           "Check the host name and port, and that a firewall allows the connection.")
    finally:
        await close_smtp(client, polite=finished)  # cancelled or failed: abort, no QUIT round trip
    details = [f"{where}: {version or 'TLS'} negotiated, certificate valid for {host}"]
    status = Status.PASS
    if version in ("TLSv1", "TLSv1.1"):
        status = Status.FAIL
        details.append(f"{version} is obsolete (Microsoft 365 refuses it: 421 4.7.66)")
    if cert and "notAfter" in cert:
        days = (ssl.cert_time_to_seconds(str(cert["notAfter"])) - time.time()) / 86400
        details.append(f"certificate expires in {days:.0f} days")
        if days < EXPIRY_WARN_DAYS and status is Status.PASS:
            status = Status.WARN
    summary = f"{where} negotiates TLS with a valid certificate" if status is Status.PASS else \
        f"{where}: TLS needs attention"
    return CheckResult("submission_tls", status, summary, "\n".join(details))
