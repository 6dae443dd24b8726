"""The background sender: drains the outbox over one reused transport session per profile.

Decisions come from `TransportError.scope` only (errors.failure_scope derives it from the stage, reply
code and enhanced status), so SMTP, Graph and OAuth transports behave alike: RETRY is retried with
exponential backoff and jitter until `max_retry_time_s` since the first attempt, THROTTLE too and the
account sends nothing more this round, MESSAGE fails the message with its diagnosis, RECIPIENT records
the refused recipients on the message (the others still get it), and ACCOUNT pauses the profile (recorded
in the outbox, so the pause survives a restart) until the admin releases it. Releasing never re-pauses a
profile because of one message: a message's own failure is never ACCOUNT. A profile's `fallback`
profiles are tried in order when it fails with anything but a permanent error; the outbox records
which profile delivered, and the log says so. Only when no profile of the route can deliver is the
mail held (auth/settings) or retried later (transient).

The running sender (`serve`, the app) keeps a profile's connection open for a moment after the queue
ran dry and reuses it for the next burst (idle_connections.py), for at most REUSE_TIME_LIMIT_S after it
was opened. When the server closes a connection that already carried mail or waited idle (a timeout, a
limit of messages per session), the message that found it closed goes out at once over a new connection:
that says nothing about the message or the server, so it is not a failed attempt.

Messages are claimed in batches and their results recorded in one transaction per batch: the
SQLite work per message is a fraction of the network work, so the sender runs at the speed of the
provider connection. A crash between sending and recording makes a message due again (a resend).

One sender per outbox: `run` (and the app's BackgroundDelivery, via `take_over`) first takes the
outbox's `SenderLock`; without it they do not send, and they never recover "abandoned" rows another
live sender has claimed. `drain` itself does not check the lock (tests and benchmarks call it directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from wizard.services import accounts, diagnostics
from wizard.services.config import Config, ConfigStore
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import DiagnosisCode, Scope, Stage, is_outbox_busy, storage_error
from wizard.services.idle_connections import IdleConnections
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox, OutboxMessage, Outcome, ProfilePause
from wizard.services.sender_boundary import OUTBOX, DeliveryProblems, StorageWait
from wizard.services.sender_limits import PROVIDER_LIMITS, MailboxLimiter, ProviderLimits, mailbox_key
from wizard.services.sender_lock import SenderBusyError, SenderLock
from wizard.services.settings import DeliverySettings
from wizard.services.transports.base import BeforeData, SendResult, Transport, TransportError

__all__ = ["PROVIDER_LIMITS", "ProviderLimits", "Sender", "SenderBusyError", "backoff_delay"]

log = logging.getLogger(__name__)

TransportFactory = Callable[[Profile], Awaitable[Transport]]
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

# Claimed together; each message is recorded as soon as its server answered, so a crash resends at most the
# message in flight on each open connection (not a whole batch).
BATCH_SIZE = 16
PURGE_EVERY_S = 3600.0
WAKE_GATHER_S = 0.01
# Postfix's smtp_connection_reuse_time_limit: an older connection is closed rather than kept for the next
# burst, so no session outlives server-side limits or the token it signed in with by much.
REUSE_TIME_LIMIT_S = 300.0
# Bounds for settings used in time arithmetic, so an absurd value (config.toml edited by hand, an old version
# without upper bounds) slows the sender down instead of crashing it with OverflowError.
MAX_SEND_INTERVAL_MS = 3_600_000
MAX_BACKOFF_S = 30 * 86400
MAX_RETENTION_DAYS = 36_500


def _waiter(task: asyncio.Task[None] | None) -> BeforeData | None:
    """Waits for a result being written without taking its outcome (the sender awaits the task itself)."""
    if task is None:
        return None
    pending = task

    async def wait() -> None:
        if not pending.done():  # usually written already, during MAIL and RCPT: then nothing to schedule
            await asyncio.wait({pending})
    return wait


def backoff_delay(attempts: int, settings: DeliverySettings, jitter: float) -> float:
    """Exponential backoff capped at retry_backoff_max_s; `jitter` in [0, 1) spreads it over 50-100 %."""
    doublings = min(max(attempts - 1, 0), 40)
    base = min(settings.retry_backoff_initial_s * 2 ** doublings, settings.retry_backoff_max_s, MAX_BACKOFF_S)
    return float(base) * (0.5 + jitter / 2)


@dataclass
class _Connection:
    profile: Profile
    limiter: MailboxLimiter
    transport: Transport | None = None
    kept: bool = False  # taken from the idle connections: the server may have closed it meanwhile
    carried: int = 0  # messages the current transport delivered
    opened_at: float = 0.0  # event-loop time the current transport was created


@dataclass
class _Round:
    """One drain of one profile: its route (itself, then its fallbacks) and the connections opened so far."""

    route: list[Profile]
    settings: DeliverySettings
    connections: dict[str, _Connection] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)  # connection failed this round: do not try it again now
    troubled: bool = False  # an unexpected error happened: the profile's problem stays shown


class Sender:
    """Injectable transport factory, clock, sleep, jitter and limits so tests never wait."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config] | None = None,
                 transport_factory: TransportFactory = accounts.transport_for,
                 clock: Callable[[], float] = time.time, sleep: Sleep = asyncio.sleep,
                 jitter: Callable[[], float] = random.random,
                 limits: dict[str, ProviderLimits] | None = None, lock: SenderLock | None = None,
                 keep_idle_s: float = 0.0, storage_wait_s: float = 300.0) -> None:
        self.outbox = outbox
        self.lock = lock or SenderLock.for_outbox(outbox.path)
        self.load_config = load_config or (lambda: ConfigStore().load())
        self.transport_factory = transport_factory
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter
        self.limits = {**{kind.value: value for kind, value in PROVIDER_LIMITS.items()}, **(limits or {})}
        self.limiters: dict[str, MailboxLimiter] = {}
        self._paused: dict[str, ProfilePause] = {}
        self._pauses_read = False
        self._wakeup: asyncio.Event | None = None
        self._last_purge: float | None = None
        # Off by default: `drain` alone closes what it opened. The running sender (serve, the app) keeps them.
        self._kept: IdleConnections[_Connection] = IdleConnections(keep_idle_s, self._close_connection)
        self.reuse_time_limit_s = REUSE_TIME_LIMIT_S
        self.problems = DeliveryProblems(clock)
        # Results the server already confirmed are written even if the outbox is locked or full for a while.
        self.storage = StorageWait(sleep, give_up_after_s=storage_wait_s,
                                   on_wait=lambda error: self.problems.report(OUTBOX, error))

    # -- the admin's controls -----------------------------------------------------------------

    @property
    def problem_diagnoses(self) -> dict[str, Diagnosis]:
        """What currently stops a profile (keyed by name) or the whole outbox (key ''): storage_full,
        outbox_busy, internal_error (naming the log file)... Paused profiles are in `paused`."""
        return self.problems.current

    @property
    def paused(self) -> dict[str, ProfilePause]:
        """Profiles paused because their account failed, with the reason (as of the last drain)."""
        return dict(self._paused)

    def resume(self, profile: str) -> int:
        """The account was fixed: un-pause the profile and release its held mail."""
        self._paused.pop(profile, None)
        released = self.outbox.release(profile=profile)
        self.wake()
        return released

    async def aresume(self, profile: str) -> int:
        """`resume` from the event loop: the release (slices of held rows) runs on the outbox's thread."""
        self._paused.pop(profile, None)
        released = await self.outbox.run_async(self.outbox.release, profile)
        self.wake()
        return released

    def wake(self) -> None:
        """New mail was queued (the relay calls this): drain now instead of at the next poll."""
        if self._wakeup is not None:
            self._wakeup.set()

    # -- draining -----------------------------------------------------------------------------

    async def drain(self) -> int:
        """Send everything due now, profiles in parallel (bounded by max_concurrent_connections)."""
        config = self.load_config()
        if not config.delivery.enabled:
            return 0
        if self._paused or not self._pauses_read:
            # Only a sender pauses a profile (one sender per outbox), but anyone may release one: re-read
            # while something is paused, and not at all on the common path.
            self._paused = await self.outbox.run_async(self.outbox.paused_profiles)
            self._pauses_read = True
        gate = asyncio.Semaphore(config.delivery.max_concurrent_connections)

        async def one(profile: Profile) -> int:
            """One profile's delivery inside its boundary: an unexpected error there is logged with its traceback
            and shown on this profile; the other profiles go on. Storage faults concern every profile."""
            async with gate:
                try:
                    return await self.drain_profile(profile, config.delivery, config)
                except Exception as exc:
                    if storage_error(exc) is not None:
                        raise
                    self.problems.report(profile.name, exc)
                    return 0

        results = await asyncio.gather(*(one(profile) for profile in config.profiles.values()),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def drain_profile(self, profile: Profile, settings: DeliverySettings, config: Config | None = None) -> int:
        """Claim and send this profile's due messages; returns how many were attempted."""
        profiles = config.profiles if config else {profile.name: profile}
        route = [profile, *(profiles[name] for name in profile.fallback if name in profiles and name != profile.name)]
        state = _Round(route, settings)
        gap = min(settings.send_interval_ms, MAX_SEND_INTERVAL_MS) / 1000
        handled = 0
        try:
            while self._usable(state):
                one_at_a_time = bool(gap) or any(self._limiter(p).rate_limited for p in route)
                limit = 1 if one_at_a_time else BATCH_SIZE
                lease_s = 300 + limit * profile.timeout_s * 2
                # A full disk fails the claim (no retry here): the round's boundary shows storage_full and the
                # next round claims again, so sending resumes by itself when space returns.
                batch = await self.outbox.aclaim_batch(profile.name, limit, lease_s)
                if not batch:
                    break
                tried = 0
                # The previous message's result, being written while this one does MAIL and RCPT; the transport
                # waits for it before DATA, so a crash resends at most the message in flight on the connection.
                recording: asyncio.Task[None] | None = None
                try:
                    for message in batch:
                        if not self._usable(state):
                            break
                        if tried and message.priority > 1 and self._more_urgent_due(profile.name, message.priority):
                            break  # MailUp SMTP+: urgent mail goes next; the rest of this batch is claimed again
                        if handled and gap:
                            await self.sleep(gap)
                        handled += 1
                        outcome = await self._deliver(message, state, _waiter(recording))
                        tried += 1
                        if recording is not None:
                            await recording
                        recording = asyncio.ensure_future(self._record(outcome))
                finally:
                    try:
                        if recording is not None:
                            await recording
                    finally:
                        await self._unclaim([m.id for m in batch[tried:]])
                if len(batch) < limit:
                    break  # the queue was empty behind this batch; newer mail comes with the next wake or poll
            if not self._usable(state):
                await self._hold_if_paused(state)
            if handled and not state.troubled:  # delivered again (a round with nothing due proves nothing)
                self.problems.clear(profile.name)
        finally:
            now = asyncio.get_running_loop().time()
            for name, connection in state.connections.items():
                reusable = (connection.transport is not None and name not in state.down and name not in self._paused
                            and now - connection.opened_at < self.reuse_time_limit_s)
                if not (reusable and self._kept.park(name, connection)):
                    await self._close_connection(connection)
        return handled

    async def _store(self, call: Callable[..., T], *args: object, what: str) -> T:
        """An outbox write that must not be lost: waited out while the outbox is locked or the disk is full."""
        return await self.storage.run(lambda: self.outbox.run_async(call, *args), what)

    async def _record(self, outcome: Outcome) -> None:
        """A result the server gave: waited out like `_store`, committed on the loop when the outbox allows it."""
        await self.storage.run(lambda: self.outbox.arecord([outcome]), "record a result")

    async def _unclaim(self, ids: list[int]) -> None:
        """Give back claimed messages that were not attempted; if even that fails, their lease brings them back."""
        if not ids:
            return
        try:
            await self._store(self.outbox.unclaim, ids, what="give back unsent messages")
        except Exception:
            log.warning("Could not give back %d claimed message(s); they are due again when their lease ends",
                        len(ids), exc_info=True)

    def _more_urgent_due(self, profile: str, priority: int) -> bool:
        """A read on the sender's loop (it never waits for a writer in WAL mode); if SQLite answers busy all the
        same, the order is only a hint: the batch goes on and the next claim takes the urgent mail first."""
        try:
            return self.outbox.more_urgent_due(profile, priority)
        except sqlite3.OperationalError as exc:
            if is_outbox_busy(exc):
                return False
            raise

    async def close_idle_connections(self) -> None:
        """Close the connections kept open between rounds (when the sender stops)."""
        await self._kept.close_all()

    @staticmethod
    async def _close_connection(connection: _Connection) -> None:
        try:
            if connection.transport is not None:
                with contextlib.suppress(Exception):
                    await connection.transport.close()
        finally:
            connection.limiter.give_slot()

    def _usable(self, state: _Round) -> bool:
        return any(p.name not in self._paused and p.name not in state.down for p in state.route)

    async def _hold_if_paused(self, state: _Round) -> None:
        """Hold the profile's mail only when every profile of its route is paused (down ones come back)."""
        profile = state.route[0]
        pause = self._paused.get(profile.name)
        if pause is not None and all(p.name in self._paused for p in state.route):
            await self._store(self.outbox.hold_profile, profile.name, pause.reply, pause.code, what="hold mail")

    def _limiter(self, profile: Profile) -> MailboxLimiter:
        key = mailbox_key(profile)
        if key not in self.limiters:
            limits = self.limits.get(profile.provider.value, ProviderLimits())
            self.limiters[key] = MailboxLimiter(limits, self.clock, self.sleep)
        return self.limiters[key]

    async def _connection(self, candidate: Profile, state: _Round) -> _Connection | None:
        connection = state.connections.get(candidate.name)
        if connection is None and (kept := self._kept.take(candidate.name)) is not None:
            if kept.profile == candidate:
                kept.kept = True
                connection = state.connections[candidate.name] = kept
            else:  # the profile was edited since: its old connection may go to another server or account
                await self._close_connection(kept)
        if connection is None:
            limiter = self._limiter(candidate)
            if limiter.full and (idle := self._kept.take_matching(lambda c: c.limiter is limiter)) is not None:
                await self._close_connection(idle)  # another profile's idle connection to the same mailbox
            # The primary waits for a free slot; a fallback never does (two profiles falling back to each
            # other must not deadlock on each other's connection slots).
            if not await limiter.take_slot(wait=candidate is state.route[0]):
                return None
            connection = state.connections[candidate.name] = _Connection(candidate, limiter)
        return connection

    async def _deliver(self, message: OutboxMessage, state: _Round, before_data: BeforeData | None) -> Outcome:
        errors: list[TransportError] = []
        for candidate in state.route:
            if candidate.name in self._paused or candidate.name in state.down:
                continue
            connection = await self._connection(candidate, state)
            if connection is None:
                continue
            try:
                await connection.limiter.before_send()
                result = await self._send(connection, message, before_data)
            except TransportError as error:
                if error.recipients:  # nobody accepted it: each refusal is recorded, 4xx ones are tried again
                    return self._refused_outcome(message, error, state.settings)
                if error.scope is Scope.MESSAGE:
                    return Outcome(message.id, MessageState.FAILED, error.reply, error.code)
                errors.append(error)
                await self._on_route_error(candidate, error, state)
                continue
            except Exception as exc:  # a bug, not a server's answer: logged, shown, and the message retried later
                diagnosis = self.problems.report(candidate.name, exc)
                state.troubled = True
                state.down.add(candidate.name)
                await self._discard_transport(connection)
                return self._retry_later(message, diagnosis, state.settings)
            if candidate is not state.route[0]:
                log.warning("Message %s of profile %s was delivered by fallback profile %s (%s failed: %s)",
                            message.message_id, message.profile, candidate.name, state.route[0].name,
                            errors[0].reply if errors else "busy")
            else:
                log.info("Message %s delivered by profile %s", message.message_id, candidate.name)
            self.problems.delivered(candidate.name)
            return self._result_outcome(message, result, state.settings, candidate.name)
        if not errors:  # every fallback's mailbox was busy and the primary is paused: try again soon
            return self._retry_or_fail(message, "No profile of the route was available", "throttled",
                                       state.settings, None, None, 60.0)
        later = next((e for e in errors if e.scope is not Scope.ACCOUNT), None)
        if later is None:
            first = errors[0]
            return Outcome(message.id, MessageState.HELD, first.reply, first.code)
        return self._retry_or_fail(message, later.reply, later.code, state.settings, None, None, later.retry_after_s)

    async def _send(self, connection: _Connection, message: OutboxMessage,
                    before_data: BeforeData | None) -> SendResult:
        used_before = connection.transport is not None and (connection.kept or connection.carried > 0)
        connection.kept = False
        transport = connection.transport or await self._open(connection)
        try:
            result = await transport.send(message.envelope_from, list(message.pending_recipients), message.raw,
                                        before_data=before_data)
        except TransportError as error:
            if not (used_before and _server_closed_session(error)):
                raise
            log.info("Profile %s: the server closed the connection after earlier mail or an idle time (%s); "
                     "sending on a new one", connection.profile.name, error.reply)
            with contextlib.suppress(Exception):
                await transport.close()
            transport = await self._open(connection)
            result = await transport.send(message.envelope_from, list(message.pending_recipients), message.raw,
                                        before_data=before_data)
        connection.carried += 1
        return result

    @staticmethod
    async def _discard_transport(connection: _Connection) -> None:
        transport, connection.transport = connection.transport, None
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()

    def _retry_later(self, message: OutboxMessage, diagnosis: Diagnosis, settings: DeliverySettings) -> Outcome:
        """internal_error: always retried (after backoff), never failed as permanent: the fault is ours."""
        delay = backoff_delay(message.attempts, settings, self.jitter())
        reply = f"{diagnosis.title}: {diagnosis.detail}"
        return Outcome(message.id, MessageState.QUEUED, reply, diagnosis.code, {}, None, self.clock() + delay)

    async def _open(self, connection: _Connection) -> Transport:
        connection.transport = transport = await self.transport_factory(connection.profile)
        connection.carried = 0
        connection.opened_at = asyncio.get_running_loop().time()
        return transport

    async def _on_route_error(self, candidate: Profile, error: TransportError, state: _Round) -> None:
        self.problems.delivery_failed(candidate.name, error, slowed=error.scope is Scope.THROTTLE)
        if error.scope is Scope.ACCOUNT:
            pause = ProfilePause(candidate.name, error.code, error.reply, self.clock())
            self._paused[candidate.name] = pause
            await self._store(self.outbox.pause_profile, candidate.name, pause.reply, pause.code,
                              what="pause a profile")
            log.error("Profile %s is paused, its mail is held: %s", candidate.name, pause.reply)
        elif error.scope is Scope.THROTTLE or error.reply_code == 0 or error.stage in _SESSION_STAGES:
            # Over a limit, or no session at all (refused, timeout, dropped, a 4xx banner): the account sends
            # nothing more this round; its messages wait for their backoff.
            state.down.add(candidate.name)

    def _result_outcome(self, message: OutboxMessage, result: SendResult, settings: DeliverySettings,
                        delivered_by: str) -> Outcome:
        results = {r.address: r.reply for r in result.recipients} or dict.fromkeys(message.pending_recipients,
                                                                                    result.reply)
        later = [address for address, reply in result.refused.items() if reply.startswith("4")]
        if later:
            return self._retry_or_fail(message, result.reply, DiagnosisCode.SERVER_ERROR, settings, later, results)
        return Outcome(message.id, MessageState.SENT, result.reply, "", results, (), None, delivered_by)

    def _refused_outcome(self, message: OutboxMessage, error: TransportError, settings: DeliverySettings) -> Outcome:
        """No recipient accepted the message: record every refusal; the 4xx ones are tried again later."""
        results = {address: diagnostics.format_reply(code, text) for address, code, text in error.recipients}
        later = [address for address, code, _ in error.recipients if 400 <= code < 500]
        if later:
            return self._retry_or_fail(message, error.reply, error.code, settings, later, results)
        return Outcome(message.id, MessageState.FAILED, error.reply, error.code, results, ())

    def _retry_or_fail(self, message: OutboxMessage, reply: str, code: str, settings: DeliverySettings,
                       pending: list[str] | None, results: dict[str, str] | None,
                       retry_after_s: float | None = None) -> Outcome:
        delay = retry_after_s if retry_after_s is not None else backoff_delay(message.attempts, settings, self.jitter())
        now = self.clock()
        first = message.first_attempt_at if message.first_attempt_at is not None else now
        if now + delay - first > settings.max_retry_time_s:
            return Outcome(message.id, MessageState.FAILED, reply, code, results or {}, pending)
        return Outcome(message.id, MessageState.QUEUED, reply, code, results or {}, pending, now + delay)

    # -- the loop -----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """One round: drain what is due, and purge finished rows past retention (at most hourly)."""
        handled = await self.drain()
        now = self.clock()
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY_S:
            self._last_purge = now
            retention = min(self.load_config().delivery.retention_days, MAX_RETENTION_DAYS)
            await self.outbox.run_async(self.outbox.purge, retention)
        return handled

    async def run_round(self) -> int:
        """`run_once` inside the sender's boundary: it never raises (but for cancellation). A locked or full outbox,
        an unreadable config.toml or a bug is logged once (with its traceback when unexpected), shown in
        `problem_diagnoses`, and the next round simply tries again."""
        try:
            handled = await self.run_once()
        except Exception as exc:
            self.problems.report(OUTBOX, exc)
            return 0
        self.problems.clear(OUTBOX)
        return handled

    async def take_over(self, *, startup: bool = True) -> bool:
        """Take the outbox's sender lock if it is free; on taking it, recover abandoned rows (their sender
        is gone) and, with `startup`, hold queued mail if `send_pending_at_startup = false`."""
        if self.lock.held:
            return True
        if not self.lock.try_acquire():
            return False
        try:
            await self._store(self.outbox.recover_abandoned, what="recover abandoned messages")
            if startup and not self.load_config().delivery.send_pending_at_startup:
                held = await self._store(self.outbox.hold_queued, what="hold queued mail")
                if held:
                    log.warning("%d queued message(s) held at startup (delivery.send_pending_at_startup = false)",
                                held)
        except BaseException:
            self.lock.release()  # not the sender after all: another Mailwright may take over
            raise
        log.info("This process (pid %d) is the sender of %s", os.getpid(), self.outbox.path)
        return True

    def give_up(self) -> None:
        """Release the sender lock (after the last round): another Mailwright may take over."""
        self.lock.release()

    async def wait_to_take_over(self, stop: asyncio.Event, poll_s: float = 1.0) -> bool:
        """Try to take over every `poll_s` until it works (True) or `stop` is set (False)."""
        while not await self.take_over():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_s)
            if stop.is_set():
                return False
        return True

    async def run(self, stop: asyncio.Event, poll_s: float = 1.0, *, wait: bool = False) -> None:
        """Take the sender lock (or raise `SenderBusyError`; with `wait`, wait for it), then drain, purge and wait
        for more (or for `wake`) until `stop` is set. Pauses survive restarts."""
        if wait:
            if not await self.wait_to_take_over(stop, poll_s):
                return
        elif not await self.take_over():
            raise self.lock.busy()
        self._wakeup = asyncio.Event()
        try:
            while not stop.is_set():
                self._wakeup.clear()  # a wake that arrives while draining makes the wait below return at once
                await self.run_round()
                await self._idle(stop, poll_s)
        finally:
            self._wakeup = None
            await self.close_idle_connections()
            self.give_up()

    async def _idle(self, stop: asyncio.Event, poll_s: float) -> None:
        assert self._wakeup is not None
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wakeup.wait())]
        try:
            await asyncio.wait(waiters, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
            if self._wakeup.is_set() and not stop.is_set():
                # Let a burst of submissions gather, so one claim and one commit serve many messages.
                await asyncio.sleep(WAKE_GATHER_S)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


def _server_closed_session(error: TransportError) -> bool:
    """The server ended the session (dropped it, or 421 "closing transmission channel"), not refused the mail.
    A timeout is not this: the server is slow, and waiting for it again at once would not help."""
    return error.reply_code == 421 or error.code == DiagnosisCode.DISCONNECTED


_SESSION_STAGES = frozenset({Stage.CONNECT, Stage.TLS, Stage.EHLO})
