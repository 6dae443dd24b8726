"""Relay users the way MailUp SMTP+ has them: one per application or device that submits mail.

Each has an *active* switch, a default priority (1-5), a note, its own authorised domains and senders with
block/alert (checked in addition to the profile's policy: both must allow), the profile its mail goes through
("" = routing as for everyone), and when it was created. Passwords are only in the keyring (secrets.py); a reset
generates a strong one that is shown once. In config.toml the names stay in `[relay] users` (what the relay
reads to know who may sign in) and the attributes live in `[relay_users.NAME]`.
"""

from __future__ import annotations

import secrets as std_secrets
from dataclasses import dataclass, fields, replace
from typing import Any

from wizard.services.policy import UNAUTHORIZED_ACTIONS, normalise_authorized_domain, normalise_authorized_sender
from wizard.services.validation import InvalidInputError

NOTE_LIMIT = 500
GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits


@dataclass(frozen=True)
class RelayUser:
    name: str
    active: bool = True
    priority: int = 3
    note: str = ""
    authorized_domains: tuple[str, ...] = ()
    authorized_senders: tuple[str, ...] = ()
    unauthorized_action: str = "block"
    profile: str = ""  # the profile this user's mail goes through; "" = the usual routing
    created_at: float = 0.0
    # When the password last changed (never the password): a running relay reloads passwords when it moves.
    password_set_at: float = 0.0

    def validated(self) -> RelayUser:
        """The same user with normalised values, or `InvalidInputError` naming the field."""
        if not 1 <= self.priority <= 5:
            raise InvalidInputError("priority", "Priority is 1 (very high) to 5 (very low).")
        if self.unauthorized_action not in UNAUTHORIZED_ACTIONS:
            raise InvalidInputError("unauthorized", "For unauthorised senders choose block or alert.")
        note = self.note.strip()
        if len(note) > NOTE_LIMIT or any(ord(c) < 32 and c not in "\t" for c in note):
            raise InvalidInputError("note", f"A note is one line of at most {NOTE_LIMIT} characters.")
        return replace(self, note=note,
                       authorized_domains=tuple(dict.fromkeys(normalise_authorized_domain(d)
                                                              for d in self.authorized_domains)),
                       authorized_senders=tuple(dict.fromkeys(normalise_authorized_sender(s)
                                                              for s in self.authorized_senders)))

    def to_toml(self) -> dict[str, Any]:
        defaults = RelayUser(self.name)
        return {f.name: list(value) if isinstance(value, tuple) else value
                for f in fields(self) if f.name != "name"
                and (value := getattr(self, f.name)) != getattr(defaults, f.name)}

    @classmethod
    def from_toml(cls, name: str, data: Any) -> RelayUser:
        """A `[relay_users.NAME]` table; the error names the key (`relay_users.NAME.KEY`)."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"relay_users.{name}", f"relay_users.{name} must be a table.")
        kinds: dict[str, type | tuple[type, ...]] = {
            "active": bool, "priority": int, "note": str, "authorized_domains": list, "authorized_senders": list,
            "unauthorized_action": str, "profile": str, "created_at": (int, float),
            "password_set_at": (int, float)}
        values: dict[str, Any] = {}
        for key, kind in kinds.items():
            if key not in data:
                continue
            value = data[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise InvalidInputError(f"relay_users.{name}.{key}",
                                        f"relay_users.{name}.{key} has the wrong type ({type(value).__name__}).")
            values[key] = tuple(str(item) for item in value) if isinstance(value, list) else value
        return cls(name, **values)


def generate_password() -> str:
    """A strong relay password (what `reset-password` shows once)."""
    return std_secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
