"""A message's own priority, from the headers mail clients and libraries set, on Mailwright's 1-5 scale.

1 is the most urgent, 3 normal, 5 the least (X-Priority's own scale, and MailUp SMTP+'s). Sources:
`X-Priority: 1 (Highest)` … `5 (Lowest)` (Outlook, PHPMailer, most libraries); `Importance: high|normal|low`
(RFC 2156 / RFC 4021); `Priority: urgent|normal|non-urgent` (RFC 2156 / RFC 4021); `X-MSMail-Priority:
High|Normal|Low` (Outlook Express). When several are present the most urgent wins: a client that flags a
message as important sets one of them, and any of them is a request to hurry. Unknown values are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORDS = {
    "importance": {"high": 1, "normal": 3, "low": 5},
    "priority": {"urgent": 1, "normal": 3, "non-urgent": 5},
    "x-msmail-priority": {"high": 1, "normal": 3, "low": 5},
}
_LEADING_DIGIT = re.compile(r"\s*([1-5])(?!\d)")


def priority_from_headers(headers: Iterable[tuple[str, str]]) -> int | None:
    """The most urgent priority any of these (name, value) headers asks for, or None when none says."""
    found: list[int] = []
    for name, value in headers:
        key = name.strip().lower()
        if key == "x-priority":
            match = _LEADING_DIGIT.match(value)
            if match:
                found.append(int(match.group(1)))
        elif key in _WORDS:
            word = value.strip().split(None, 1)[0].lower() if value.strip() else ""
            if word in _WORDS[key]:
                found.append(_WORDS[key][word])
    return min(found) if found else None
