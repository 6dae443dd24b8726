"""A sender that never dies (issue 12): a broken profile, a bug, a locked or full outbox stop nothing else."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import RunningSmtpServer
from tests.fixtures.waiting import eventually
from wizard.services.config import Config, ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import MAX_SEND_INTERVAL_MS, Sender
from wizard.services.sender_boundary import OUTBOX
from wizard.services.settings import DeliverySettings
from wizard.services.transports.base import BeforeData, SendResult, Transport
from wizard.services.transports.smtp import SmtpTransport

CHILD = Path(__file__).with_name("full_disk_child.py")


def message(to: str = "bob@example.net") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "app@example.com", to, "Invoice"
    mail.set_content("numbers")
    return mail


def starttls_profile(name: str, server: RunningSmtpServer, ca_file: str) -> Profile:
    return Profile(name=name, from_address="app@example.com", host=server.host, port=server.port,
                   security=Security.STARTTLS, ca_file=ca_file)


@pytest.mark.asyncio
@pytest.mark.parametrize("broken_ca", ["missing", "garbage"])
async def test_a_profile_whose_ca_file_is_missing_or_garbage_does_not_stop_the_healthy_one(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path, broken_ca: str) -> None:
    server = smtp_server("starttls", auth=False)
    bad_ca = data_home / "ca.pem"
    if broken_ca == "garbage":
        bad_ca.write_bytes(b"\x00not a certificate\xff")
    broken, healthy = starttls_profile("broken", server, str(bad_ca)), starttls_profile("healthy", server,
                                                                                        server.ca_file)
    config = Config(profiles={"broken": broken, "healthy": healthy}, default_profile="healthy")
    outbox = Outbox()
    held = outbox.enqueue(message(), profile="broken").id
    sent = outbox.enqueue(message(), profile="healthy").id
    sender = Sender(outbox, lambda: config)
    await sender.run_round()
    assert outbox.get(sent).state is MessageState.SENT and len(server.messages) == 1
    assert outbox.get(held).state is MessageState.HELD
    pause = outbox.paused_profiles()["broken"]
    assert pause.code == "ca_file_unreadable" and str(bad_ca) in pause.reply


@pytest.mark.slow
def test_serve_keeps_delivering_the_healthy_profile_when_another_ca_file_is_garbage(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("starttls", auth=False)
    bad_ca = data_home / "garbage.pem"
    bad_ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    store = ConfigStore()
    store.save_profile(starttls_profile("broken", server, str(bad_ca)))
    store.save_profile(starttls_profile("healthy", server, server.ca_file))
    outbox = Outbox()
    broken_id = outbox.enqueue(message(), profile="broken").id
    healthy_id = outbox.enqueue(message(), profile="healthy").id
    serve = subprocess.Popen([sys.executable, "-m", "wizard", "serve", "--poll-s", "0.05"],
                             env={**os.environ, "MAILWRIGHT_HOME": str(data_home)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        asyncio.run(eventually(lambda: outbox.get(healthy_id).state is MessageState.SENT
                               or serve.poll() is not None, "the healthy profile's message to be sent"))
        asyncio.run(eventually(lambda: outbox.get(broken_id).state is MessageState.HELD or serve.poll() is not None,
                               "the broken profile's mail to be held"))
        assert serve.poll() is None, serve.communicate()[1]
        assert outbox.get(healthy_id).state is MessageState.SENT
    finally:
        serve.terminate()
        _, stderr = serve.communicate(timeout=30)
    assert "Traceback" not in stderr


class ExplodingTransport(SmtpTransport):
    """A transport with a bug: its send raises something no transport expects."""

    async def send(self, sender: str, recipients: Sequence[str], raw: bytes, *,
                   before_data: BeforeData | None = None) -> SendResult:
        raise ZeroDivisionError("a bug in a transport")


@pytest.mark.asyncio
async def test_an_unexpected_error_is_internal_error_logged_and_retried_never_failed(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = smtp_server("plain", auth=False)
    plain = {"from_address": "app@example.com", "host": server.host, "port": server.port,
             "security": Security.NONE, "allow_plaintext_loopback": True}
    config = Config(profiles={"buggy": Profile(name="buggy", **plain), "fine": Profile(name="fine", **plain)},
                    delivery=DeliverySettings(max_retry_time_s=60))
    now = [2_000_000.0]

    async def factory(profile: Profile) -> Transport:
        kind = ExplodingTransport if profile.name == "buggy" else SmtpTransport
        return kind.for_profile(profile, None)

    outbox = Outbox(clock=lambda: now[0])
    buggy = outbox.enqueue(message(), profile="buggy").id
    fine = outbox.enqueue(message(), profile="fine").id
    sender = Sender(outbox, lambda: config, factory, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="wizard"):
        await sender.run_round()
    assert outbox.get(fine).state is MessageState.SENT
    retried = outbox.get(buggy)
    assert retried.state is MessageState.QUEUED and retried.diagnosis_code == "internal_error"
    problem = sender.problem_diagnoses["buggy"]
    assert problem.code == "internal_error" and "mailwright.log" in problem.fix
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
    now[0] += 3600  # far past max_retry_time_s: a bug of ours never fails the message as permanent
    await sender.run_round()
    again = outbox.get(buggy)
    assert again.state is MessageState.QUEUED and again.attempts == 2
    assert "fine" not in sender.problem_diagnoses


@pytest.mark.asyncio
async def test_an_absurd_send_interval_slows_the_sender_instead_of_crashing_it(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("plain", auth=False)
    profile = Profile(name="main", from_address="app@example.com", host=server.host, port=server.port,
                      security=Security.NONE, allow_plaintext_loopback=True)
    config = Config(profiles={"main": profile}, delivery=DeliverySettings(send_interval_ms=10**400))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    outbox = Outbox()
    ids = [outbox.enqueue(message(), profile="main").id for _ in range(2)]
    sender = Sender(outbox, lambda: config, sleep=sleep)
    assert await sender.run_round() == 2
    assert {outbox.get(i).state for i in ids} == {MessageState.SENT}
    assert slept == [MAX_SEND_INTERVAL_MS / 1000]


LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


class Locker:
    """A second process holding the outbox's write lock until `release()`."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.returncode is not None:
            return
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0
        self.process.stdout.close()


