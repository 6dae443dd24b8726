"""Probe smtp.<domain> and mail.<domain> on the submission ports: EHLO, TLS, AUTH mechanisms.

Nothing is sent and no credentials are offered; the connection check does that later. TLS is
verified (system store or the CA file given), so a proposal from here is a server the transport
will accept.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from wizard.services.autodetect.https_get import verified_context_off_loop
from wizard.services.autodetect.model import ConnectTo, Proposal, Source, SourceOutcome
from wizard.services.model import ProviderKind, Security
from wizard.services.smtp_closing import PromptClosingSMTP, close_smtp

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    security: Security
    auth_mechanisms: tuple[str, ...]


class ProbeError(Exception):
    """The endpoint answered but is not usable (no TLS, bad certificate ...) or did not answer."""

    def __init__(self, host: str, port: int, reason: str, *, serious: bool, timed_out: bool = False) -> None:
        super().__init__(f"{host}:{port}: {reason}")
        self.serious = serious  # False for "nothing there" (no such host, refused)
        self.timed_out = timed_out


def probe_hosts(domain: str) -> tuple[str, ...]:
    return (f"smtp.{domain}", f"mail.{domain}")


def _auth_mechanisms(smtp: aiosmtplib.SMTP) -> tuple[str, ...]:
    return tuple(m.upper() for m in smtp.server_auth_methods) if smtp.supports_extension("auth") else ()


async def _connected_socket(address: tuple[str, int]) -> socket.socket:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(*address, type=socket.SOCK_STREAM)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _reason(exc: BaseException) -> tuple[str, bool]:
    """(what to tell the admin, whether it is more than "nothing listens there")."""
    if isinstance(exc, TimeoutError):
        return "no answer in time", False
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({cause.verify_message})", True
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause})", True
        if isinstance(cause, socket.gaierror):
            return "no such host", False
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused", False
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__, not isinstance(exc, aiosmtplib.SMTPConnectError | OSError)


async def probe_endpoint(host: str, port: int, *, tls_context: ssl.SSLContext, timeout_s: float,
                         connect_to: ConnectTo) -> ProbeResult:
    """EHLO on one endpoint; on 465 inside implicit TLS, elsewhere after STARTTLS."""
    implicit_tls = port == IMPLICIT_TLS_PORT
    target = connect_to.get((host, port))
    sock = None
    smtp = None
    finished = False
    try:
        # One deadline for the whole exchange, not aiosmtplib's per-step timeouts: those go through
        # asyncio.wait_for, which on Python 3.11 can swallow a cancellation (gh-86296) and keep the probe
        # running until its next step times out.
        async with asyncio.timeout(timeout_s):
            # With connect_to the socket goes to the mapped address but TLS still checks `host`'s certificate.
            sock = await _connected_socket(target) if target else None
            smtp = PromptClosingSMTP(hostname=host, port=None if sock else port, sock=sock, use_tls=implicit_tls,
                                   start_tls=False, tls_context=tls_context, timeout=None)
            await smtp.connect()
            await smtp.ehlo()
            if not implicit_tls:
                if not smtp.supports_extension("starttls"):
                    raise ProbeError(host, port, "answers but offers no STARTTLS; Mailwright needs TLS", serious=True)
                await smtp.starttls(server_hostname=host)
                await smtp.ehlo()
            security = Security.TLS if implicit_tls else Security.STARTTLS
            finished = True
            return ProbeResult(host, port, security, _auth_mechanisms(smtp))
    except ProbeError:
        raise
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason, serious = _reason(exc)
        raise ProbeError(host, port, reason, serious=serious, timed_out=isinstance(exc, TimeoutError)) from exc
    finally:
        if smtp is not None:
            await close_smtp(smtp, polite=finished)  # cancelled or failed: no QUIT
        if sock is not None:
            sock.close()  # cancelled before aiosmtplib wrapped it in a transport; else already closed with it


def _proposal(result: ProbeResult, address: str, rank: int) -> Proposal:
    mechanisms = " ".join(result.auth_mechanisms) or "no AUTH (it may accept mail only from its own network)"
    tls = "implicit TLS" if result.security is Security.TLS else "STARTTLS"
    # Implicit TLS first (RFC 8314 section 3.3); a server that offers AUTH is the likelier submission server.
    confidence = 0.6 + (0.05 if result.security is Security.TLS else 0) + (0.1 if result.auth_mechanisms else 0)
    return Proposal(provider_kind=ProviderKind.SMTP, host=result.host, port=result.port, security=result.security,
                    auth_mechanisms=result.auth_mechanisms, username_hint=address, source=Source.PROBE,
                    confidence=confidence - 0.01 * rank,
                    evidence=f"{result.host}:{result.port} answered with {tls}; AUTH: {mechanisms}")


async def detect_by_probe(address: str, domain: str, *, ports: Sequence[int], ca_file: str | None,
                          timeout_s: float, connect_to: ConnectTo) -> SourceOutcome:
    endpoints = [(host, port) for host in probe_hosts(domain) for port in ports]
    tls_context = await verified_context_off_loop(ca_file)
    results = await asyncio.gather(
        *(probe_endpoint(host, port, tls_context=tls_context, timeout_s=timeout_s, connect_to=connect_to)
          for host, port in endpoints),
        return_exceptions=True)
    proposals: list[Proposal] = []
    errors: list[str] = []
    serious = False
    timeouts = 0
    for rank, result in enumerate(results):
        if isinstance(result, ProbeResult):
            proposals.append(_proposal(result, address, rank))
        elif isinstance(result, ProbeError):
            errors.append(str(result))
            serious = serious or result.serious
            timeouts += result.timed_out
        else:
            raise result  # CancelledError and programming errors are not probe findings
    asked = ", ".join(f"{h}:{p}" for h, p in endpoints)
    detail = f"Probed {asked}: {len(proposals)} answered with TLS" if proposals else f"Probed {asked}: none usable"
    return SourceOutcome(tuple(proposals), detail=detail, errors=tuple(errors), failed=serious,
                         timed_out=timeouts == len(endpoints))
