"""The long-lived objects of one running Mailwright, built once at start and passed down (the composition root).

The app (wizard/app_loop.py), the CLI commands and `wizard.submit` build one `Services` for a data home; tests
build one on a temporary data home. It holds the config store, the outbox, the secret source its transports
read (the keyring; a system service's unit points keyring at the service store), the OAuth token
service (the signed-in sessions), Graph's rate limiters and the alerts dispatcher. Nothing here is a module
global: two `Services` on two data homes share no state. The token service, the limiters and the dispatcher
are created on first use, so `wizard.submit` and the wizard's first page do not import msal or httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    from wizard.services.model import Profile
    from wizard.services.oauth import TokenService
    from wizard.services.sender import Sender
    from wizard.services.transports.base import Transport
    from wizard.services.transports.graph import GraphLimits


@dataclass
class Services:
    home: Path
    store: ConfigStore
    outbox: Outbox
    # config.toml is parsed again only after it changed: submitting 1,000 messages must not parse it 1,000 times.
    load_config: CachedConfigLoader = field(init=False)
    secrets: SecretSource = field(default=KEYRING, repr=False)  # what saved profiles sign in with
    _tokens: TokenService | None = field(default=None, repr=False)
    _graph_limits: GraphLimits | None = field(default=None, repr=False)
    _alerts: AlertDispatcher | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.load_config = CachedConfigLoader(self.store)

    @classmethod
    def open(cls, home: Path | None = None, *, commit_on_loop: bool = False,
             outbox_class: type[Outbox] | None = None, secrets: SecretSource = KEYRING,
             open_wait_s: float | None = None) -> Services:
        """The services of a data home (default: `MAILWRIGHT_HOME` or the platform's data directory);
        `outbox_class` is an Outbox subclass (serve's metered outbox), `secrets` where its transports read
        the profiles' secrets, `open_wait_s` how long opening the outbox waits for another program's write lock
        before "database is locked" (default: SQLite's busy timeout)."""
        home = home or data_home()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        outbox = (outbox_class or Outbox)(home / OUTBOX_FILE, commit_on_loop=commit_on_loop, open_wait_s=open_wait_s)
        return cls(home=home, store=ConfigStore(home), outbox=outbox, secrets=secrets)

    @property
    def tokens(self) -> TokenService:
        """The OAuth sessions of this Mailwright (one msal application per profile, kept while it is unchanged)."""
        if self._tokens is None:
            from wizard.services.oauth import TokenService

            self._tokens = TokenService()
        return self._tokens

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
        import asyncio
        import importlib

        from wizard.services import accounts
        from wizard.services.model import AuthMode, ProviderKind

        # msal and httpx load only for the accounts that use them, and msal off the event loop (~300 ms)
        tokens = None
        if profile.auth is not AuthMode.PASSWORD:
            if self._tokens is None:
                await asyncio.to_thread(importlib.import_module, "wizard.services.oauth")
            tokens = self.tokens
        limits = self.graph_limits if profile.provider is ProviderKind.GRAPH else None
        return await accounts.transport_for(profile, self.secrets, tokens=tokens, graph_limits=limits)

    def sender(self, *, load_config: Callable[[], Config] | None = None, keep_idle_s: float = 0.0) -> Sender:
        """The background sender for this data home's outbox (the app and `serve` run one)."""
        from wizard.services.sender import Sender

        return Sender(self.outbox, load_config or self.load_config, self.transport_for, keep_idle_s=keep_idle_s)

    def submit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
               envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        """`submission.submit` with this data home's configuration and outbox; a sender the policy let through
        with an alert is raised through the alerts dispatcher before this returns."""
        queued = submit(message, config=self.config(), outbox=self.outbox, profile=profile,
                        envelope_from=envelope_from, recipients=recipients, priority=priority)
        if queued.alerts:
            self.alerts.sender_not_authorized_now(queued)
        return queued

    async def asubmit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
                      envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        queued = await asubmit(message, config=self.config(), outbox=self.outbox, profile=profile,
                               envelope_from=envelope_from, recipients=recipients, priority=priority)
        if queued.alerts:
            await self.alerts.sender_not_authorized(queued)
        return queued
