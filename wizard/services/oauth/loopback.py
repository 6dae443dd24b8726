"""The installed-app redirect: a one-shot HTTP listener on the loopback interface (RFC 8252 §7.3).

Both the Microsoft and the Google authorization-code flows open the system browser at the
provider's authorize URL and wait here for `http://localhost:<port>/?code=...&state=...` (Google) or
the same fields POSTed as a form (Microsoft, `response_mode=form_post`).
Waiting is an asyncio task, so Cancel in the wizard (or Ctrl+C in the CLI) simply cancels it.
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

_PAGE = (b"<!doctype html><meta charset=utf-8><title>Mailwright</title>"
         b"<body style='font-family:sans-serif'><h2>%s</h2><p>You can close this window and return to Mailwright."
         b"</p></body>")


class LoopbackRedirect:
    """Listens on 127.0.0.1:<free port>; `redirect_uri` is what the provider must send the browser back to."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None

    async def __aenter__(self) -> LoopbackRedirect:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}"

    async def wait(self) -> dict[str, str]:
        """The query parameters of the first redirect that carries `code` or `error`."""
        assert self._result is not None
        return await self._result

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            length = 0
            while (line := await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = min(int(value.strip() or 0), 65536)
            parts = request_line.split()
            params = dict(parse_qsl(urlsplit(parts[1]).query)) if len(parts) >= 2 else {}
            if parts and parts[0] == "POST" and length:
                # response_mode=form_post (RFC 9700 §4.3.1): the code arrives in the body, not in the URL.
                body = await asyncio.wait_for(reader.readexactly(length), 10)
                params.update(parse_qsl(body.decode("latin-1")))
            relevant = "code" in params or "error" in params
            title = b"Sign-in failed." if "error" in params else b"Signed in."
            body = _PAGE % title if relevant else b"Not found"
            status = b"200 OK" if relevant else b"404 Not Found"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
            if relevant and self._result is not None and not self._result.done():
                self._result.set_result(params)
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()


BrowserOpener = Callable[[str], Awaitable[None]]


async def open_system_browser(url: str) -> None:
    """webbrowser honours $BROWSER (which is also how tests substitute the browser); it may block briefly."""
    opened = await asyncio.to_thread(webbrowser.open, url)
    if not opened:
        raise OSError("No web browser could be started on this computer; use device code sign-in instead.")
