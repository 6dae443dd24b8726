"""The domain's own Thunderbird autoconfig document (config-v1.1.xml): its SMTP servers.

Format: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat. Only
`outgoingServer type="smtp"` matters here; the connection check verifies it afterwards.
"""

from __future__ import annotations

import asyncio
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpcore

from wizard.services.autodetect.https_get import ResponseTooLargeError, https_get, verified_context_off_loop
from wizard.services.autodetect.model import ConnectTo, Proposal, Source, SourceOutcome
from wizard.services.model import ProviderKind, Security

MAX_DOCUMENT_BYTES = 1024 * 1024
AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"

_SOCKET_TYPES = {"SSL": Security.TLS, "STARTTLS": Security.STARTTLS, "PLAIN": Security.NONE}
# Thunderbird's <authentication> values -> the SMTP AUTH mechanisms they stand for.
_MECHANISMS = {
    "password-cleartext": ("PLAIN", "LOGIN"),
    "plain": ("PLAIN", "LOGIN"),
    "password-encrypted": ("CRAM-MD5",),
    "secure": ("CRAM-MD5",),
    "oauth2": ("XOAUTH2",),
    "ntlm": ("NTLM",),
    "gssapi": ("GSSAPI",),
}


class AutoconfigError(Exception):
    """The document exists but cannot be used (malformed, too large, a DTD ...)."""


@dataclass(frozen=True)
class OutgoingServer:
    hostname: str
    port: int
    security: Security
    auth_mechanisms: tuple[str, ...]
    username: str


def autoconfig_urls(domain: str) -> tuple[tuple[str, str], ...]:
    """(host, path) in the order Thunderbird asks them."""
    return ((f"autoconfig.{domain}", AUTOCONFIG_PATH), (domain, WELL_KNOWN_PATH))


def _expand(template: str, address: str) -> str:
    local, _, domain = address.rpartition("@")
    return (template.replace("%EMAILADDRESS%", address).replace("%EMAILLOCALPART%", local)
            .replace("%EMAILDOMAIN%", domain))


def _text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def parse_autoconfig(document: bytes, address: str) -> list[OutgoingServer]:
    """The SMTP servers a config-v1.1.xml document lists, in its order of preference."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise AutoconfigError(f"the document is larger than {MAX_DOCUMENT_BYTES // 1024} KB")
    # No autoconfig document needs a DTD; refusing one rules out entity expansion and external entities.
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise AutoconfigError("the document declares a DTD or entities, which autoconfig documents never need")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise AutoconfigError(f"the document is not well-formed XML ({exc})") from None
    if root.tag != "clientConfig":
        raise AutoconfigError(f"the document's root element is <{root.tag}>, not <clientConfig>")
    servers: list[OutgoingServer] = []
    for element in root.iterfind("./emailProvider/outgoingServer"):
        if element.get("type", "").lower() != "smtp":
            continue
        hostname = _expand(_text(element, "hostname"), address).lower()
        security = _SOCKET_TYPES.get(_text(element, "socketType").upper())
        try:
            port = int(_text(element, "port"))
        except ValueError:
            continue
        if not hostname or security is None or not 1 <= port <= 65535:
            continue
        mechanisms: list[str] = []
        for auth in element.iterfind("authentication"):
            for mechanism in _MECHANISMS.get((auth.text or "").strip().lower(), ()):
                if mechanism not in mechanisms:
                    mechanisms.append(mechanism)
        servers.append(OutgoingServer(hostname, port, security, tuple(mechanisms),
                                      _expand(_text(element, "username"), address)))
    return servers


ProviderForHost = Callable[[str], tuple[ProviderKind, str] | None]


def proposals_from_servers(servers: Iterable[OutgoingServer], url: str,
                           provider_for_host: ProviderForHost) -> tuple[Proposal, ...]:
    proposals = []
    for rank, server in enumerate(servers):
        if server.security is Security.NONE:
            continue  # Mailwright never sends credentials in clear to a remote server
        kind, catalogue_id = provider_for_host(server.hostname) or (ProviderKind.SMTP, "")
        proposals.append(Proposal(
            provider_kind=kind, catalogue_id=catalogue_id, host=server.hostname, port=server.port,
            security=server.security, auth_mechanisms=server.auth_mechanisms, username_hint=server.username,
            source=Source.AUTOCONFIG, confidence=0.8 - 0.02 * rank,
            evidence=f"The domain's autoconfig document {url} lists {server.hostname}:{server.port} "
                     f"({server.security.value})"))
    return tuple(proposals)


async def fetch_document(host: str, path: str, *, ssl_context: ssl.SSLContext, timeout_s: float,
                         connect_to: ConnectTo) -> bytes | None:
    """The document's bytes, None if the server has none (404, a redirect ...)."""
    try:
        response = await https_get(f"https://{host}{path}", ssl_context=ssl_context, timeout_s=timeout_s,
                                   limit=MAX_DOCUMENT_BYTES, connect_to=connect_to)
    except ResponseTooLargeError as exc:
        raise AutoconfigError(str(exc).replace("response", "document")) from None
    return response.body if response.status == 200 else None


