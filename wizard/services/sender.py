"""The background sender: drains the outbox over one reused transport session per profile.

Decisions come from `TransportError.kind` only, so SMTP, Graph and OAuth transports behave alike:
TRANSIENT is retried with exponential backoff and jitter until `max_retry_time_s` since the first
attempt, PERMANENT fails the message with its diagnosis, AUTH/CONFIG hold the whole profile
(mail is kept) and pause it until the admin resumes it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wizard.services import accounts
from wizard.services.config import Config, ConfigStore, DeliverySettings, Profile, ProviderKind
from wizard.services.diagnostics import Diagnosis
from wizard.services.outbox import Outbox, OutboxMessage
from wizard.services.transports.base import FailureKind, SendResult, Transport, TransportError

TransportFactory = Callable[[Profile], Awaitable[Transport]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ProviderLimits:
    max_connections: int | None = None
    messages_per_minute: int | None = None


# Microsoft 365 sending limits: 3 concurrent connections and 30 messages per minute per mailbox
# (Exchange Online limits, "Sending limits" table).
PROVIDER_LIMITS: dict[ProviderKind, ProviderLimits] = {
    ProviderKind.M365_SMTP: ProviderLimits(max_connections=3, messages_per_minute=30),
}


def backoff_delay(attempts: int, settings: DeliverySettings, jitter: float) -> float:
    """Exponential backoff capped at retry_backoff_max_s; `jitter` in [0, 1) spreads it over 50-100 %."""
    base = min(settings.retry_backoff_initial_s * 2 ** max(attempts - 1, 0), settings.retry_backoff_max_s)
    return float(base) * (0.5 + jitter / 2)


def send_gap_s(profile: Profile, settings: DeliverySettings) -> float:
    """The minimum time between two messages of one profile: the send interval or the provider's rate."""
    gap = settings.send_interval_ms / 1000
    limits = PROVIDER_LIMITS.get(profile.provider)
    if limits and limits.messages_per_minute:
        gap = max(gap, 60 / limits.messages_per_minute)
    return gap


class Sender:
    """Injectable transport factory, clock, sleep and jitter source so tests never wait."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config] | None = None,
                 transport_factory: TransportFactory = accounts.transport_for,
                 clock: Callable[[], float] = time.time, sleep: Sleep = asyncio.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.outbox = outbox
        self.load_config = load_config or (lambda: ConfigStore().load())
        self.transport_factory = transport_factory
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.paused: dict[str, Diagnosis] = {}

    # -- the admin's controls -----------------------------------------------------------------

    def resume(self, profile: str) -> int:
        """The account was fixed: un-pause the profile and release its held mail."""
        self.paused.pop(profile, None)
        return self.outbox.release(profile=profile)

    # -- draining -----------------------------------------------------------------------------

    async def drain(self) -> int:
        """Send everything due now, profiles in parallel (bounded by max_concurrent_connections)."""
        config = self.load_config()
        if not config.delivery.enabled:
            return 0
        gate = asyncio.Semaphore(config.delivery.max_concurrent_connections)

        async def one(profile: Profile) -> int:
            async with gate:
                return await self.drain_profile(profile, config.delivery)

        names = [name for name in config.profiles if name not in self.paused]
        counts = await asyncio.gather(*(one(config.profiles[name]) for name in names))
        return sum(counts)

    async def drain_profile(self, profile: Profile, settings: DeliverySettings) -> int:
        """Claim and send this profile's due messages over one transport session; returns how many were handled."""
        handled = 0
        transport: Transport | None = None
        gap = send_gap_s(profile, settings)
        try:
            while profile.name not in self.paused:
                message = await asyncio.to_thread(self.outbox.claim, profile.name)
                if message is None:
                    break
                if handled and gap:
                    await self.sleep(gap)
                handled += 1
                try:
                    if transport is None:
                        transport = await self.transport_factory(profile)
                    result = await transport.send(message.envelope_from, list(message.pending_recipients), message.raw)
                except TransportError as error:
                    await self._on_error(message, error, settings)
                    if error.kind in (FailureKind.AUTH, FailureKind.CONFIG):
                        self.paused[profile.name] = error.diagnosis
                    continue
                await self._on_result(message, result, settings)
        finally:
            if transport is not None:
                await transport.close()
        return handled

    async def _on_result(self, message: OutboxMessage, result: SendResult, settings: DeliverySettings) -> None:
        results = {r.address: r.reply for r in result.recipients} or dict.fromkeys(message.pending_recipients,
                                                                                    result.reply)
        later = [address for address, reply in result.refused.items() if reply.startswith("4")]
        if later:
            await self._retry_or_fail(message, result.reply, "throttled", settings, later, results)
        else:
            await asyncio.to_thread(self.outbox.mark_sent, message.id, result.reply, results)

    async def _on_error(self, message: OutboxMessage, error: TransportError, settings: DeliverySettings) -> None:
        reply = error.diagnosis.detail or error.diagnosis.title
        if error.kind is FailureKind.TRANSIENT:
            await self._retry_or_fail(message, reply, error.diagnosis.code, settings, None, None,
                                      error.retry_after_s)
        elif error.kind is FailureKind.PERMANENT:
            await asyncio.to_thread(self.outbox.mark_failed, message.id, reply, error.diagnosis.code)
        else:
            await asyncio.to_thread(self.outbox.hold_profile, message.profile, reply, error.diagnosis.code)

    async def _retry_or_fail(self, message: OutboxMessage, reply: str, code: str, settings: DeliverySettings,
                             pending: list[str] | None, results: dict[str, str] | None,
                             retry_after_s: float | None = None) -> None:
        delay = retry_after_s if retry_after_s is not None else backoff_delay(message.attempts, settings, self.jitter())
        first = message.first_attempt_at if message.first_attempt_at is not None else self.clock()
        if self.clock() + delay - first > settings.max_retry_time_s:
            await asyncio.to_thread(self.outbox.mark_failed, message.id, reply, code, results)
        else:
            await asyncio.to_thread(self.outbox.mark_retry, message.id, delay, reply, code, pending, results)

    async def run(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        """Drain, purge, wait for more; until `stop` is set. Per-profile pauses survive between rounds."""
        config = self.load_config()
        await asyncio.to_thread(self.outbox.recover_abandoned)
        if not config.delivery.send_pending_at_startup:
            await asyncio.to_thread(self.outbox.hold_queued)
        while not stop.is_set():
            await self.drain()
            await asyncio.to_thread(self.outbox.purge, self.load_config().delivery.retention_days)
            try:
                await asyncio.wait_for(stop.wait(), poll_s)
            except TimeoutError:
                pass
