"""Counted nouns in plain English: "1 day", "9 days", "1 message", never "message(s)"."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str = "") -> str:
    """`count` and the noun in the form that number takes: plural("day", 9) -> "9 days"."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"
