"""A probe releases its connection before it returns, whether it succeeded, failed or was cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import pytest
import trustme

from tests.fixtures.open_sockets import open_client_sockets_to
from tests.fixtures.smtp_servers import SmtpServerFactory, server_context
from wizard.services.autodetect.https_get import verified_context
from wizard.services.autodetect.probe import ProbeError, ProbeResult, probe_endpoint

HOST = "smtp.probe.example.test"


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "port"), [("starttls", 587), ("tls", 465)])
async def test_a_successful_probe_leaves_no_socket_open(smtp_server: SmtpServerFactory, trusted_ca: trustme.CA,
                                                        ca_file: str, mode: str, port: int) -> None:
    context = server_context(trusted_ca, HOST)
    server = smtp_server(mode, extra_kwargs={"ssl_context" if mode == "tls" else "tls_context": context})

    result = await probe_endpoint(HOST, port, tls_context=verified_context(ca_file), timeout_s=5,
                                  connect_to={(HOST, port): ("127.0.0.1", server.port)})

    assert isinstance(result, ProbeResult) and "PLAIN" in result.auth_mechanisms
    assert open_client_sockets_to(server.port) == []


@pytest.mark.asyncio
async def test_a_rejected_certificate_leaves_no_socket_open(smtp_server: SmtpServerFactory, ca_file: str) -> None:
    server = smtp_server("tls")  # certificate for localhost, not HOST

    with pytest.raises(ProbeError, match="certificate not trusted"):
        await probe_endpoint(HOST, 465, tls_context=verified_context(ca_file), timeout_s=5,
                             connect_to={(HOST, 465): ("127.0.0.1", server.port)})

    assert open_client_sockets_to(server.port) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("delay_s", [0.0, 0.002, 0.01, 0.03])
async def test_cancelling_a_probe_at_any_point_leaves_no_socket_open(smtp_server: SmtpServerFactory,
                                                                     trusted_ca: trustme.CA, ca_file: str,
                                                                     delay_s: float) -> None:
    server = smtp_server("starttls", extra_kwargs={"tls_context": server_context(trusted_ca, HOST)})
    task = asyncio.create_task(probe_endpoint(HOST, 587, tls_context=verified_context(ca_file), timeout_s=5,
                                              connect_to={(HOST, 587): ("127.0.0.1", server.port)}))
    await asyncio.sleep(delay_s)

    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert open_client_sockets_to(server.port) == []


@pytest.mark.asyncio
async def test_cancelling_a_probe_inside_a_silent_tls_session_leaves_no_socket_open(trusted_ca: trustme.CA,
                                                                                    ca_file: str) -> None:
    """The server completes the TLS handshake, then never greets nor answers close_notify: a polite close would
    keep the socket open for asyncio's 30 s shutdown timeout, long after the probe was cancelled."""
    context = server_context(trusted_ca, HOST)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    handshaken = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        connection, _ = listener.accept()
        held.append(connection)
        tls = context.wrap_socket(connection, server_side=True)
        held.append(tls)
        handshaken.set()
        tls.settimeout(10)
        with contextlib.suppress(OSError):
            while tls.recv(1024):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    task = asyncio.create_task(probe_endpoint(HOST, 465, tls_context=verified_context(ca_file), timeout_s=30,
                                              connect_to={(HOST, 465): ("127.0.0.1", port)}))
    try:
        assert await asyncio.to_thread(handshaken.wait, 10)
        await asyncio.sleep(0.2)  # the client has finished its side of the handshake and awaits the greeting
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        assert open_client_sockets_to(port) == []
    finally:
        for sock in (*held, listener):
            sock.close()
        thread.join(timeout=10)
