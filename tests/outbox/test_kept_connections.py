"""The running sender keeps a provider connection open for a moment after the queue ran dry, and reuses it.

Real aiosmtpd servers on loopback count the sessions they saw (EHLO) and the ones the client ended (QUIT).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fixtures.smtp_servers import RunningSmtpServer, SinkHandler
from tests.fixtures.waiting import eventually
from wizard.services.config import Config
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.sender_limits import ProviderLimits
from wizard.services.settings import DeliverySettings
from wizard.services.transports.base import Transport
from wizard.services.transports.smtp import SmtpTransport


@dataclass
class SessionCountingSink(SinkHandler):
    """A sink that also counts sessions begun (EHLO) and ended by the client (QUIT), and can drop the
    connection at the next MAIL FROM, as a server does with a connection it timed out, or at the Nth MAIL
    FROM of a session, as a server with a limit of messages per session does."""

    ehlo: int = 0
    quit: int = 0
    drop_at_next_mail: bool = False
    messages_per_session: int = 0
    slow_after: int = 0  # once this many messages arrived, answer each further DATA only after 3 s
    _mails_this_session: int = 0

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        self.ehlo += 1
        self._mails_this_session = 0
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quit += 1
        return "221 Bye"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.slow_after and len(self.messages) >= self.slow_after:
            await asyncio.sleep(3.0)
        return await super().handle_DATA(server, session, envelope)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        self._mails_this_session += 1
        if self.drop_at_next_mail:
            self.drop_at_next_mail = False
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 idle too long"
        if self.messages_per_session and self._mails_this_session > self.messages_per_session:
            assert server.transport is not None
            server.transport.close()
            return "421 4.7.0 too many messages in this session"
        return await super().handle_MAIL(server, session, envelope, address, mail_options)


def _profile(server: RunningSmtpServer, name: str = "main", from_address: str = "app@example.com") -> Profile:
    return Profile(name=name, from_address=from_address, host=server.host, port=server.port,
                   security=Security.NONE, allow_plaintext_loopback=True)


class Setup:
    def __init__(self, profiles: list[Profile], keep_idle_s: float,
                 limits: dict[str, ProviderLimits] | None = None) -> None:
        self.outbox = Outbox()
        self.config = Config(profiles={p.name: p for p in profiles}, default_profile=profiles[0].name,
                             delivery=DeliverySettings(retry_backoff_initial_s=60))
        self.opened = 0
        self.slept: list[float] = []

        async def factory(profile: Profile) -> Transport:
            self.opened += 1
            return SmtpTransport.for_profile(profile, None)

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        self.sender = Sender(self.outbox, lambda: self.config, factory, sleep=sleep, limits=limits,
                             keep_idle_s=keep_idle_s)

    def enqueue(self, profile: str = "main") -> int:
        message = EmailMessage()
        message["From"] = self.config.profiles[profile].from_address
        message["To"] = "bob@example.net"
        message["Subject"] = "Receipt"
        message.set_content("thanks")
        return self.outbox.enqueue(message, profile=profile).id


@pytest.fixture
def sink(smtp_server: Callable[..., RunningSmtpServer],
         data_home: Path) -> tuple[RunningSmtpServer, SessionCountingSink]:
    handler = SessionCountingSink()
    return smtp_server("plain", auth=False, handler=handler), handler


@pytest.mark.asyncio
async def test_the_next_burst_reuses_the_connection_kept_open(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=60)
    first = [setup.enqueue(), setup.enqueue()]
    assert await setup.sender.run_once() == 2
    later = setup.enqueue()
    assert await setup.sender.run_once() == 1

    assert {setup.outbox.get(i).state for i in [*first, later]} == {MessageState.SENT}
    assert (setup.opened, handler.ehlo, handler.quit) == (1, 1, 0)
    await setup.sender.close_idle_connections()
    assert handler.quit == 1


@pytest.mark.asyncio
async def test_without_keeping_each_round_opens_and_closes_its_own(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=0)
    setup.enqueue()
    await setup.sender.run_once()
    setup.enqueue()
    await setup.sender.run_once()
    assert (setup.opened, handler.ehlo, handler.quit) == (2, 2, 2)


@pytest.mark.asyncio
async def test_a_kept_connection_is_closed_once_it_has_been_idle_for_the_keep_time(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=0.2)
    setup.enqueue()
    await setup.sender.run_once()
    assert handler.quit == 0
    await eventually(lambda: handler.quit == 1, "the idle connection's QUIT", timeout_s=10)  # no round ran meanwhile
    setup.enqueue()
    await setup.sender.run_once()
    assert (setup.opened, handler.ehlo) == (2, 2)
    await setup.sender.close_idle_connections()


@pytest.mark.asyncio
async def test_a_kept_connection_the_server_dropped_is_replaced_at_once_not_retried_later(
        sink: tuple[RunningSmtpServer, SessionCountingSink], caplog: pytest.LogCaptureFixture) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=60)
    setup.enqueue()
    await setup.sender.run_once()
    handler.drop_at_next_mail = True  # the server timed the idle connection out, unnoticed so far
    caplog.set_level(logging.INFO, logger="wizard.services.sender")
    later = setup.enqueue()
    assert await setup.sender.run_once() == 1

    stored = setup.outbox.get(later)
    assert stored.state is MessageState.SENT and stored.attempts == 1
    assert setup.slept == [] and setup.opened == 2 and len(handler.messages) == 2
    assert "the server closed the connection after earlier mail or an idle time" in caplog.text
    await setup.sender.close_idle_connections()


@pytest.mark.asyncio
async def test_a_new_connection_the_server_drops_is_still_a_retry_later(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=60)
    handler.drop_at_next_mail = True
    message = setup.enqueue()
    await setup.sender.run_once()
    stored = setup.outbox.get(message)
    assert stored.state is MessageState.QUEUED and stored.attempts == 1 and setup.opened == 1
    await setup.sender.close_idle_connections()


@pytest.mark.asyncio
async def test_an_edited_profile_does_not_reuse_the_connection_to_its_old_server(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    old_handler, new_handler = SessionCountingSink(), SessionCountingSink()
    old = smtp_server("plain", auth=False, handler=old_handler)
    new = smtp_server("plain", auth=False, handler=new_handler)
    setup = Setup([_profile(old)], keep_idle_s=60)
    setup.enqueue()
    await setup.sender.run_once()
    setup.config = Config(profiles={"main": _profile(new)}, default_profile="main", delivery=setup.config.delivery)
    setup.enqueue()
    await setup.sender.run_once()

    assert (len(old_handler.messages), len(new_handler.messages)) == (1, 1)
    assert old_handler.quit == 1
    await setup.sender.close_idle_connections()


@pytest.mark.asyncio
async def test_an_idle_connection_gives_its_slot_to_another_profile_of_the_same_mailbox(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    # Two profiles that sign in to the same mailbox share its connection limit (here 1).
    main = replace(_profile(server), username="shared@example.com")
    alerts = replace(_profile(server, "alerts", "alerts@example.com"), username="shared@example.com")
    setup = Setup([main, alerts], keep_idle_s=3600,
                  limits={ProviderKind.SMTP.value: ProviderLimits(max_connections=1)})
    setup.enqueue("main")
    await setup.sender.run_once()
    setup.enqueue("alerts")
    # Without giving the slot back, this round would wait for main's kept connection for an hour.
    assert await asyncio.wait_for(setup.sender.run_once(), 10) == 1
    assert handler.quit == 1 and len(handler.messages) == 2
    await setup.sender.close_idle_connections()


@pytest.mark.asyncio
async def test_the_running_sender_closes_its_kept_connection_when_it_stops(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=3600)
    setup.enqueue()
    stop = asyncio.Event()
    running = asyncio.create_task(setup.sender.run(stop, poll_s=0.05))
    await eventually(lambda: len(handler.messages) == 1, "the delivery", timeout_s=10)
    assert handler.quit == 0
    stop.set()
    await asyncio.wait_for(running, 10)
    assert handler.quit == 1


@pytest.mark.asyncio
async def test_a_server_limit_of_messages_per_session_costs_a_new_connection_not_a_retry(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    handler.messages_per_session = 2
    setup = Setup([_profile(server)], keep_idle_s=0)
    ids = [setup.enqueue() for _ in range(5)]
    assert await setup.sender.run_once() == 5

    assert [(setup.outbox.get(i).state, setup.outbox.get(i).attempts) for i in ids] == [(MessageState.SENT, 1)] * 5
    assert setup.opened == 3 and setup.slept == [] and len(handler.messages) == 5


@pytest.mark.asyncio
async def test_a_timeout_on_a_connection_that_carried_mail_is_still_a_retry_later(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    handler = SessionCountingSink()
    server = smtp_server("plain", auth=False, handler=handler)
    handler.slow_after = 1  # the second message waits longer than the profile's timeout
    setup = Setup([replace(_profile(server), timeout_s=0.5)], keep_idle_s=0)
    first, second = setup.enqueue(), setup.enqueue()
    await setup.sender.run_once()

    assert setup.outbox.get(first).state is MessageState.SENT
    later = setup.outbox.get(second)
    assert later.state is MessageState.QUEUED and later.diagnosis_code == "timeout"
    assert setup.opened == 1  # a slow server is not asked again at once on a new connection


@pytest.mark.asyncio
async def test_a_connection_older_than_the_reuse_limit_is_closed_instead_of_kept(
        sink: tuple[RunningSmtpServer, SessionCountingSink]) -> None:
    server, handler = sink
    setup = Setup([_profile(server)], keep_idle_s=60)
    setup.sender.reuse_time_limit_s = 0
    setup.enqueue()
    await setup.sender.run_once()
    assert handler.quit == 1
    setup.enqueue()
    await setup.sender.run_once()
    assert (setup.opened, handler.ehlo, handler.quit) == (2, 2, 2)
