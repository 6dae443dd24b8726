"""aiosmtpd's SMTP protocol with a fast path for the plain addresses applications send.

aiosmtpd 1.4 parses every MAIL FROM / RCPT TO argument with the email package's RFC 5322 header
parser and defines a typing Protocol class inside `_getaddr` on each call; together that was about a
third of the relay's CPU per message. A plain `<local@domain>` (dot-atom local part, hostname domain)
is matched with a pattern instead; anything else (quoted local parts, address literals, source
routes, malformed input) goes through aiosmtpd's own parser, so what is accepted or refused is
unchanged.
"""

from __future__ import annotations

import re

from aiosmtpd.smtp import SMTP

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ANGLE_ADDR = re.compile(
    rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    rf"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>[ \t]*(\S.*)?$")


class RelaySMTP(SMTP):
    """`aiosmtpd.smtp.SMTP` whose address parsing skips the header parser for plain addresses."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_ANGLE_ADDR.match(arg)
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain.group(1), plain.group(2) or ""
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest
