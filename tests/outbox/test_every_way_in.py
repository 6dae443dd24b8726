"""Every rule through every way in, asserted on what the receiving server got (issue 13's done-when).

The ways in: the loopback relay, `mailwright send`, `mailwright send --eml`, `wizard.submit`, `mailwright
send-test`, the send-test dialog (the wizard's direct test) and the main window's test mail (through the
outbox). The queued ones are delivered by the sender of a services object on the test's data home; all of
them reach a real aiosmtpd server (STARTTLS, AUTH, a trustme CA) with the password from the real keyring.
The ways that send as the account (`send --body`, `send-test`, the dialogs) cannot name another From: for
them the account's own address is the sender under test.
"""

from __future__ import annotations

import asyncio
import email.utils
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import BytesParser
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

import wizard
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, ReceivedMessage, SmtpServerFactory, free_port
from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.cli import main
from wizard.services import accounts
from wizard.services.app_services import Services
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import Outbox
from wizard.services.relay import start_relay
from wizard.services.secret_source import DraftSecrets

if TYPE_CHECKING:  # Qt loads only for the dialogs' ways in
    from wizard.dialogs.outbox_test_mail import OutboxTestMailDialog
    from wizard.dialogs.send_test import SendTestDialog

Dialog = TypeVar("Dialog", "SendTestDialog", "OutboxTestMailDialog")
DIALOG = "send-test dialog"
APP_DIALOG = "app test mail"
_GUI = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]
WAYS = ["relay", "send", "send --eml", "wizard.submit", "send-test", pytest.param(DIALOG, marks=_GUI),
        pytest.param(APP_DIALOG, marks=_GUI)]
ACCOUNT_WAYS = {"send", "send-test", DIALOG, APP_DIALOG}  # they always send as the profile's own address
QUEUED_WAYS = {"relay", "send", "send --eml", "wizard.submit"}  # delivered by the sender after they return
RECIPIENT = "bob@example.net"


@dataclass(frozen=True)
class Mail:
    """What the application hands over (the ways that take a message); no Date and no Message-ID."""

    header_from: str = "app@example.com"
    envelope_from: str | None = None  # the relay's MAIL FROM (default: the From address) / submit's envelope_from

    def raw(self, newline: str = "\r\n") -> bytes:
        return newline.join([f"From: {self.header_from}", f"To: {RECIPIENT}", "Subject: Invoice 42", "",
                             "Your invoice is attached.", ""]).encode()


@dataclass
class Arrival:
    refused: str  # what the way answered when it refused the message ("" when it took it)
    received: list[ReceivedMessage]

    @property
    def message(self) -> Message:
        assert not self.refused, self.refused
        assert len(self.received) == 1, self.received
        return BytesParser(policy=SMTP).parsebytes(self.received[0].data, headersonly=True)


class Ways:
    def __init__(self, smtp_server: SmtpServerFactory, profile_name: str, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
        self.server = smtp_server("starttls")
        self.profile = Profile(name=profile_name, from_address="app@example.com", host=self.server.host,
                               port=self.server.port, security=Security.STARTTLS, username=GOOD_USER,
                               ca_file=self.server.ca_file, timeout_s=10)
        self.tmp_path = tmp_path
        self.capsys = capsys
        self.request = request

    async def send(self, way: str, mail: Mail, **profile_fields: object) -> Arrival:
        profile = replace(self.profile, **profile_fields)  # type: ignore[arg-type]
        accounts.save_profile(profile, GOOD_PASSWORD)
        self.capsys.readouterr()
        refused = await getattr(self, "_" + way.replace(" ", "_").replace("-", "_").replace(".", "_"))(profile, mail)
        if way in QUEUED_WAYS and not refused:  # queued: the app's sender delivers it
            assert await Services.open().sender().drain() == 1
        return Arrival(refused, list(self.server.messages))

    async def _cli(self, *argv: str) -> str:
        code = await asyncio.to_thread(main, list(argv))
        return "" if code == 0 else f"exit {code}: {self.capsys.readouterr().err}"

    async def _relay(self, profile: Profile, mail: Mail) -> str:
        outbox, port = Outbox(), free_port()
        relay = await start_relay(outbox, ConfigStore().load, "127.0.0.1", port)

        def submit() -> str:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                try:
                    sender = mail.envelope_from or email.utils.parseaddr(mail.header_from)[1]
                    client.sendmail(sender, [RECIPIENT], mail.raw())
                except smtplib.SMTPResponseException as exc:
                    return f"{exc.smtp_code} {exc.smtp_error.decode()}"
            return ""

        try:
            return await asyncio.to_thread(submit)
        finally:
            relay.close()
            await relay.wait_closed()

    async def _send(self, profile: Profile, mail: Mail) -> str:
        return await self._cli("send", "--to", RECIPIENT, "--subject", "Invoice 42", "--body", "Your invoice.")

    async def _send___eml(self, profile: Profile, mail: Mail) -> str:
        path = self.tmp_path / "invoice.eml"
        path.write_bytes(mail.raw("\n"))  # a file as an editor saves it on Linux
        return await self._cli("send", "--eml", str(path), "--to", RECIPIENT)

    async def _wizard_submit(self, profile: Profile, mail: Mail) -> str:
        try:
            await asyncio.to_thread(wizard.submit, mail.raw(), envelope_from=mail.envelope_from)
        except wizard.SubmissionError as exc:
            return str(exc)
        return ""

    async def _send_test(self, profile: Profile, mail: Mail) -> str:
        return await self._cli("send-test", "--to", RECIPIENT)

    async def _click_send(self, make_dialog: Callable[[], Dialog]) -> tuple[Dialog, bool]:
        """Open the dialog, type the recipient, click Send; True when it says the mail was accepted."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QPushButton

        from tests.gui.conftest import SignalWaiter

        qtbot = self.request.getfixturevalue("qtbot")  # the QApplication, before any widget
        dialog = make_dialog()
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.to.setText(RECIPIENT)
        finished = SignalWaiter(dialog.send_finished)
        qtbot.mouseClick(dialog.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
        (accepted,) = await finished.wait()
        await dialog.tasks.wait()
        return dialog, bool(accepted)

    async def _send_test_dialog(self, profile: Profile, mail: Mail) -> str:
        from wizard.dialogs.send_test import SendTestDialog

        dialog, accepted = await self._click_send(lambda: SendTestDialog(profile, DraftSecrets(password=GOOD_PASSWORD)))
        return "" if accepted else dialog.status.text()

    async def _app_test_mail(self, profile: Profile, mail: Mail) -> str:
        """The main window's *Send test mail…*: queued at priority 1, delivered by the app's background sender."""
        from wizard.dialogs.outbox_test_mail import OutboxTestMailDialog

        services = Services.open()
        deliveries: list[asyncio.Task[int]] = []
        dialog, accepted = await self._click_send(lambda: OutboxTestMailDialog(
            profile, services.outbox, poll_s=0.05,
            wake=lambda: deliveries.append(asyncio.ensure_future(services.sender().drain()))))
        assert [await delivery for delivery in deliveries] == ([1] if accepted else [])
        return "" if accepted else dialog.status.text()


@pytest.fixture
def ways(smtp_server: SmtpServerFactory, profile_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
         request: pytest.FixtureRequest, data_home: Path) -> Ways:
    return Ways(smtp_server, profile_name, tmp_path, capsys, request)


def _way(param: object) -> str:
    return param if isinstance(param, str) else str(param.values[0])  # type: ignore[attr-defined]


POLICY_CASES = [
    *[pytest.param(_way(way), "From", action, marks=getattr(way, "marks", ()), id=f"{_way(way)}-From-{action}")
      for way in WAYS for action in ("block", "alert")],
    *[pytest.param(way, "envelope", action, id=f"{way}-envelope-{action}")
      for way in ("relay", "wizard.submit") for action in ("block", "alert")],
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("way", "where", "action"), POLICY_CASES)
async def test_the_sender_policy_checks_the_envelope_and_every_from_address(ways: Ways, way: str, where: str,
                                                                            action: str) -> None:
    """ceo@bank.example is outside the authorised domain: blocked (nothing arrives) or delivered with an alert.
    With an authorised envelope sender, a `From: CEO <ceo@bank.example>` is still refused (`--eml` included)."""
    policy = {"authorized_domains": ("example.com",), "unauthorized_action": action}
    if way in ACCOUNT_WAYS:
        arrival = await ways.send(way, Mail(), from_address="ceo@bank.example", **policy)
    elif where == "From":
        arrival = await ways.send(way, Mail("CEO <ceo@bank.example>", envelope_from="app@example.com"), **policy)
    else:
        arrival = await ways.send(way, Mail("app@example.com", envelope_from="ceo@bank.example"), **policy)
    if action == "block":
        assert "ceo@bank.example" in arrival.refused and "not an authorised sender" in arrival.refused
        assert arrival.received == []
    else:
        spoofed = arrival.received[0].mail_from if where == "envelope" else str(arrival.message["From"])
        assert "ceo@bank.example" in spoofed


@pytest.mark.asyncio
@pytest.mark.parametrize("way", WAYS)
async def test_a_forced_postmaster_sends_and_the_author_gets_the_replies(ways: Ways, way: str) -> None:
    arrival = await ways.send(way, Mail("Billing <app@example.com>"), display_name="Example Support",
                              postmaster="postmaster@example.com", force_postmaster_sender=True)
    assert arrival.received[0].mail_from == "postmaster@example.com"
    assert str(arrival.message["From"]) == "Example Support <postmaster@example.com>"
    assert email.utils.parseaddr(str(arrival.message["Reply-To"]))[1] == "app@example.com"


@pytest.mark.asyncio
@pytest.mark.parametrize("way", WAYS)
async def test_the_accounts_display_name_is_on_its_own_address(ways: Ways, way: str) -> None:
    arrival = await ways.send(way, Mail("app@example.com"), display_name="Example Support")
    assert str(arrival.message["From"]) == "Example Support <app@example.com>"


@pytest.mark.asyncio
@pytest.mark.parametrize("way", WAYS)
async def test_every_message_arrives_with_a_date(ways: Ways, way: str) -> None:
    arrival = await ways.send(way, Mail())
    dates = arrival.message.get_all("Date", [])
    assert len(dates) == 1
    assert abs(email.utils.parsedate_to_datetime(str(dates[0])).timestamp() - time.time()) < 86400


@pytest.mark.asyncio
@pytest.mark.parametrize("way", WAYS)
async def test_every_message_arrives_with_one_message_id_in_the_senders_domain(ways: Ways, way: str) -> None:
    arrival = await ways.send(way, Mail())
    ids = arrival.message.get_all("Message-ID", [])
    assert len(ids) == 1 and str(ids[0]).startswith("<") and str(ids[0]).endswith("@example.com>")
