"""The long-lived objects of one running Mailwright, built once at start and passed down (the composition root).

The app (wizard/app.py), the CLI and `wizard.submit` build one `Services` for a data home; tests build one
on a temporary data home. Nothing here is a module global: two `Services` on two data homes never share
state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from wizard.services.config import Config, ConfigStore, data_home
from wizard.services.config_cache import CachedConfigLoader
from wizard.services.outbox import OUTBOX_FILE, Outbox
from wizard.services.submission import QueuedMessage, asubmit, submit


@dataclass
class Services:
    home: Path
    store: ConfigStore
    outbox: Outbox
    # config.toml is parsed again only after it changed: submitting 1,000 messages must not parse it 1,000 times.
    load_config: CachedConfigLoader = field(init=False)

    def __post_init__(self) -> None:
        self.load_config = CachedConfigLoader(self.store)

    @classmethod
    def open(cls, home: Path | None = None, *, commit_on_loop: bool = False) -> Services:
        """The services of a data home (default: `MAILWRIGHT_HOME` or the platform's data directory)."""
        home = home or data_home()
        return cls(home=home, store=ConfigStore(home), outbox=Outbox(home / OUTBOX_FILE, commit_on_loop=commit_on_loop))

    def config(self) -> Config:
        return self.load_config()

    def submit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
               envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        """`submission.submit` with this data home's configuration and outbox."""
        return submit(message, config=self.config(), outbox=self.outbox, profile=profile,
                      envelope_from=envelope_from, recipients=recipients, priority=priority)

    async def asubmit(self, message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
                      envelope_from: str | None = None, recipients: Sequence[str] | None = None) -> QueuedMessage:
        return await asubmit(message, config=self.config(), outbox=self.outbox, profile=profile,
                             envelope_from=envelope_from, recipients=recipients, priority=priority)
