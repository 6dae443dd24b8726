"""The relay in its own process: accepts into the same outbox, wakes the sender, never outlives its parent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from tests.fixtures.waiting import eventually
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox
from wizard.services.relay_process import RelayProcess, RelaySpec, RelayStartError
from wizard.services.settings import parse_host_port

BODY = b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: via the child\r\n\r\nhello\r\n"


def _submit(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("app@example.com")
        client.rcpt("bob@example.net")
        return client.data(BODY)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """Running, and not a zombie nobody reaped (a container's init may not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def saved_profile(data_home: Path) -> Profile:
    profile = Profile(name="main", from_address="app@example.com")
    ConfigStore().save_profile(profile)
    return profile


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_the_child_commits_before_250_wakes_the_parent_and_frees_the_port_on_stop(data_home: Path) -> None:
    outbox = Outbox()
    port = free_port()
    woken = asyncio.Event()
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, outbox.path), on_queued=woken.set)
    await relay.start()
    try:
        assert relay.running and relay.pid != os.getpid()
        code, reply = await asyncio.to_thread(_submit, port)
        assert code == 250
        stored = outbox.messages()  # committed by the child before it answered
        assert len(stored) == 1 and stored[0].message_id.encode() in reply
        assert stored[0].profile == "main" and stored[0].state is MessageState.QUEUED
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await relay.stop()
    assert not relay.running
    assert _port_is_free(port)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_a_taken_port_or_a_remote_address_is_refused_with_the_reason(data_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RelayStartError) as busy:
            await RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, Outbox().path)).start()
    assert not busy.value.config_error
    assert "in use" in str(busy.value).lower()
    with pytest.raises(RelayStartError) as remote:
        await RelayProcess(RelaySpec.for_outbox("0.0.0.0", free_port(), Outbox().path)).start()
    assert remote.value.config_error
    assert "loopback" in str(remote.value)


def _relay_owner(port: int, data_home: Path, *, then: str) -> list[str]:
    """argv of a program that starts a relay on `port`, prints the child's pid, then runs the lines `then`."""
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from wizard.services.relay_process import RelayProcess, RelaySpec\n"
        "async def main():\n"
        f"    relay = RelayProcess(RelaySpec.for_outbox('127.0.0.1', {port}, Path(sys.argv[1])))\n"
        "    await relay.start()\n"
        "    print(relay.pid, flush=True)\n"
        f"{then}")
    return [sys.executable, "-c", script, str(data_home / "outbox.sqlite3")]


def _wait_until_gone(pid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.usefixtures("saved_profile")
def test_the_child_exits_when_its_parent_is_killed(data_home: Path) -> None:
    port = free_port()
    argv = _relay_owner(port, data_home, then=(
        "    await asyncio.Event().wait()\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"))
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "MAILWRIGHT_HOME": str(data_home)}) as parent:
        try:
            assert parent.stdout is not None
            child_pid = int(parent.stdout.readline())
            assert _alive(child_pid) and not _port_is_free(port)
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
            _wait_until_gone(child_pid)
            assert not _alive(child_pid), "the relay outlived its killed parent"
            assert _port_is_free(port)
        finally:
            parent.kill()


@pytest.mark.slow
@pytest.mark.usefixtures("saved_profile")
def test_a_program_that_never_stops_its_relay_still_exits(data_home: Path) -> None:
    # An error path that skips stop() must not leave the program hanging in its event loop's shutdown, which
    # waits for every executor thread: a thread watching the child until it exits would never end.
    port = free_port()
    argv = _relay_owner(port, data_home, then=(
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
        "    print('loop closed', flush=True)\n"))
    ended = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "MAILWRIGHT_HOME": str(data_home)})
    child_pid, last = ended.stdout.split()[0], ended.stdout.splitlines()[-1]
    assert (ended.returncode, last) == (0, "loop closed"), ended.stderr
    _wait_until_gone(int(child_pid))
    assert not _alive(int(child_pid)) and _port_is_free(port)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_the_apps_delivery_follows_a_changed_relay_setting_without_a_restart(data_home: Path) -> None:
    delivery = BackgroundDelivery(Outbox(), ConfigStore().load, poll_s=5)
    await delivery.start()
    try:
        assert delivery.relay is None
        first, second = free_port(), free_port()
        await delivery.apply_relay(("127.0.0.1", first))
        assert delivery.relay is not None and not delivery.relay_error
        assert (await asyncio.to_thread(_submit, first))[0] == 250
        await delivery.apply_relay(("127.0.0.1", second))  # moved: the old port is let go
        assert _port_is_free(first)
        assert (await asyncio.to_thread(_submit, second))[0] == 250
        await delivery.apply_relay(None)  # switched off
        assert delivery.relay is None and _port_is_free(second)
        assert len(delivery.outbox.messages()) == 2
    finally:
        await delivery.stop()


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_stopping_while_a_relay_change_is_still_starting_leaves_no_relay_running(data_home: Path) -> None:
    delivery = BackgroundDelivery(Outbox(), ConfigStore().load, poll_s=5)
    await delivery.start()
    first, second = free_port(), free_port()
    # The wizard saved a relay setting twice in a row, and the window closed before either relay listened.
    changes = [asyncio.create_task(delivery.apply_relay(("127.0.0.1", port))) for port in (first, second)]
    await asyncio.sleep(0)
    await delivery.stop()
    await asyncio.gather(*changes)

    assert delivery.relay is None
    assert _port_is_free(first) and _port_is_free(second)


def test_relay_addresses_parse_or_say_what_is_expected() -> None:
    assert parse_host_port("127.0.0.1:2525") == ("127.0.0.1", 2525)
    assert parse_host_port("[::1]:2600") == ("::1", 2600)
    for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":25", "host:port"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_host_port(bad)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_a_relay_child_that_dies_is_restarted_and_says_why_meanwhile(data_home: Path) -> None:
    port = free_port()
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, Outbox().path))
    await relay.start()
    try:
        first = relay.pid
        assert first is not None
        # Dies, and while it is down something else takes the port: the first restart fails and says so.
        os.kill(first, signal.SIGKILL)
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            for _ in range(200):
                try:
                    squatter.bind(("127.0.0.1", port))
                    break
                except OSError:
                    await asyncio.sleep(0.01)
            squatter.listen()
            await eventually(lambda: "cannot restart" in relay.error, "the failed restart", timeout_s=30)
            assert "in use" in relay.error and not relay.running
        # the port is free again: the next try works
        await eventually(lambda: not relay.error and relay.running, "the restart", timeout_s=30)
        assert relay.pid != first and relay.restarts == 1
        assert (await asyncio.to_thread(_submit, port))[0] == 250
    finally:
        await relay.stop()
    assert _port_is_free(port)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.usefixtures("saved_profile")
async def test_a_stop_cancelled_midway_still_ends_the_child_and_frees_the_port(data_home: Path) -> None:
    port = free_port()
    relay = RelayProcess(RelaySpec.for_outbox("127.0.0.1", port, Outbox().path))
    await relay.start()
    pid = relay.pid
    assert pid is not None
    stopping = asyncio.create_task(relay.stop())  # e.g. the window closing while the relay setting changes
    await asyncio.sleep(0.01)
    stopping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stopping  # cancelled, not ValueError("Cannot close a process while it is still running")
    await eventually(lambda: not _alive(pid) and _port_is_free(port), "the child to end", timeout_s=30)
