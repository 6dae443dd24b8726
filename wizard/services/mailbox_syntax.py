"""Which addresses Mailwright can send on unchanged: one rule for the relay's MAIL FROM / RCPT TO and for the
recipients every way in gives `wizard.submit`.

An RFC 5321 mailbox its own SMTP client can put on a command line as it is: printable ASCII, a dot-atom or
quoted local part of at most 64 characters, a host name or address literal as the domain, at most 254
characters in all (RFC 5321 4.1.2, 4.5.3.1). No null path.
"""

from __future__ import annotations

import ipaddress
import re

ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = rf"{ATOM}(?:\.{ATOM})*"
HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
# RFC 5321 4.1.2: Local-part = Dot-string / Quoted-string; qtextSMTP %d32-33 / %d35-91 / %d93-126,
# quoted-pairSMTP %d92 %d32-126. Domain = sub-domain *("." sub-domain) / address-literal.
_LOCAL_PART = re.compile(rf'(?:{DOT_ATOM}|"(?:[ !#-\[\]-~]|\\[ -~])*")')
_DOMAIN = re.compile(HOST)

LOCAL_PART_LIMIT = 64
DOMAIN_LIMIT = 255
ADDRESS_LIMIT = 254  # a path is at most 256 octets including the angle brackets


def is_sendable_address(address: str) -> bool:
    """Whether `address` is a mailbox Mailwright's own SMTP client can send on unchanged (no null path)."""
    local, at, domain = address.rpartition("@")
    if not at or not local or len(address) > ADDRESS_LIMIT or len(local) > LOCAL_PART_LIMIT:
        return False
    if not _LOCAL_PART.fullmatch(local) or len(domain) > DOMAIN_LIMIT:
        return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        try:
            if literal[:5].upper() == "IPV6:":
                ipaddress.IPv6Address(literal[5:])
            else:
                ipaddress.IPv4Address(literal)
        except ValueError:
            return False
        return True
    return _DOMAIN.fullmatch(domain) is not None and all(len(label) <= 63 for label in domain.split("."))
