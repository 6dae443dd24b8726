"""The test mail that goes through the outbox like the application's mail does (main window, per account)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStyle, QWidget
from typing_extensions import override

from wizard.dialogs.send_test import SendTestDialog
from wizard.services import diagnostics
from wizard.services.message import build_test_message, envelope_recipients, queue_id
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox, OutboxMessage
from wizard.services.secret_source import KEYRING
from wizard.services.submission import QueuedMessage, SubmissionError, asubmit
from wizard.services.validation import InvalidInputError

if TYPE_CHECKING:
    from wizard.services.alerts import AlertDispatcher

TEST_MAIL_PRIORITY = 1  # very high: the admin is waiting for it
FINAL_STATES = (MessageState.SENT, MessageState.FAILED, MessageState.HELD)


class OutboxTestMailDialog(SendTestDialog):
    """The send-test dialog, but the message goes through the outbox at priority 1 and the running
    background sender delivers it; the dialog reports the row's final state, never "sent" before the
    server accepted the message."""

    outcome = Signal(str)  # the final MessageState value, or "cancelled"

    def __init__(self, profile: Profile, outbox: Outbox, wake: Callable[[], None] = lambda: None,
                 parent: QWidget | None = None, poll_s: float = 0.2,
                 is_sending: Callable[[], bool] = lambda: True, alerts: AlertDispatcher | None = None) -> None:
        super().__init__(profile, KEYRING, parent)  # never used: the background sender signs in
        self.outbox = outbox
        self.alerts = alerts  # an account whose policy lets its own address through only with an alert
        self.wake = wake
        self.is_sending = is_sending
        self.poll_s = poll_s
        self.queued: QueuedMessage | None = None
        self.setWindowTitle(f"Send test mail through '{profile.name}'")
        self.status.setText("The message goes through the outbox (priority 1), like your application's mail: "
                            "the background sender delivers it and this window shows the server's answer.")

    @override
    async def _send(self) -> None:
        self.diagnosis.show_diagnosis(None)
        self._show_outcome(None, "")
        try:
            message = await asyncio.to_thread(build_test_message, self.mail())
        except InvalidInputError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, str(exc))
            self.send_finished.emit(False)
            return
        recipients = envelope_recipients(message)
        try:
            self.queued = await asubmit(message, config=None, outbox=self.outbox, profile=self.profile,
                                        envelope_from=self.profile.from_address, recipients=recipients,
                                        priority=TEST_MAIL_PRIORITY)
        except SubmissionError as exc:
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxWarning, f"The message was not queued: {exc}")
            self.send_finished.emit(False)
            return
        if self.queued.alerts and self.alerts is not None:
            await self.alerts.sender_not_authorized(self.queued)
        self.wake()
        self.status.setText(f"Queued as message {self.queued.id} (priority 1); waiting for the background sender to "
                            f"deliver it to {', '.join(recipients)}…")
        try:
            final = await self._wait_final(self.queued.id)
        except asyncio.CancelledError:
            self.status.setText(f"Stopped waiting. Message {self.queued.id} stays in the outbox and is still "
                                "delivered; the Outbox window shows what happens to it.")
            self.outcome.emit("cancelled")
            self.send_finished.emit(False)
            raise
        self._show_final(final)

    async def _wait_final(self, row_id: int) -> OutboxMessage:
        announced = ""
        while True:
            current = await asyncio.to_thread(self.outbox.get, row_id)
            if current.state in FINAL_STATES:
                return current
            waiting = await self._why_waiting(current)
            if waiting and waiting != announced:
                announced = waiting
                self.status.setText(waiting)
            await asyncio.sleep(self.poll_s)

    async def _why_waiting(self, current: OutboxMessage) -> str:
        """Why a queued message is not sent yet, in plain words ("" while it is simply next in line)."""
        if current.state is not MessageState.QUEUED:
            return ""
        if not self.is_sending():
            return (f"Message {current.id} is queued, but sending is paused: it is sent when you click "
                    "Start sending (main window or tray menu).")
        paused = await self.outbox.run_async(self.outbox.paused_profiles)
        if self.profile.name in paused:
            return (f"Message {current.id} is queued, but the account is paused after a sign-in failure "
                    f"({paused[self.profile.name].reply}): fix it and press Resume.")
        if current.attempts and current.last_reply:
            return f"Attempt {current.attempts} got a temporary error; the sender retries later: {current.last_reply}"
        return ""

    def _show_final(self, message: OutboxMessage) -> None:
        if message.state is MessageState.SENT:
            lines = [f"The server accepted the message: {message.last_reply}"]
            queued = queue_id(message.last_reply)
            if queued:
                lines.append(f"Queue id: {queued} (quote it if you ask the provider where the message went)")
            lines.append(f"Message-ID: {message.message_id}")
            refused = {a: r for a, r in message.recipient_results.items() if not r.startswith("2")}
            lines.extend(f"Refused recipient {address}: {why}" for address, why in refused.items())
            self._show_outcome(QStyle.StandardPixmap.SP_DialogApplyButton, "\n".join(lines))
        else:
            text = ("The message was not sent." if message.state is MessageState.FAILED else
                    "The message is held: the account's sign-in failed. It is kept and sent once the account is "
                    "fixed and resumed.")
            self._show_outcome(QStyle.StandardPixmap.SP_MessageBoxCritical, text)
            code = message.diagnosis_code or "unknown"
            self.diagnosis.show_diagnosis(diagnostics.make(code, detail=message.last_reply))
        self.outcome.emit(message.state.value)
        self.send_finished.emit(message.state is MessageState.SENT)
