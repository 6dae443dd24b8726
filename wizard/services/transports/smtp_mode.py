"""Which security mode a port speaks, to name a wrong choice within seconds instead of timing out.

An implicit-TLS port (465) waits for the client's TLS handshake and never sends a plain greeting, so
STARTTLS (or no security) chosen there used to wait the whole timeout and blame a firewall; TLS chosen on
a STARTTLS port (587) meets the plain `220` greeting where a handshake was expected. Both are answered by a
second, short probe connection that sends nothing but a handshake (or reads the greeting), so nothing
secret ever travels over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from wizard.services.errors import DiagnosisCode, Scope, Stage, TransportError
from wizard.services.model import Security

# How long a plain greeting may take before the port is probed for TLS. Greeting delays exist (Postfix's
# postscreen waits ~6 s), so the probe runs beside the real connection: a slow plain server still wins.
BANNER_WAIT_S = 3.0
PROBE_TIMEOUT_S = 5.0

_LABEL = {Security.TLS: "SSL/TLS (implicit TLS)", Security.STARTTLS: "STARTTLS", Security.NONE: "no encryption"}


async def _close_probe(writer: asyncio.StreamWriter | None) -> None:
    """Close a probe's connection, giving a TLS close_notify at most a second."""
    if writer is not None:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)


async def speaks_tls(host: str, port: int, context: ssl.SSLContext, timeout_s: float) -> bool:
    """True when a TLS handshake on a new connection to host:port gets a server certificate back."""
    writer: asyncio.StreamWriter | None = None
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout_s)
    except ssl.SSLCertVerificationError:
        return True  # the server sent a certificate: it speaks TLS (the real connection reports the certificate)
    except (OSError, TimeoutError):
        return False
    finally:
        await _close_probe(writer)
    return True


async def greets_in_plain_text(host: str, port: int, timeout_s: float) -> bool:
    """True when a new plain connection to host:port is greeted with an SMTP `220` line."""
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        line = await asyncio.wait_for(reader.readline(), timeout_s)
    except (OSError, TimeoutError):
        return False
    finally:
        await _close_probe(writer)
    return line.startswith(b"220")


def mismatch(host: str, port: int, chosen: Security, right: Security) -> TransportError:
    if right is Security.TLS:
        reason = (f"{host}:{port} expects an encrypted connection from the first byte (SSL/TLS, implicit TLS), but "
                  f"the security setting is {_LABEL[chosen]}, which waits for a plain greeting first.")
    else:
        reason = (f"{host}:{port} greets in plain text and offers encryption with STARTTLS, but the security "
                  f"setting is {_LABEL[chosen]}, which starts with a TLS handshake.")
    return TransportError(DiagnosisCode.TLS_MODE_MISMATCH, Scope.ACCOUNT, stage=Stage.TLS, detail=reason,
                          facts={"reason": reason, "host": host, "port": port, "suggestion": _LABEL[right]})
