"""The submission TLS check releases its socket before it returns (no 'unclosed transport' later)."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.open_sockets import open_client_sockets_to
from tests.fixtures.smtp_servers import SmtpServerFactory
from wizard.services.dns_health.report import Status
from wizard.services.dns_health.submission import check_submission_tls


@pytest.mark.asyncio
@pytest.mark.parametrize("certificate", ["trusted", "untrusted"])
async def test_the_socket_is_closed_when_the_check_returns(smtp_server: SmtpServerFactory, certificate: str) -> None:
    server = smtp_server("starttls", certificate=certificate)

    result = await check_submission_tls(server.host, server.port, ca_file=server.ca_file, timeout_s=5)

    assert result.status is (Status.PASS if certificate == "trusted" else Status.FAIL), result.details
    assert open_client_sockets_to(server.port) == []


@pytest.mark.asyncio
async def test_cancelling_the_check_closes_the_socket(smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    task = asyncio.create_task(check_submission_tls(server.host, server.port, ca_file=server.ca_file, timeout_s=5))
    for _ in range(200):
        await asyncio.sleep(0.005)
        if open_client_sockets_to(server.port) or task.done():
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert open_client_sockets_to(server.port) == []
