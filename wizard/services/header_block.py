"""The header block of a raw RFC 5322 message, edited without touching the body's bytes.

Submission reads and rewrites a few header fields of every message (From, Reply-To, Date, Message-ID, Bcc).
Parsing the whole message with the email package cost more than the outbox commit, and re-serialising it
would change the application's body bytes; so the header block is split into fields here, the fields are
edited, and the block is joined back in front of the untouched body.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from typing import NoReturn

MAX_LINE_OCTETS = 998  # RFC 5322 2.1.1: a line MUST be no more than 998 characters, excluding the CRLF

_FIELD_NAME = re.compile(rb"^[!-9;-~]+:")  # printable US-ASCII except colon, then the colon (RFC 5322 3.6.8)
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\r\n\x00]")
# The address forms applications write: `a@b.c` and `Some Name <a@b.c>` (no quotes, comments, groups or
# encoded words). They are read with a pattern; anything else goes through the email package's parser, which
# cost about 0.15 ms per header and made these rules the relay's biggest cost after the commit.
_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
_PLAIN_ADDRESS = re.compile(rf"[ \t]*(?:({_ADDR})|([A-Za-z0-9 \t!#$%&'*+/=?^_`{{|}}~.-]*?)[ \t]*<({_ADDR})>)[ \t]*")


class HeaderError(ValueError):
    """The header block breaks a rule that would let a value start a new field or a receiver reject it."""


@dataclass
class HeaderField:
    name: str  # as written, e.g. "Message-ID"
    lines: list[bytes]  # the field's physical lines without line endings; continuation lines start with WSP

    @property
    def value(self) -> str:
        """The unfolded value after the colon, as text (8-bit bytes kept as surrogates)."""
        joined = b"\r\n".join(self.lines).decode("utf-8", "surrogateescape")
        return _UNFOLD.sub("", joined).partition(":")[2].strip()


class HeaderBlock:
    """The fields of one message in their order, and the body bytes after the blank line."""

    def __init__(self, fields: list[HeaderField], body: bytes, newline: bytes) -> None:
        self.fields = fields
        self.body = body
        self.newline = newline

    @classmethod
    def parse(cls, raw: bytes) -> HeaderBlock:
        """Split `raw` into fields and body; `HeaderError` for a line that is neither a field nor a continuation,
        a bare CR inside a header line, or a header line longer than 998 octets."""
        first_end = raw.find(b"\n")
        newline = b"\r\n" if first_end > 0 and raw[first_end - 1:first_end] == b"\r" else b"\n"
        fields: list[HeaderField] = []
        position = 0
        while position < len(raw):
            end = raw.find(b"\n", position)
            line_end = len(raw) if end < 0 else end + 1
            line = raw[position:line_end].rstrip(b"\n")
            line = line[:-1] if line.endswith(b"\r") else line
            position = line_end
            if not line:  # the blank line: the body follows
                return cls(fields, raw[position:], newline)
            if len(line) > MAX_LINE_OCTETS or b"\r" in line or b"\x00" in line:
                cls._refuse(line, sum(len(f.lines) for f in fields) + 1)
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1].lines.append(line)
            elif _FIELD_NAME.match(line):
                fields.append(HeaderField(line.partition(b":")[0].decode("ascii"), [line]))
            else:
                raise HeaderError(f"Header line {sum(len(f.lines) for f in fields) + 1} is not a header field "
                                  "(Name: value); the message must start with its header fields, then a blank "
                                  "line, then the body.")
        return cls(fields, b"", newline)

    @staticmethod
    def _refuse(line: bytes, number: int) -> NoReturn:
        if len(line) > MAX_LINE_OCTETS:
                raise HeaderError(f"Header line {number} is {len(line)} characters long; at most "
                                  f"{MAX_LINE_OCTETS} are allowed (RFC 5322).")
        raise HeaderError(f"Header line {number} contains a carriage return or NUL character: a header "
                          "value must not contain line breaks.")

    def to_bytes(self) -> bytes:
        lines = [line for f in self.fields for line in f.lines]
        return self.newline.join([*lines, b""]) + self.newline + self.body

    def get_all(self, name: str) -> list[HeaderField]:
        wanted = name.lower()
        return [f for f in self.fields if f.name.lower() == wanted]

    def first(self, name: str) -> HeaderField | None:
        found = self.get_all(name)
        return found[0] if found else None

    def remove(self, name: str) -> None:
        wanted = name.lower()
        self.fields = [f for f in self.fields if f.name.lower() != wanted]

    def add(self, name: str, value: str) -> None:
        """Append a field (after the existing ones); `value` must already be a valid, unfolded header value."""
        self.fields.append(_field(name, value))

    def replace(self, name: str, value: str) -> None:
        """Replace the first field of that name in place (appending when there is none); drop further ones."""
        replacement = _field(name, value)
        wanted, done, kept = name.lower(), False, []
        for f in self.fields:
            if f.name.lower() != wanted:
                kept.append(f)
            elif not done:
                kept.append(replacement)
                done = True
        if not done:
            kept.append(replacement)
        self.fields = kept

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, address) of every address in every field of that name."""
        found: list[tuple[str, str]] = []
        for value in (f.value for f in self.get_all(name)):
            plain = _PLAIN_ADDRESS.fullmatch(value)
            if plain is not None:
                found.append(("", plain.group(1)) if plain.group(1) else (" ".join(plain.group(2).split()),
                                                                           plain.group(3)))
            else:
                found.extend((n, a) for n, a in email.utils.getaddresses([value]) if n or a)
        return found


def _field(name: str, value: str) -> HeaderField:
    if _CONTROL.search(value):
        raise HeaderError(f"{name} must be a single line: line breaks are not allowed in a header value.")
    line = f"{name}: {value}".encode("utf-8", "surrogateescape")
    if len(line) > MAX_LINE_OCTETS:
        raise HeaderError(f"The {name} header would be longer than {MAX_LINE_OCTETS} characters.")
    return HeaderField(name, [line])


def reject_control_characters(name: str, value: str) -> None:
    """A header value of a message object must not carry CR/LF except as folding (CRLF then a space or tab)."""
    if _CONTROL.search(_UNFOLD.sub("", value)):
        raise HeaderError(f"The {name} header contains a line break: a header value must be a single line.")