def _describe_http_error(exc: Exception) -> tuple[str, bool]:
    """(what to tell the admin, whether it is more than "no such host / nothing listening")."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({cause.verify_message})", True
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause})", True
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpcore.ConnectError):
        return str(exc) or "could not connect", False
    return str(exc) or type(exc).__name__, True


async def _fetch_and_parse(host: str, path: str, address: str, *, ssl_context: ssl.SSLContext, timeout_s: float,
                           connect_to: ConnectTo) -> list[OutgoingServer] | None:
    document = await fetch_document(host, path, ssl_context=ssl_context, timeout_s=timeout_s, connect_to=connect_to)
    return None if document is None else parse_autoconfig(document, address)


async def detect_autoconfig(address: str, domain: str, *, ca_file: str | None, timeout_s: float,
                            connect_to: ConnectTo, provider_for_host: ProviderForHost) -> SourceOutcome:
    """Ask both autoconfig URLs at once; the first usable document wins (a silent web server must not
    hide the document the other URL already returned)."""
    urls = [f"https://{host}{path}" for host, path in autoconfig_urls(domain)]
    ssl_context = await verified_context_off_loop(ca_file)
    tasks = {asyncio.create_task(_fetch_and_parse(host, path, address, ssl_context=ssl_context, timeout_s=timeout_s,
                                                  connect_to=connect_to)): url
             for url, (host, path) in zip(urls, autoconfig_urls(domain), strict=True)}
    errors: list[str] = []
    failed = False  # a host that does not exist or refuses is normal; a bad certificate or document is not
    timeouts = 0
    try:
        pending: set[asyncio.Task[list[OutgoingServer] | None]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: urls.index(tasks[t])):
                url, exc = tasks[task], task.exception()
                if isinstance(exc, httpcore.TimeoutException):
                    errors.append(f"{url}: no answer in time")
                    timeouts += 1
                elif isinstance(exc, httpcore.NetworkError | httpcore.ProtocolError | OSError):
                    reason, serious = _describe_http_error(exc)
                    errors.append(f"{url}: {reason}")
                    failed = failed or serious
                elif isinstance(exc, AutoconfigError):
                    errors.append(f"{url}: {exc}")
                    failed = True
                elif exc is not None:
                    raise exc  # programming errors are not findings
                elif (servers := task.result()) is not None:
                    proposals = proposals_from_servers(servers, url, provider_for_host)
                    if proposals:
                        return SourceOutcome(proposals, detail=f"{url} lists {len(proposals)} usable SMTP server(s)",
                                             errors=tuple(errors))
                    errors.append(f"{url}: lists no SMTP server with TLS")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return SourceOutcome(detail=f"No usable autoconfig document at {' and '.join(urls)}", errors=tuple(errors),
                         failed=failed, timed_out=timeouts == len(urls))
