"""Private files: the data home 0700, everything Mailwright writes there 0600, from creation on, and repaired at
start with a log line. Checked with the mode bits (POSIX; on Windows the user profile's ACL protects them)."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.isolated_logging import isolated_logging  # noqa: F401
from wizard.services.config import ConfigStore, data_home
from wizard.services.model import Profile, ProviderKind
from wizard.services.outbox import Outbox

pytestmark = [pytest.mark.usefixtures("isolated_logging"),
              pytest.mark.skipif(os.name != "posix", reason="mode bits: POSIX only (Windows: the profile's ACL)")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most desktops and services run with: 022 would leave new files readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def new_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "share" / "mailwright"  # not there yet: Mailwright creates it
    monkeypatch.setenv("MAILWRIGHT_HOME", str(home))
    return home


@pytest.mark.usefixtures("usual_umask")
def test_a_new_data_home_and_every_file_mailwright_creates_in_it_are_private(new_home: Path) -> None:
    from wizard.services.alerts import AlertEventLimiter, AlertTracker
    from wizard.services.health import DnsVerdict, DnsVerdictStore, Issue
    from wizard.services.logs import serve_logging
    from wizard.services.sender_lock import SenderLock

    assert data_home() == new_home and mode(new_home) == 0o700
    ConfigStore().save_profile(Profile(name="main", host="smtp.example.com", from_address="app@example.com"))
    outbox = Outbox()
    outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile="main", envelope_from="app@example.com",
                   recipients=["bob@example.net"])
    DnsVerdictStore().record(DnsVerdict("example.com", True, "ok", 0.0))
    tracker = AlertTracker(new_home / "alerts-state.json")
    tracker._save()
    AlertEventLimiter(new_home / "alert-events.json").claim("main", Issue.UNAUTHORIZED_SENDER, 0.0)
    lock = SenderLock.for_outbox(outbox.path)
    assert lock.try_acquire()
    with serve_logging(new_home, stderr=io.StringIO()) as log_file:
        logging.getLogger("wizard.test").warning("a line")
    files = ["config.toml", "outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm", "dns-verdicts.json",
             "alerts-state.json", "alert-events.json", "alert-events.json.lock", "outbox.sqlite3.sender.lock",
             "logs/mailwright.log"]
    try:
        assert {name: mode(new_home / name) for name in files} == dict.fromkeys(files, 0o600)
        assert mode(new_home / "logs") == 0o700 and log_file == new_home / "logs" / "mailwright.log"
    finally:
        lock.release()


@pytest.mark.usefixtures("usual_umask")
def test_token_caches_and_google_client_files_are_private(new_home: Path, profile_name: str) -> None:
    pytest.importorskip("secretstorage")
    from wizard.services.oauth import google, google_client, token_store

    data_home()
    try:
        token_store.save_blob(profile_name, b"{}")
        profile = Profile(name=profile_name, provider=ProviderKind.GMAIL)
        google.import_client_json(profile, '{"installed": {"client_id": "1.apps.googleusercontent.com", '
                                           '"auth_uri": "https://accounts.google.com/o/oauth2/auth", '
                                           '"token_uri": "https://oauth2.googleapis.com/token"}}')
        assert mode(token_store.cache_path(profile_name)) == 0o600 and mode(new_home / "tokens") == 0o700
        client_file = new_home / "google-clients" / f"{profile_name}.json"
        assert mode(client_file) == 0o600 and mode(client_file.parent) == 0o700
    finally:
        token_store.delete(profile_name)
        google_client.delete(profile_name)


@pytest.mark.usefixtures("usual_umask")
def test_each_rotated_log_file_is_created_private(tmp_path: Path) -> None:
    from wizard.services.logs import PrivateRotatingFileHandler

    path = tmp_path / "mailwright.log"
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
    try:
        for n in range(20):
            handler.emit(logging.LogRecord("wizard", logging.INFO, __file__, 1, f"line {n} " + "x" * 50, None, None))
    finally:
        handler.close()
    rotated = sorted(tmp_path.glob("mailwright.log*"))
    assert len(rotated) == 3 and {mode(p) for p in rotated} == {0o600}


def test_open_modes_left_by_an_older_version_are_repaired_at_start_with_a_log_line(
        data_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from wizard.services.logs import configure_logging

    (data_home / "config.toml").write_text("# old\n")
    (data_home / "logs").mkdir()
    (data_home / "tokens").mkdir()
    (data_home / "tokens" / "main.bin").write_bytes(b"x")
    outside = tmp_path / "not-ours.txt"
    outside.write_text("someone else's file")
    (data_home / "link-to-outside").symlink_to(outside)
    for path, open_mode in [(data_home, 0o755), (data_home / "config.toml", 0o644), (data_home / "logs", 0o755),
                            (data_home / "tokens", 0o775), (data_home / "tokens" / "main.bin", 0o666),
                            (outside, 0o644)]:
        os.chmod(path, open_mode)
    caplog.set_level(logging.WARNING, "wizard.services.private_files")
    configure_logging(data_home)
    assert mode(data_home) == 0o700 and mode(data_home / "logs") == 0o700 and mode(data_home / "tokens") == 0o700
    assert mode(data_home / "config.toml") == 0o600 and mode(data_home / "tokens" / "main.bin") == 0o600
    assert mode(outside) == 0o644  # a symbolic link is never followed out of the data home
    text = caplog.text
    assert f"Made {data_home / 'config.toml'} private" in text and "(mode 644, now 600)" in text
    assert f"Made {data_home / 'tokens' / 'main.bin'} private" in text


@pytest.mark.usefixtures("usual_umask")
def test_a_lock_s_folder_is_created_private(new_home: Path) -> None:
    """The certificate renewal's lock lives in <data home>/m365: made 0700 when created, not repaired afterwards
    with a warning at every first start of serve."""
    from wizard.services.sender_lock import SenderLock

    lock = SenderLock(data_home() / "m365" / "renewal.lock")
    assert lock.try_acquire()
    lock.release()
    assert mode(new_home / "m365") == 0o700
