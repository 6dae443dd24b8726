"""The long-lived objects of one running Mailwright, built once at start and passed down (the composition root).

The app (wizard/app_loop.py), the CLI commands and `wizard.submit` build one `Services` for a data home; tests
build one on a temporary data home. It holds the config store, the outbox, the secret source its transports
read (the keyring; a system service's unit points keyring at the service store), the OAuth token
service (the signed-in sessions), Graph's rate limiters and the alerts dispatcher. Nothing here is a module
global: two `Services` on two data homes share no state. The token service, the limiters and the dispatcher
are created on first use, so `wizard.submit` and the wizard's first page do not import msal or httpx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.services.config import Config, ConfigStore, data_home
from wizard.services.config_cache import CachedConfigLoader
from wizard.services.outbox import OUTBOX_FILE, Outbox
from wizard.services.secret_source import KEYRING, SecretSource
from wizard.services.submission import QueuedMessage, asubmit, submit

if TYPE_CHECKING:
    from wizard.services.alerts import AlertDispatcher
    from wizard.services.check import CheckReport, StepCallback
    from wizard.services.model import Profile
    from wizard.services.oauth import TokenService
    from wizard.services.sender import Sender
    from wizard.services.transports.base import Transport
    from wizard.services.transports.graph import GraphLimits


class Services:
    """The composition root of one data home. Give it the `outbox`, or `open_outbox` to open it when first used
    (a CLI command that may not touch the outbox, such as `profile show`, neither creates nor waits for it)."""

    def __init__(self, home: Path, store: ConfigStore, outbox: Outbox | None = None, *,
                 open_outbox: Callable[[], Outbox] | None = None, secrets: SecretSource = KEYRING) -> None:
        if (outbox is None) == (open_outbox is None):
            raise TypeError("Services needs its outbox or open_outbox, not both")
        self.home = home
        self.store = store
        self.secrets = secrets  # what saved profiles sign in with
        # config.toml is parsed again only after it changed: submitting 1,000 messages must not parse it 1,000 times
        self.load_config = CachedConfigLoader(store)
        self._outbox = outbox
        self._open_outbox = open_outbox
        self._tokens: TokenService | None = None
        self._graph_limits: GraphLimits | None = None
        self._alerts: AlertDispatcher | None = None
        self.alert_threads: list[threading.Thread] = []  # unauthorised-sender alerts still on their way

    def __repr__(self) -> str:
        return f"Services(home={self.home!r})"

    @classmethod
    def open(cls, home: Path | None = None, *, commit_on_loop: bool = False,
             outbox_class: type[Outbox] | None = None, secrets: SecretSource = KEYRING,
             open_wait_s: float | None = None, outbox_when_used: bool = False) -> Services:
        """The services of a data home (default: `MAILWRIGHT_HOME` or the platform's data directory);
        `outbox_class` is an Outbox subclass (serve's metered outbox), `secrets` where its transports read
        the profiles' secrets, `open_wait_s` how long opening the outbox waits for another program's write lock
        before "database is locked" (default: SQLite's busy timeout). `outbox_when_used`: the outbox is opened
        when first used, not now (the CLI's commands)."""
        home = home or data_home()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)

        def open_outbox() -> Outbox:
            return (outbox_class or Outbox)(home / OUTBOX_FILE, commit_on_loop=commit_on_loop, open_wait_s=open_wait_s)

        if outbox_when_used:
            return cls(home, ConfigStore(home), open_outbox=open_outbox, secrets=secrets)
        return cls(home, ConfigStore(home), open_outbox(), secrets=secrets)

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            assert self._open_outbox is not None  # __init__ checked
            self._outbox = self._open_outbox()
        return self._outbox

    @property
    def outbox_path(self) -> Path:
        """Where the outbox is, without opening it."""
        return self._outbox.path if self._outbox is not None else self.home / OUTBOX_FILE

    @property
    def tokens(self) -> TokenService:
        """The OAuth sessions of this Mailwright (one msal application per profile, kept while it is unchanged)."""
        if self._tokens is None:
            from wizard.services.oauth import TokenService

            self._tokens = TokenService()
        return self._tokens

    async def tokens_for(self, profile: Profile) -> TokenService | None:
        """The OAuth sessions when the profile signs in with OAuth, None for a password: msal and httpx load only
        for the accounts that use them, and msal off the event loop (~300 ms)."""
        import asyncio
        import importlib

        from wizard.services.model import AuthMode

        if profile.auth is AuthMode.PASSWORD:
            return None
        if self._tokens is None:
            await asyncio.to_thread(importlib.import_module, "wizard.services.oauth")
        return self.tokens

    @property
    def graph_limits(self) -> GraphLimits:
        """Graph's per-mailbox request window and per-app concurrency, shared by every Graph transport."""
        if self._graph_limits is None:
            from wizard.services.transports.graph import GraphLimits

            self._graph_limits = GraphLimits()
        return self._graph_limits

    @property
    def alerts(self) -> AlertDispatcher:
        """The alerts of this data home (health alerts of the main window, events such as an unauthorised sender):
        what was alerted is remembered in the data home."""
        if self._alerts is None:
            from wizard.services.alerts import AlertDispatcher

            self._alerts = AlertDispatcher.for_home(self.home, self.outbox, self.load_config)
        return self._alerts

    def config(self) -> Config:
        return self.load_config()

    async def transport_for(self, profile: Profile) -> Transport:
        """A ready-to-open transport for the profile, with this Mailwright's sessions and limits."""
        from wizard.services import accounts
        from wizard.services.model import ProviderKind

        limits = self.graph_limits if profile.provider is ProviderKind.GRAPH else None
        return await accounts.transport_for(profile, self.secrets, tokens=await self.tokens_for(profile),
                                            graph_limits=limits)

    async def check(self, profile: Profile, on_step: StepCallback | None = None) -> CheckReport:
        """The connection check of a saved profile, signed in as its transports are: with this Mailwright's
        secret source and OAuth sessions (the main window's Check now, `mailwright check`)."""
        from wizard.services.check import check_profile

        tokens = await self.tokens_for(profile)
        return await check_profile(profile, on_step=on_step, secrets=self.secrets, tokens=tokens)

    def sender(self, *, load_config: Callable[[], Config] | None = None, keep_idle_s: float = 0.0) -> Sender:
        """The background sender for this data home's outbox (the app and `serve` run one)."""
        from wizard.services.sender import Sender

        return Sender(self.outbox, load_config or self.load_config, self.transport_for, keep_idle_s=keep_idle_s)

    def submit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
               envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        """`submission.submit` with this data home's configuration and outbox; a sender the policy let through
        with an alert is raised through the alerts dispatcher, in a thread of its own (`alert_threads`): the
        message is committed when this returns, its alert may still be on its way."""
        queued = submit(message, config=self.config(), outbox=self.outbox, profile=profile,
                        envelope_from=envelope_from, recipients=recipients, priority=priority)
        self._alert_soon(queued)
        return queued

    async def asubmit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
                      envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        queued = await asubmit(message, config=self.config(), outbox=self.outbox, profile=profile,
                               envelope_from=envelope_from, recipients=recipients, priority=priority)
        self._alert_soon(queued)  # not on the caller's loop: it may end right after this returns
        return queued

    def _alert_soon(self, queued: QueuedMessage) -> None:
        thread = self.alerts.sender_not_authorized_soon(queued)
        if thread is not None:
            self.alert_threads = [t for t in self.alert_threads if t.is_alive()] + [thread]
