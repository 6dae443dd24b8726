"""Mailwright: connect an application's outbound e-mail to your own mail account.

The Python API is one function::

    import wizard
    queued = wizard.submit(message)                    # an EmailMessage or RFC 5322 bytes
    queued = wizard.submit(message, profile="main", priority=1)

It applies the rules every message gets (services/submission.py) and stores the message durably in the
outbox of the data home; `mailwright serve` or the app delivers it. Importing `wizard` loads nothing else:
the services are imported on the first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from email.message import Message

    from wizard.services.app_services import Services
    from wizard.services.submission import (
        InvalidMessageError,
        MessageTooLargeError,
        NoProfileError,
        QueuedMessage,
        SenderNotAuthorizedError,
        SubmissionError,
    )

__version__ = "0.1.0"

_opened: dict[Path, Services] = {}

__all__ = ["InvalidMessageError", "MessageTooLargeError", "NoProfileError", "QueuedMessage",
           "SenderNotAuthorizedError", "SubmissionError", "submit"]

_LAZY = frozenset({"InvalidMessageError", "MessageTooLargeError", "NoProfileError", "QueuedMessage",
                   "SenderNotAuthorizedError", "SubmissionError"})


def submit(message: Message | bytes, profile: str | None = None, priority: int | None = None, *,
           envelope_from: str | None = None, recipients: Sequence[str] | None = None,
           services: Services | None = None) -> QueuedMessage:
    """Queue `message` for delivery through `profile` (default: routed by its sender, else the default profile).

    Recipients default to the To, Cc and Bcc addresses (Bcc is removed from the stored message); the envelope
    sender defaults to the From address. Raises `SubmissionError` (`SenderNotAuthorizedError`,
    `MessageTooLargeError`, `InvalidMessageError`, `NoProfileError`) and then nothing was queued. Returns once
    the message is committed to the outbox. `services` is the app's own services object, when it has one.
    """
    if services is None:
        from wizard.services.app_services import Services
        from wizard.services.config import data_home

        home = data_home()
        # One per data home for the life of the process: its outbox keeps one connection and one commit thread,
        # which is what lets threads calling submit() at once share commits.
        services = _opened.get(home) or _opened.setdefault(home, Services.open(home))
    return services.submit(message, profile, priority, envelope_from=envelope_from, recipients=recipients)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from wizard.services import submission

        return getattr(submission, name)
    raise AttributeError(f"module 'wizard' has no attribute {name!r}")