@pytest.mark.asyncio
async def test_an_outbox_locked_by_another_program_is_waited_out(
        smtp_server: Callable[..., RunningSmtpServer], data_home: Path) -> None:
    server = smtp_server("plain", auth=False)
    profile = Profile(name="main", from_address="app@example.com", host=server.host, port=server.port,
                      security=Security.NONE, allow_plaintext_loopback=True)
    config = Config(profiles={"main": profile})
    # SQLite's own wait is 30 s in production; here far shorter, so "locked for longer than that" is quick.
    outbox = Outbox(busy_timeout_s=0.05)
    message_id = outbox.enqueue(message(), profile="main").id
    locker = Locker(outbox.path)
    sender = Sender(outbox, lambda: config)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop, poll_s=0.01))
    try:
        await eventually(lambda: OUTBOX in sender.problem_diagnoses, "the sender to notice the lock")
        assert sender.problem_diagnoses[OUTBOX].code == "outbox_busy"
        await asyncio.sleep(0.2)  # it keeps meeting the lock, for many times SQLite's own wait
        assert not running.done() and outbox.get(message_id).state is MessageState.QUEUED
        locker.release()
        await eventually(lambda: outbox.get(message_id).state is MessageState.SENT, "the message to be sent")
        await eventually(lambda: OUTBOX not in sender.problem_diagnoses, "the problem to be cleared")
    finally:
        locker.release()
        stop.set()
        await running


@pytest.mark.asyncio
async def test_a_result_the_server_confirmed_is_recorded_after_the_lock_is_released(
        data_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(busy_timeout_s=0.05)
    outbox.enqueue(message(), profile="main")
    claimed = outbox.claim_batch("main", 1)[0]
    sender = Sender(outbox, lambda: Config())
    sender.storage.log_after_s = 0.0
    locker = Locker(outbox.path)
    with caplog.at_level(logging.WARNING, logger="wizard"):
        recording = asyncio.create_task(sender._store(outbox.mark_sent, claimed.id, "250 ok", {},
                                                      what="record a result"))
        try:
            await eventually(lambda: any("Waiting for the outbox" in r.getMessage() for r in caplog.records),
                             "the wait to be logged")
            assert not recording.done()
        finally:
            locker.release()
        await recording
    assert outbox.get(claimed.id).state is MessageState.SENT


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_available(), reason="needs user and mount namespaces (unshare -rm) for a tmpfs")
def test_a_full_disk_stops_claiming_shows_storage_full_and_resumes_by_itself(tmp_path: Path) -> None:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, str(CHILD),
                             str(mount_point)], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["while_full"] == {"problem": "storage_full", "sent": 0, "received": 0}
    assert report["after"] == {"problem": None, "sent": 3, "received": 3}
