"""The DKIM selectors a real message was signed with: the `s=` and `d=` tags of its DKIM-Signature headers.

Selectors cannot be listed through DNS. A message the sender's service actually sent (the test mail
as received, or any sample with its headers) names the selector in use, so the check probes that one
instead of guessing. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

_SELECTOR = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62})$")


def is_selector(name: str) -> bool:
    """A selector as a DKIM-Signature's s= tag may carry it (no empty label: "a..b" is no DNS name)."""
    return bool(_SELECTOR.match(name)) and ".." not in name and not name.endswith(".")


_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*$")


@dataclass(frozen=True)
class Signature:
    domain: str  # d=
    selector: str  # s=


@dataclass(frozen=True)
class MessageSignatures:
    """What the message says about `domain`: its selectors, and the other domains that signed it."""

    domain: str
    selectors: tuple[str, ...]
    other_domains: tuple[str, ...]

    @property
    def signed_for_domain(self) -> bool:
        return bool(self.selectors)


def _tags(value: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in "".join(value.split()).split(";"):  # folding whitespace is not significant in tag values
        name, sep, tag_value = part.partition("=")
        if sep and name:
            tags.setdefault(name.lower(), tag_value)
    return tags


def signatures_in(raw: bytes) -> tuple[Signature, ...]:
    """Every syntactically usable DKIM-Signature (d= and s= present and valid), in header order."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    found: list[Signature] = []
    for value in headers.get_all("DKIM-Signature", []):
        tags = _tags(str(value))
        domain = tags.get("d", "").lower().rstrip(".")
        selector = tags.get("s", "").lower()
        if _DOMAIN.match(domain) and _SELECTOR.match(selector):
            found.append(Signature(domain, selector))
    return tuple(dict.fromkeys(found))


def read_signatures(raw: bytes, domain: str) -> MessageSignatures:
    """The selectors that sign for `domain` itself (the ones DMARC can align with), and who else signed."""
    domain = domain.lower().rstrip(".")
    signatures = signatures_in(raw)
    own = tuple(dict.fromkeys(s.selector for s in signatures if s.domain == domain))
    others = tuple(dict.fromkeys(s.domain for s in signatures if s.domain != domain))
    return MessageSignatures(domain, own, others)
