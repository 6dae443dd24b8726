"""Provider limits per mailbox: Microsoft 365's 30 messages per rolling minute and 3 connections.

A fake clock that the injected sleep advances: the tests prove the schedule, never wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from wizard.services.config import Config
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import ProviderLimits, Sender
from wizard.services.sender_limits import mailbox_key
from wizard.services.transports.base import BeforeData, RecipientResult, SendResult, Transport


class FakeClock:
    def __init__(self) -> None:
        self.now = 3_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class RecordingTransport:
    """Accepts everything and records when (fake clock) each message went out and how many are open."""

    open_now = 0
    most_open = 0

    def __init__(self, clock: FakeClock, sent_at: list[float]) -> None:
        self.clock = clock
        self.sent_at = sent_at
        self.opened = False

    async def open(self) -> None:
        if not self.opened:
            self.opened = True
            RecordingTransport.open_now += 1
            RecordingTransport.most_open = max(RecordingTransport.most_open, RecordingTransport.open_now)

    async def send(self, sender: str, recipients: Sequence[str], message: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult:
        await self.open()
        await asyncio.sleep(0)  # a network round trip: other profiles run meanwhile
        if before_data is not None:
            await before_data()
        self.sent_at.append(self.clock())
        return SendResult("250 ok", tuple(RecipientResult(r, True, "250 ok") for r in recipients))

    async def close(self) -> None:
        if self.opened:
            self.opened = False
            RecordingTransport.open_now -= 1

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


def _m365(name: str) -> Profile:
    return Profile(name=name, provider=ProviderKind.M365_SMTP, from_address="app@contoso.example",
                   host="smtp.office365.com", security=Security.STARTTLS)


def _enqueue(outbox: Outbox, profile: str, count: int) -> list[int]:
    ids = []
    for number in range(count):
        message = EmailMessage()
        message["From"] = "app@contoso.example"
        message["To"] = f"r{number}@example.net"
        message.set_content("x")
        ids.append(outbox.enqueue(message, profile=profile).id)
    return ids


def _sender(outbox: Outbox, clock: FakeClock, profiles: list[Profile], sent_at: list[float],
            limits: dict[str, ProviderLimits] | None = None) -> Sender:
    config = Config(profiles={p.name: p for p in profiles}, default_profile=profiles[0].name)

    async def factory(profile: Profile) -> Transport:
        return RecordingTransport(clock, sent_at)

    return Sender(outbox, lambda: config, factory, clock=clock, sleep=clock.sleep, limits=limits)


@pytest.mark.asyncio
async def test_microsoft_365_sends_at_most_30_messages_in_any_rolling_minute(data_home: Path) -> None:
    clock = FakeClock()
    outbox = Outbox(clock=clock)
    ids = _enqueue(outbox, "m365", 70)
    sent_at: list[float] = []
    sender = _sender(outbox, clock, [_m365("m365")], sent_at)
    assert await sender.drain() == 70
    assert {outbox.get(i).state for i in ids} == {MessageState.SENT}
    assert max(sum(1 for t in sent_at if start <= t < start + 60) for start in sent_at) == 30
    assert sent_at[30] - sent_at[0] >= 60 and sent_at[60] - sent_at[30] >= 60


@pytest.mark.asyncio
async def test_profiles_sharing_a_mailbox_share_its_connection_limit(data_home: Path) -> None:
    clock = FakeClock()
    outbox = Outbox(clock=clock)
    profiles = [_m365(f"p{n}") for n in range(5)]
    assert len({mailbox_key(p) for p in profiles}) == 1
    ids = [i for p in profiles for i in _enqueue(outbox, p.name, 3)]
    sent_at: list[float] = []
    RecordingTransport.open_now = RecordingTransport.most_open = 0
    sender = _sender(outbox, clock, profiles, sent_at,
                     limits={ProviderKind.M365_SMTP.value: ProviderLimits(max_connections=2)})
    assert await sender.drain() == 15
    assert {outbox.get(i).state for i in ids} == {MessageState.SENT}
    assert RecordingTransport.most_open == 2
    assert RecordingTransport.open_now == 0


def test_the_default_microsoft_365_limits_are_three_connections_and_thirty_per_minute() -> None:
    from wizard.services.sender import PROVIDER_LIMITS

    assert PROVIDER_LIMITS[ProviderKind.M365_SMTP] == ProviderLimits(max_connections=3, messages_per_minute=30)
