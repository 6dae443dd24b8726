"""The app's background delivery: the sender on the GUI's event loop and, when configured, the relay.

No Qt here: the main window drives it (pause, resume, wake, live relay changes) and tests run it
against real servers without a window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.services.config import Config, ConfigStore
from wizard.services.sender_boundary import OUTBOX
from wizard.services.settings import RelaySettings, parse_host_port
from wizard.services.validation import InvalidInputError

if TYPE_CHECKING:
    from wizard.services.diagnostics import Diagnosis
    from wizard.services.outbox import Outbox
    from wizard.services.relay_process import RelayProcess
    from wizard.services.sender import Sender
    from wizard.services.sender_lock import SenderLockOwner
    from wizard.services.sender_state import SenderStatePublisher

log = logging.getLogger(__name__)

class BackgroundDelivery:
    """The app's background sender (and optional loopback relay) as asyncio tasks on the GUI's loop.

    Sending can be paused (mail keeps queueing) and resumed; `stop()` ends it cleanly on quit. This is
    `Sender.run` with a pause switch: its startup steps (recover abandoned rows, hold queued mail if
    `send_pending_at_startup = false`) run once at start, not again on every resume.
    """

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config], *, sender: Sender | None = None,
                 relay_address: tuple[str, int] | None = None, relay_allow_remote: bool = False,
                 poll_s: float = 1.0, config_home: Path | None = None) -> None:
        self.outbox = outbox
        self.load_config = load_config
        if sender is None:
            from wizard.services.idle_connections import KEEP_IDLE_S
            from wizard.services.sender import Sender  # aiosmtplib/aiosmtpd stay off the wizard's startup path

            sender = Sender(outbox, load_config, keep_idle_s=KEEP_IDLE_S)
        self.sender = sender
        self.relay_address = relay_address
        self.relay_allow_remote = relay_allow_remote
        self.poll_s = poll_s
        self.config_home = config_home
        self.relay: RelayProcess | None = None
        self.relay_error = ""
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._started = False
        self._startup_pending = False  # the sender's start-up steps (take_over(startup=True)) are still to do
        # Starting, moving and stopping the relay one at a time: a stop while a start is still waiting for its
        # child to listen would otherwise miss that child, which then runs on with nobody to stop it.
        self._relay_changes = asyncio.Lock()
        self._publisher: SenderStatePublisher | None = None

    def _state_file(self) -> SenderStatePublisher:
        if self._publisher is None:
            from wizard.services.sender_state import SenderStatePublisher

            self._publisher = SenderStatePublisher(self.sender)
        return self._publisher

    @property
    def started(self) -> bool:
        return self._started

    @property
    def sending(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start sending (and the relay); returns without waiting for the outbox, which another program may hold
        locked for long: the window opens and shows that (`problems`), and sending begins once it is free."""
        if not self._started:
            self._started = True
            self._startup_pending = True
            # Only the holder of the outbox's sender lock sends; otherwise the loop keeps trying to take over (the
            # other Mailwright may quit or die), and the window shows whose progress it is. The loop's first turn
            # takes that lock (a file lock: at once) before it waits for anything.
            self.resume_sending()
            await asyncio.sleep(0)
            async with self._relay_changes:
                await self._start_relay()
        self.resume_sending()

    async def _start_relay(self) -> None:
        if self.relay_address is None:
            return
        from wizard.services.relay_process import RelayProcess, RelaySpec, RelayStartError

        spec = RelaySpec.for_outbox(*self.relay_address, self.outbox.path, self.config_home,
                                    allow_remote=self.relay_allow_remote)
        relay = RelayProcess(spec, on_queued=self.wake)
        try:
            await relay.start()
        except RelayStartError as exc:  # e.g. the port is taken by `mailwright serve`
            self.relay_error = (f"The relay could not listen on {self.relay_address[0]}:"
                                f"{self.relay_address[1]}: {exc}")
            log.warning("%s", self.relay_error)
            return
        self.relay = relay

    async def _stop_relay(self) -> None:
        relay, self.relay = self.relay, None
        if relay is not None:
            await relay.stop()

    async def apply_relay(self, address: tuple[str, int] | None, allow_remote: bool = False) -> None:
        """Follow a changed `[relay]` setting (the wizard saved it) without restarting the app."""
        async with self._relay_changes:
            unchanged = address == self.relay_address and allow_remote == self.relay_allow_remote
            if unchanged and (self.relay is not None or address is None):
                return
            await self._stop_relay()
            self.relay_address, self.relay_allow_remote = address, allow_remote
            self.relay_error = ""
            if self._started:
                await self._start_relay()

    @property
    def relay_problem(self) -> str:
        """Why the relay is not accepting mail: it could not start, or its process died and is restarting."""
        return self.relay_error or (self.relay.error if self.relay is not None else "")

    @property
    def other_sender(self) -> SenderLockOwner | None:
        """Who delivers this outbox when this process does not (another app window or `mailwright serve`)."""
        if not self._started or self.sender.lock.held:
            return None
        return self.sender.lock.owner()

    @property
    def problems(self) -> dict[str, Diagnosis]:
        """What currently stops or slows sending: per profile name, and under `OUTBOX` ('') for the whole outbox.
        Of this process's sender, or, while another process (`serve`) delivers this outbox, what that one
        published (sender_state.py). Paused accounts are not here: the outbox records them."""
        from wizard.services.sender_state import read_published, sender_problems

        other = self.other_sender
        if other is not None:
            problems = read_published(self.outbox.path, other.pid, other.host).problems
        else:
            problems = tuple(sender_problems(self.sender)[0])
        found: dict[str, Diagnosis] = {}
        for problem in problems:  # a profile's failure (sorted first) says more than its being slowed
            if problem.state != "paused":
                found.setdefault(problem.profile, problem.diagnosis)
        return found

    def resume_sending(self) -> None:
        if self.sending:
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(self._stop), name="mailwright-sender")

    def pause_sending(self) -> None:
        """Stop sending after the message in flight; mail keeps queueing."""
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Send now rather than at the next poll (a test mail was queued, an account resumed)."""
        self._wake.set()

    async def resume_profile(self, name: str) -> int:
        """The account was fixed: un-pause it and release its held mail (off the loop: 100,000 held rows take
        seconds to rewrite); returns how many were released."""
        released = await self.sender.aresume(name)
        self.wake()
        return released

    async def _loop(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._wake.clear()  # a wake during the round makes the wait below return at once
                # The sender's boundary (Sender.run_round) keeps it alive through a bad config.toml, a locked or
                # full outbox or a bug, shows the problem (problem_diagnoses) and tries again next round.
                try:
                    # Recovering abandoned rows (and holding queued mail, if so configured) at the first take-over
                    # that gets through: the outbox may be locked or full at start, then this is tried again.
                    took_over = await self.sender.take_over(startup=self._startup_pending)
                    # Done, or another Mailwright sends: taking over from it later is not this app's start.
                    self._startup_pending = False
                except Exception as exc:  # StorageError: locked or full past the sender's wait; a bad config.toml
                    self.sender.problems.report(OUTBOX, exc)
                    took_over = False
                if took_over:
                    await self.sender.run_round()
                    self._state_file().publish()  # for `queue status` and other windows (other processes)
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except TimeoutError:
                    pass
        finally:
            await self.sender.close_idle_connections()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Finish the message in flight (up to `grace_s`), then cancel; the outbox lease covers the rest."""
        self.pause_sending()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, grace_s)
            except TimeoutError:
                pass  # wait_for cancelled it; an interrupted message is due again at the next start
        if self._publisher is not None:
            self._publisher.remove()
        self.sender.give_up()
        async with self._relay_changes:
            self._started = False  # a relay change still waiting for its turn must not start one after this
            await self._stop_relay()


def relay_settings_from_config(path: Path | None = None) -> RelaySettings:
    """`[relay]` on its own, so a problem elsewhere in config.toml does not switch the relay off."""
    store = ConfigStore(path.parent if path else None)
    try:
        settings: RelaySettings = store.load_table("relay")
    except InvalidInputError as exc:
        log.warning("%s", exc)
        return RelaySettings()
    return settings


def relay_address(settings: RelaySettings) -> tuple[str, int] | None:
    """Where the relay listens, or None when `[relay] enabled` is not on (or `listen` is unreadable)."""
    if not settings.enabled:
        return None
    try:
        return parse_host_port(settings.listen)
    except ValueError as exc:
        log.warning("relay.listen: %s", exc)
        return None


def relay_address_from_config(path: Path | None = None) -> tuple[str, int] | None:
    """`[relay] enabled = true, listen = "127.0.0.1:2525"` in config.toml; off unless enabled."""
    return relay_address(relay_settings_from_config(path))
