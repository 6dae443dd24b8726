"""Sending through Microsoft Graph `sendMail`, for tenants where SMTP AUTH is off.

The message travels as MIME (base64 body, `Content-Type: text/plain`) so headers, HTML and
attachments arrive exactly as the application built them. App-only profiles post to
`/users/{mailbox}/sendMail`, delegated ones to `/me/sendMail`. 202 means *accepted* by
Exchange, not delivered.

saveToSentItems: it is a JSON parameter, and a MIME request has no parameters, so MIME sendMail
always keeps a copy in Sent Items (so does sending a draft). Mailwright keeps MIME fidelity and
therefore always saves; `Profile.save_to_sent_items = false` cannot be honoured on Graph, and the
connection check says so (`SENT_ITEMS_NOTE`). Rebuilding the message as Graph JSON would honour the
flag but loses headers and structure, which is what this transport exists to keep.

Messages whose base64 is over ~4 MB: a draft from the MIME minus its biggest attachments
(POST /messages), each such attachment through an upload session (>= 3 MB, chunks <= 4 MB, the upload
URL is pre-authenticated and gets no Authorization header) or a plain attachment POST (< 3 MB), then
POST /messages/{id}/send. That route needs Mail.ReadWrite besides Mail.Send.

Limits, enforced here before Graph throttles: at most 4 concurrent requests per app (Graph's Outlook limit
is 4 per app *and mailbox*; per app is the stricter reading and equal for a one-mailbox profile), and
10,000 requests per 10 minutes per mailbox.
"""

from __future__ import annotations

import asyncio
import base64
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from wizard.services.errors import DiagnosisCode
from wizard.services.graph_guide import REQUEST_LIMIT_BYTES, graph_endpoint_for
from wizard.services.model import Profile
from wizard.services.transports.base import (
    BeforeData,
    Credential,
    OpensAsContext,
    RecipientResult,
    Scope,
    SendResult,
    Stage,
    TokenCredential,
    TransportError,
)
from wizard.services.transports.graph_errors import error_for_exception, error_for_reply, parse_error
from wizard.services.transports.graph_mime import (
    Attachment,
    MessageTooLargeError,
    encode_body,
    split_large_attachments,
    with_envelope_recipients,
)
from wizard.services.transports.smtp import tls_context

MAX_CONCURRENT_PER_APP = 4
MAILBOX_REQUESTS_PER_WINDOW = 10_000
MAILBOX_WINDOW_S = 600.0
UPLOAD_SESSION_MIN_BYTES = 3 * 1024 * 1024
UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024
ACCEPTED_REPLY = "202 Accepted (Microsoft Graph queued the message; delivery is not confirmed yet)"
SENT_ITEMS_NOTE = ("Microsoft Graph keeps a copy of every message in Sent Items when it is sent as MIME; "
                   "the setting save_to_sent_items = false cannot be honoured for this profile.")


@dataclass(frozen=True)
class GraphSettings:
    graph_endpoint: str
    mailbox: str  # the profile's sender mailbox: in the URL for app-only, informational when delegated
    app_only: bool
    client_id: str = ""
    save_to_sent_items: bool = True
    ca_file: str = ""
    timeout_s: float = 30.0
    request_limit_bytes: int = REQUEST_LIMIT_BYTES
    upload_chunk_bytes: int = UPLOAD_CHUNK_BYTES

    @classmethod
    def from_profile(cls, profile: Profile) -> GraphSettings:
        return cls(graph_endpoint=graph_endpoint_for(profile.graph_endpoint, profile.authority),
                   mailbox=profile.from_address, app_only=profile.auth.is_app_only,
                   client_id=profile.client_id, save_to_sent_items=profile.save_to_sent_items,
                   ca_file=profile.ca_file, timeout_s=profile.timeout_s)

    @property
    def mailbox_url(self) -> str:
        if self.app_only:
            return f"{self.graph_endpoint}/v1.0/users/{quote(self.mailbox, safe='@')}"
        return f"{self.graph_endpoint}/v1.0/me"

    @property
    def host(self) -> str:
        return urlsplit(self.graph_endpoint).hostname or self.graph_endpoint


