"""The MIME a Graph request carries (pure functions).

Graph's MIME sendMail takes its recipients from the message's To/Cc/Bcc headers, not from an
envelope: an SMTP envelope recipient that appears in no header (a Bcc the application dropped from the
headers, as SMTP clients do) would silently not receive the mail. `with_envelope_recipients` adds
those as a Bcc header, which Exchange removes on delivery.

Messages over Graph's ~4 MB request limit go through a draft: `split_large_attachments` takes the
biggest attachments out of the MIME (largest first, only as many as needed) so the remainder fits
one request; they are then attached separately.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses

_HEADER_END = (b"\r\n\r\n", b"\n\n")


def _header_block(raw: bytes) -> tuple[bytes, str]:
    """The header block of a raw message (without the blank line) and the line ending it uses."""
    ends = [(raw.find(marker), marker) for marker in _HEADER_END if raw.find(marker) != -1]
    if not ends:
        return raw, "\r\n" if b"\r\n" in raw else "\n"
    index, marker = min(ends)
    return raw[:index], "\r\n" if marker == b"\r\n\r\n" else "\n"


def header_recipients(raw: bytes) -> set[str]:
    """Lower-cased addresses in the To, Cc and Bcc headers."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(_header_block(raw)[0] + b"\n\n")
    values = [str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
    return {address.lower() for _, address in getaddresses(values) if address}


def with_envelope_recipients(raw: bytes, recipients: Sequence[str]) -> bytes:
    """`raw`, plus a Bcc header naming the envelope recipients no To/Cc/Bcc header mentions."""
    present = header_recipients(raw)
    missing: dict[str, str] = {}
    for address in recipients:
        if address.lower() not in present:
            missing.setdefault(address.lower(), address)
    if not missing:
        return raw
    newline = _header_block(raw)[1]
    # Prepending keeps every existing byte as the application built it (RFC 5322 allows any header order).
    return f"Bcc: {', '.join(missing.values())}{newline}".encode("ascii", "strict") + raw


def encode_body(raw: bytes) -> bytes:
    """The request body of a MIME sendMail / draft: base64 of the RFC 5322 bytes (sent as text/plain)."""
    return base64.b64encode(raw)


def encoded_size(raw_size: int) -> int:
    return 4 * ((raw_size + 2) // 3)


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: bytes
    is_inline: bool = False
    content_id: str = ""

    @property
    def size(self) -> int:
        return len(self.content)


class MessageTooLargeError(ValueError):
    """The message stays over the request limit even without its attachments."""


def _attachment_parts(message: Message) -> list[tuple[Message, Message]]:
    """(parent, part) for every leaf part that is a file rather than the message's text."""
    found: list[tuple[Message, Message]] = []

    def walk(parent: Message) -> None:
        payload = parent.get_payload()
        if not isinstance(payload, list):
            return
        for part in payload:
            if not isinstance(part, Message):
                continue
            if part.is_multipart():
                walk(part)
                continue
            disposition = (part.get_content_disposition() or "").lower()
            if disposition == "attachment" or part.get_filename() or (
                    disposition == "inline" and part.get_content_maintype() not in {"text", "multipart"}):
                found.append((parent, part))

    walk(message)
    return found


def _as_attachment(part: Message) -> Attachment:
    content = part.get_payload(decode=True)
    content_id = str(part.get("Content-ID", "")).strip().strip("<>")
    return Attachment(
        name=part.get_filename() or "attachment",
        content_type=part.get_content_type(),
        content=content if isinstance(content, bytes) else b"",
        is_inline=(part.get_content_disposition() or "") == "inline" or bool(content_id),
        content_id=content_id,
    )


def split_large_attachments(raw: bytes, limit: int) -> tuple[bytes, list[Attachment]]:
    """(MIME without the biggest attachments, those attachments) so that base64(MIME) <= `limit`."""
    if encoded_size(len(raw)) <= limit:
        return raw, []
    message = email.parser.BytesParser(policy=email.policy.SMTP).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    parts = sorted(_attachment_parts(message), key=lambda pp: len(pp[1].as_bytes()), reverse=True)
    removed: list[Attachment] = []
    remainder = raw
    for parent, part in parts:
        removed.append(_as_attachment(part))
        payload = parent.get_payload()
        assert isinstance(payload, list)
        payload.remove(part)
        remainder = message.as_bytes(policy=email.policy.SMTP)
        if encoded_size(len(remainder)) <= limit:
            return remainder, removed
    raise MessageTooLargeError(
        f"The message is {len(raw) // 1024} KiB, and even without its attachments it is over the "
        f"{limit // (1024 * 1024)} MB Graph request limit.")
