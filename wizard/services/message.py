"""Building messages: the test mail, and the checks every outgoing message passes.

Header values are validated for CR/LF injection before they reach `email.message`; the
Message-ID is set once here and never changes across retries.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path

from wizard import __version__
from wizard.services.validation import (
    InvalidInputError,
    reject_header_injection,
    validate_address,
    validate_display_name,
)

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class TestMail:
    from_address: str
    to: Sequence[str]
    cc: Sequence[str] = ()
    subject: str = "Mailwright test message"
    body: str = ""
    display_name: str = ""
    attachments: Sequence[Path] = field(default_factory=tuple)
    html: bool = True


def default_test_body(profile_name: str, from_address: str) -> str:
    sent = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"This is a test message sent by Mailwright {__version__} through the profile '{profile_name}' "
            f"as {from_address}, at {sent}.\n\nIf you can read this, the account works: your application's mail "
            "can be delivered through it.\n")


def sender_header(address: str, display_name: str = "") -> str:
    validate_display_name(display_name)
    local, _, domain = validate_address(address, "from address").rpartition("@")
    return str(Address(display_name=display_name, username=local, domain=domain))


def build_test_message(mail: TestMail) -> EmailMessage:
    """A multipart/alternative (plain + HTML) message with optional attachments; raises InvalidInputError."""
    to = [validate_address(a, "to") for a in mail.to]
    if not to:
        raise InvalidInputError("to", "Enter at least one recipient.")
    cc = [validate_address(a, "cc") for a in mail.cc]
    subject = reject_header_injection("subject", mail.subject)
    message = EmailMessage()
    message["From"] = sender_header(mail.from_address, mail.display_name)
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=mail.from_address.rpartition("@")[2] or None)
    message["X-Mailer"] = f"Mailwright {__version__}"
    message.set_content(mail.body)
    if mail.html:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in mail.body.split("\n\n") if p.strip())
        message.add_alternative(f"<html><body style=\"font-family: sans-serif\">{paragraphs}"
                                "<p style=\"color:#666\">Sent by Mailwright.</p></body></html>", subtype="html")
    for path in mail.attachments:
        if not path.is_file():
            raise InvalidInputError("attachment", f"The attachment {path} does not exist.")
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise InvalidInputError("attachment", f"{path.name} is larger than 25 MB; most servers reject that.")
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def envelope_recipients(message: EmailMessage) -> list[str]:
    """All To, Cc and Bcc addresses of a message (the SMTP RCPT TO list)."""
    addresses: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        for value in message.get_all(header, []):
            for group in getattr(value, "addresses", ()):
                addresses.append(group.addr_spec)
    return list(dict.fromkeys(addresses))


def queue_id(reply: str) -> str:
    """The server's queue id from a DATA reply ('250 2.0.0 Ok: queued as 4F2...' -> '4F2...'), or ''."""
    lowered = reply.lower()
    for marker in ("queued as ", "queued as: ", " id=", "<"):
        if marker in lowered:
            tail = reply[lowered.index(marker) + len(marker):].strip()
            return tail.split()[0].strip("<>") if tail else ""
    return ""


def recipients_text(addresses: Sequence[str]) -> str:
    return ", ".join(addresses)
