"""The typed results of the OAuth service (tokens, sign-in, status, logout). No I/O here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: float  # epoch seconds
    account: str  # the signed-in user (delegated) or the profile's login name (app-only)
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"AccessToken(account={self.account!r}, expires_at={self.expires_at:.0f}, token=<hidden>)"


@dataclass(frozen=True)
class DeviceCode:
    """What the admin types on another device: show `user_code` large, `verification_uri` with a copy button."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float


@dataclass(frozen=True)
class SignIn:
    account: str
    scopes: tuple[str, ...]
    expires_at: float
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_token(cls, token: AccessToken, warnings: tuple[str, ...] = ()) -> SignIn:
        return cls(token.account, token.scopes, token.expires_at, warnings)

    @property
    def message(self) -> str:
        return f"Access granted for {self.account}"


@dataclass(frozen=True)
class TokenStatus:
    signed_in: bool
    account: str = ""
    scopes: tuple[str, ...] = ()
    obtained_at: float | None = None
    expires_at: float | None = None
    has_refresh_token: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def token_age_s(self, now: float | None = None) -> float | None:
        return None if self.obtained_at is None else (now or time.time()) - self.obtained_at

    def to_json(self) -> dict[str, Any]:
        return {"signed_in": self.signed_in, "account": self.account, "scopes": list(self.scopes),
                "obtained_at": self.obtained_at, "expires_at": self.expires_at,
                "token_age_s": self.token_age_s(), "has_refresh_token": self.has_refresh_token,
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class LogoutResult:
    removed: bool
    revoke_instructions: str
