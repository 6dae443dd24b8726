"""Whether a port and a security mode usually go together: 465 speaks TLS from the first byte (implicit TLS,
RFC 8314), 587 and 25 start in plain text and switch with STARTTLS (RFC 6409, RFC 3207).

A warning, not an error: a server may use any port. The SMTP page shows it while the admin types, so the
mismatch is seen before the check meets it as a silent server (`tls_mode_mismatch`).
"""

from __future__ import annotations

from wizard.services.model import Security

IMPLICIT_TLS_PORTS = frozenset({465})
STARTTLS_PORTS = frozenset({587, 25, 2525})
SECURITY_NAMES = {Security.STARTTLS: "STARTTLS", Security.TLS: "SSL/TLS", Security.NONE: "None"}


def port_security_warning(port: int, security: Security) -> str:
    """One plain sentence naming the usual choice, or "" when the pair is the usual one (or the port unknown)."""
    if port in IMPLICIT_TLS_PORTS and security is not Security.TLS:
        return (f"Port {port} usually expects encryption from the first byte (SSL/TLS), not "
                f"{SECURITY_NAMES[security]}: with this pair the server waits and the check times out. "
                "Choose SSL/TLS for port 465, or port 587 for STARTTLS.")
    if port in STARTTLS_PORTS and security is Security.TLS:
        return (f"Port {port} usually starts unencrypted and switches to encryption with STARTTLS, not SSL/TLS: "
                "with this pair the connection fails at the start. Choose STARTTLS for this port, or port 465 "
                "for SSL/TLS.")
    if port == 587 and security is Security.NONE:
        return ("Port 587 is the submission port and almost always needs STARTTLS: choose STARTTLS unless your "
                "provider says otherwise.")
    return ""
