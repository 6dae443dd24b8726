"""Page ids, registered with `QWizard.setPage`; the names are the `mailwright gui --page` values."""

from __future__ import annotations

from enum import IntEnum


class PageId(IntEnum):
    WELCOME = 0
    SENDER = 1
    PROVIDER = 2
    SMTP = 3
    M365_AUTH = 4
    AZURE_REGISTRATION = 5
    GMAIL_AUTH = 6
    GRAPH_PERMISSIONS = 7
    CHECK = 8
    SENDER_SETTINGS = 9
    DELIVERY = 10
    DNS = 11
    TEST_MAIL = 12
    SUMMARY = 13
    M365_SETUP = 14

    @property
    def cli_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_cli(cls, value: str) -> PageId:
        """`smtp`, `SMTP`, `m365-auth` or `3` -> the page; ValueError naming the choices otherwise."""
        text = value.strip()
        if text.isdigit() and int(text) in {int(p) for p in cls}:
            return cls(int(text))
        try:
            return cls[text.upper().replace("-", "_")]
        except KeyError:
            choices = ", ".join(p.cli_name for p in cls)
            raise ValueError(f"unknown page '{value}' (choose from {choices})") from None