class MailboxRequestWindow:
    """A sliding window of request times for one mailbox; says how long to wait when it is full."""

    def __init__(self, limit: int = MAILBOX_REQUESTS_PER_WINDOW, window_s: float = MAILBOX_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def reserve(self, now: float) -> float:
        """Record one request at `now` and return 0, or return the seconds until one is allowed."""
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return self.window_s - (now - self._times[0])
        self._times.append(now)
        return 0.0


class GraphLimits:
    """Graph's limits shared by every transport of one running Mailwright: a request window per mailbox and
    a concurrency gate per app. The composition root (app_services.Services) owns one and passes it to each
    GraphTransport; a transport built without one has limits of its own."""

    def __init__(self) -> None:
        self._windows: dict[str, MailboxRequestWindow] = {}
        # asyncio primitives belong to one loop; tests and the app may run several loops over time.
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = \
            weakref.WeakKeyDictionary()

    def app_semaphore(self, app_key: str) -> asyncio.Semaphore:
        per_loop = self._semaphores.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(app_key, asyncio.Semaphore(MAX_CONCURRENT_PER_APP))

    def mailbox_window(self, mailbox: str) -> MailboxRequestWindow:
        return self._windows.setdefault(mailbox.lower(), MailboxRequestWindow())


class GraphTransport(OpensAsContext):
    """One HTTP/1.1 connection pool to Graph, reused for every message until `close()`."""

    def __init__(self, settings: GraphSettings, credential: Credential, limits: GraphLimits | None = None) -> None:
        self.settings = settings
        self.credential = credential
        self.limits = limits or GraphLimits()
        self._client: httpx.AsyncClient | None = None
        self._token = ""

    @classmethod
    def for_profile(cls, profile: Profile, credential: Credential, limits: GraphLimits | None = None) -> GraphTransport:
        return cls(GraphSettings.from_profile(profile), credential, limits)

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("not open")
        return self._client

    def _context(self) -> dict[str, object]:
        s = self.settings
        # App-only sends from the URL's mailbox, so that mailbox is who needs Send As on another From.
        signed_in = self.credential.username if self.credential and not s.app_only else s.mailbox
        return {"from_address": s.mailbox, "app_id": s.client_id or "<application id>", "username": signed_in}

    def _token_source(self) -> TokenCredential:
        if not isinstance(self.credential, TokenCredential):
            reason = "Microsoft Graph needs an OAuth sign-in (client secret, certificate or delegated consent)."
            raise TransportError(DiagnosisCode.INVALID_INPUT, Scope.ACCOUNT, detail=reason, facts={"reason": reason})
        return self.credential

    async def open(self) -> None:
        """Create the connection pool and fetch a token, so a broken credential fails here, not per message."""
        if self._client is not None:
            return
        credential = self._token_source()
        s = self.settings
        self._client = httpx.AsyncClient(
            verify=tls_context(s.ca_file), timeout=httpx.Timeout(s.timeout_s),
            limits=httpx.Limits(max_connections=MAX_CONCURRENT_PER_APP,
                                max_keepalive_connections=MAX_CONCURRENT_PER_APP),
            headers={"User-Agent": "Mailwright"}, follow_redirects=False,
        )
        try:
            self._token = await credential.token_source(False)
        except BaseException:
            await self.close()
            raise

    async def _request(self, method: str, url: str, *, content: bytes | None = None, json: Any = None,
                       content_type: str = "", authorized: bool = True,
                       headers_extra: dict[str, str] | None = None) -> httpx.Response:
        """One request under the per-app and per-mailbox limits; a 401 refreshes the token exactly once."""
        s = self.settings
        wait = self.limits.mailbox_window(s.mailbox).reserve(time.monotonic())
        if wait > 0:
            reason = "more than 10,000 Graph requests for this mailbox in 10 minutes"
            raise TransportError(DiagnosisCode.THROTTLED, Scope.THROTTLE, 429, wait, detail=reason,
                                 facts={"reply": reason})
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(headers_extra or {})
        for refreshed in (False, True):
            if authorized:
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                async with self.limits.app_semaphore(f"{s.graph_endpoint}|{s.client_id}"):
                    response = await self.client.request(method, url, content=content, json=json, headers=headers)
            except httpx.HTTPError as exc:
                raise error_for_exception(exc, s.host, **self._context()) from exc
            if response.status_code == 401 and authorized and not refreshed:
                self._token = await self._token_source().token_source(True)
                continue
            if response.status_code >= 400:
                raise error_for_reply(parse_error(response.status_code, response.headers, response.content),
                                      **self._context())
            return response
        raise AssertionError("unreachable")

    async def send(self, sender: str, recipients: Sequence[str], message: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult:
        """Send one message; Graph addresses it from its headers, so envelope-only recipients become Bcc."""
        await self.open()
        self._token = await self._token_source().token_source(False)
        raw = with_envelope_recipients(message, recipients)
        try:
            remainder, attachments = split_large_attachments(raw, self.settings.request_limit_bytes)
        except MessageTooLargeError as exc:
            raise TransportError(DiagnosisCode.MESSAGE_TOO_LARGE, Scope.MESSAGE, 413, stage=Stage.GRAPH, detail=exc,
                                 facts={"reply": str(exc)}) from exc
        if before_data is not None:
            await before_data()
        try:
            if attachments:
                response = await self._send_through_draft(remainder, attachments)
            else:
                response = await self._request("POST", f"{self.settings.mailbox_url}/sendMail",
                                               content=encode_body(raw), content_type="text/plain")
        except TransportError as exc:
            if exc.code != DiagnosisCode.SEND_AS_DENIED:
                raise
            # Send As is about this message's sender, not the profile's mailbox.
            raise TransportError(DiagnosisCode.SEND_AS_DENIED, exc.scope, exc.reply_code, stage=exc.stage,
                                 enhanced=exc.enhanced, text=exc.text, detail=exc.detail,
                                 facts={"reply": exc.detail, **self._context(), "from_address": sender}) from exc
        request_id = response.headers.get("request-id", "")
        reply = f"{ACCEPTED_REPLY} request-id {request_id}" if request_id else ACCEPTED_REPLY
        return SendResult(reply, tuple(RecipientResult(r, True, reply) for r in dict.fromkeys(recipients)))

    async def _send_through_draft(self, mime: bytes, attachments: list[Attachment]) -> httpx.Response:
        messages_url = f"{self.settings.mailbox_url}/messages"
        draft = await self._request("POST", messages_url, content=encode_body(mime), content_type="text/plain")
        draft_url = f"{messages_url}/{quote(str(_field(draft, 'id')), safe='')}"
        try:
            for attachment in attachments:
                if attachment.size >= UPLOAD_SESSION_MIN_BYTES:
                    await self._upload(draft_url, attachment)
                else:
                    await self._request("POST", f"{draft_url}/attachments", json={
                        "@odata.type": "#microsoft.graph.fileAttachment", **_attachment_item(attachment, size=False),
                        "contentBytes": base64.b64encode(attachment.content).decode("ascii")})
            return await self._request("POST", f"{draft_url}/send")
        except BaseException:
            await self._delete_quietly(draft_url)
            raise

    async def _upload(self, draft_url: str, attachment: Attachment) -> None:
        session = await self._request("POST", f"{draft_url}/attachments/createUploadSession",
                                      json={"AttachmentItem": {"attachmentType": "file",
                                                               **_attachment_item(attachment)}})
        upload_url = str(_field(session, "uploadUrl"))
        if urlsplit(upload_url).scheme != "https":
            reason = f"Graph returned a non-HTTPS upload URL ({urlsplit(upload_url).netloc})."
            raise TransportError(DiagnosisCode.UNKNOWN, Scope.MESSAGE, detail=reason, facts={"reason": reason})
        chunk = self.settings.upload_chunk_bytes
        total = attachment.size
        for start in range(0, total, chunk):
            body = attachment.content[start:start + chunk]
            end = start + len(body) - 1
            # The upload URL carries its own authorisation; an Authorization header makes Exchange refuse it.
            await self._request("PUT", upload_url, content=body, content_type="application/octet-stream",
                                authorized=False, headers_extra={"Content-Range": f"bytes {start}-{end}/{total}"})

    async def _delete_quietly(self, draft_url: str) -> None:
        try:
            await self._request("DELETE", draft_url)
        except (TransportError, RuntimeError):
            pass

    async def probe_mailbox(self) -> str:
        """Prove token, permission, access policy and mailbox without sending: see graph_check for why."""
        await self.open()
        body = {"message": {"subject": "Mailwright connection check (never sent: it has no recipients)",
                            "body": {"contentType": "Text", "content": "Connection check."}, "toRecipients": []},
                "saveToSentItems": False}
        try:
            await self._request("POST", f"{self.settings.mailbox_url}/sendMail", json=body)
        except TransportError as exc:
            if exc.reply_code == 400 and "ErrorInvalidRecipients" in exc.detail:
                return (f"{self.settings.mailbox_url.rsplit('/v1.0/', 1)[1]}/sendMail is allowed; Exchange refused "
                        "the recipient-less probe as expected, so nothing was sent")
            raise
        return "sendMail accepted a message without recipients (nothing can be delivered)"

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _attachment_item(attachment: Attachment, size: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"name": attachment.name, "contentType": attachment.content_type}
    if size:
        item["size"] = attachment.size
    if attachment.is_inline:
        item["isInline"] = True
        if attachment.content_id:
            item["contentId"] = attachment.content_id
    return item


def _field(response: httpx.Response, name: str) -> object:
    """A field of a Graph JSON answer; a malformed answer fails this message, not the sender."""
    try:
        value = response.json()[name]
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"Graph answered {response.status_code} without '{name}' ({response.text[:200]!r})."
        raise TransportError(DiagnosisCode.UNKNOWN, Scope.MESSAGE, response.status_code, detail=reason,
                             facts={"reason": reason}) from exc
    return value
