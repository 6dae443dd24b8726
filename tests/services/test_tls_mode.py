"""A security mode that does not match the port is named, in both directions, instead of a 30 s timeout
(issue 14 item 2); the profile's timeout is the one the check and the sender wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.fixtures.smtp_servers import SmtpServerFactory
from wizard.services.check import StepStatus, check_smtp
from wizard.services.errors import Scope
from wizard.services.model import Profile, Security
from wizard.services.transports.base import TransportError
from wizard.services.transports.smtp import SmtpTransport

pytestmark = pytest.mark.asyncio


def profile(port: int, security: Security, ca_file: str, timeout_s: float = 30.0) -> Profile:
    # The default 30 s timeout: a detection that waited for it would report `timeout`, not the mode.
    return Profile(name="t", host="127.0.0.1", port=port, security=security, ca_file=ca_file,
                   from_address="app@example.com", timeout_s=timeout_s)


@pytest.mark.parametrize("chosen", [Security.STARTTLS, Security.NONE])
async def test_plain_greeting_expected_on_an_implicit_tls_port_is_a_mode_mismatch(
        smtp_server: SmtpServerFactory, chosen: Security) -> None:
    server = smtp_server("tls", auth=False)  # like port 465: TLS from the first byte, no plain greeting
    report = await check_smtp(profile(server.port, chosen, server.ca_file), None)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_mode_mismatch"
    assert "SSL/TLS" in report.diagnosis.fix and "465" in report.diagnosis.fix
    assert [s.name for s in report.steps if s.status is StepStatus.FAILED] == ["connect"]
    assert "firewall" not in report.diagnosis.fix


async def test_tls_handshake_meeting_a_plain_greeting_is_a_mode_mismatch(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", auth=False)  # like port 587: a plain greeting, then STARTTLS
    report = await check_smtp(profile(server.port, Security.TLS, server.ca_file), None)
    assert report.diagnosis is not None and report.diagnosis.code == "tls_mode_mismatch"
    assert "Choose STARTTLS" in report.diagnosis.fix
    assert [s.name for s in report.steps if s.status is StepStatus.FAILED] == ["tls"]


async def test_the_sender_holds_the_account_on_a_mode_mismatch(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("tls", auth=False)
    transport = SmtpTransport.for_profile(profile(server.port, Security.STARTTLS, server.ca_file), None)
    with pytest.raises(TransportError) as raised:
        await transport.open()
    assert raised.value.code == "tls_mode_mismatch" and raised.value.scope is Scope.ACCOUNT
    assert server.messages == []


@pytest_asyncio.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says or answers anything (a black-holing middlebox)."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_the_profile_timeout_is_the_time_the_check_waits(silent_port: int, ca_file: str) -> None:
    report = await check_smtp(profile(silent_port, Security.STARTTLS, ca_file, timeout_s=1.5), None)
    assert report.diagnosis is not None and report.diagnosis.code == "timeout"
    assert "within 1.5 seconds" in report.diagnosis.explanation
