"""A size-limited HTTPS GET over httpcore (the engine under httpx) with `connect_to` and clean cancellation.

httpx's own transport takes no network backend, and a network backend is the one public place to
(1) connect to another address while TLS is still verified against the URL's host name, and
(2) close the TCP connection when a TLS handshake is *cancelled*: httpcore 1.0 closes it when the
handshake fails, not when the task is cancelled (`except Exception` in its anyio backend), which
leaves the socket to the garbage collector every time the user presses Cancel.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import anyio._backends._asyncio  # noqa: F401  (httpcore imports it on first use: in the caller's thread, not the loop's)
import httpcore

from wizard.services.autodetect.model import ConnectTo


class ResponseTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the response is larger than {limit // 1024} KB")
        self.limit = limit


@dataclass(frozen=True)
class HttpsResponse:
    status: int
    body: bytes


# The `timeout` parameters below are httpcore's interface (hence the ASYNC109 exemptions).
class _CancelSafeStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:  # noqa: ASYNC109
        try:
            return _CancelSafeStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))
        except asyncio.CancelledError:
            await self._inner.aclose()
            raise

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class ConnectToBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, connect_to: ConnectTo) -> None:
        self._connect_to = connect_to
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        target_host, target_port = self._connect_to.get((host, port), (host, port))
        stream = await self._inner.connect_tcp(target_host, target_port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
        return _CancelSafeStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def verified_context(ca_file: str | None) -> ssl.SSLContext:
    """Verification always on; a CA file replaces the system trust store (tests, private CAs)."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def verified_context_off_loop(ca_file: str | None) -> ssl.SSLContext:
    # Loading the system trust store takes about 25 ms: too long a stall for the GUI's event loop.
    return await asyncio.to_thread(verified_context, ca_file)


async def https_get(url: str, *, ssl_context: ssl.SSLContext, timeout_s: float, limit: int,
                    connect_to: ConnectTo) -> HttpsResponse:
    """GET `url` without following redirects; `ResponseTooLargeError` past `limit` bytes, httpcore errors as is."""
    timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
    async with httpcore.AsyncConnectionPool(ssl_context=ssl_context,
                                            network_backend=ConnectToBackend(connect_to)) as pool:
        async with pool.stream("GET", url, headers={"Accept": "application/xml, text/xml", "User-Agent": "Mailwright"},
                               extensions={"timeout": timeouts}) as response:
            if response.status != 200:
                return HttpsResponse(response.status, b"")
            declared = {name.lower(): value for name, value in response.headers}.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLargeError(limit)
            body = bytearray()
            async for chunk in response.aiter_stream():
                body += chunk
                if len(body) > limit:
                    raise ResponseTooLargeError(limit)
            return HttpsResponse(response.status, bytes(body))
