"""Page ids, registered with `QWizard.setPage`; the names are the `mailwright gui --page` values."""

from __future__ import annotations

from enum import IntEnum


class PageId(IntEnum):
    WELCOME = 0
    PROVIDER = 1
    SMTP = 2
    CHECK = 3
    SUMMARY = 4

    @property
    def cli_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_cli(cls, value: str) -> PageId:
        """`smtp`, `SMTP` or `2` -> PageId.SMTP; ValueError naming the choices otherwise."""
        text = value.strip()
        if text.isdigit() and int(text) in {int(p) for p in cls}:
            return cls(int(text))
        try:
            return cls[text.upper()]
        except KeyError:
            choices = ", ".join(p.cli_name for p in cls)
            raise ValueError(f"unknown page '{value}' (choose from {choices})") from None
