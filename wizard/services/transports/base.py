"""The `Transport` protocol every way of sending implements, and its typed errors.

The outbox and sender only know this module: a transport opens once, sends many messages over
the same authenticated session, and raises `TransportError` (services/errors.py) whose `scope` says what
the failure affects (a recipient, this message, the account) or that it is worth trying again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from wizard.services.errors import Scope, Stage, TransportError

__all__ = ["BeforeData", "Credential", "OpensAsContext", "PasswordCredential", "RecipientResult", "Scope",
           "SendResult", "Stage", "TokenCredential", "Transport", "TransportError"]


@dataclass(frozen=True)
class RecipientResult:
    address: str
    accepted: bool
    reply: str


@dataclass(frozen=True)
class SendResult:
    """What the provider said: accepted recipients, refused ones with their replies, and the final reply."""

    reply: str
    recipients: tuple[RecipientResult, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> list[str]:
        return [r.address for r in self.recipients if r.accepted]

    @property
    def refused(self) -> dict[str, str]:
        return {r.address: r.reply for r in self.recipients if not r.accepted}


# An OAuth access token source: `force_refresh=True` after the server rejected the current token.
TokenSource = Callable[[bool], Awaitable[str]]


@dataclass(frozen=True)
class PasswordCredential:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"PasswordCredential(username={self.username!r}, password=<hidden>)"


@dataclass(frozen=True)
class TokenCredential:
    username: str
    token_source: TokenSource


Credential = PasswordCredential | TokenCredential | None


# Awaited by a transport just before it hands over a message's content (SMTP DATA, Graph's POST): the sender
# writes the previous message's result meanwhile, so that write overlaps this message's MAIL and RCPT.
BeforeData = Callable[[], Awaitable[object]]


class Transport(Protocol):
    async def open(self) -> None: ...

    async def send(self, sender: str, recipients: Sequence[str], message: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...


class OpensAsContext:
    """`async with transport:` opens it and always closes it, for every transport."""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
