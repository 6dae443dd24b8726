"""One writer at a time: parallel `mailwright` processes never lose each other's changes to config.toml.

Real processes, started together and left to race; without the lock, 10 parallel `profile add` kept 5-7
profiles and 6 parallel `config set` kept 3-5 (issue 12).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wizard.services.config import ConfigStore
from wizard.services.settings import DeliverySettings


def _run_together(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    processes = [subprocess.Popen([sys.executable, "-m", "wizard", *command], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
                 for command in commands]
    results = []
    for process, command in zip(processes, commands, strict=True):
        stdout, stderr = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


def test_ten_parallel_profile_adds_keep_ten_profiles(data_home: Path) -> None:
    names = [f"parallel-{n}" for n in range(10)]
    results = _run_together([["profile", "add", name, "--provider", "smtp", "--host", "smtp.example.com",
                              "--from", f"{name}@example.com"] for name in names])
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results]
    assert sorted(ConfigStore().load().profiles) == sorted(names)


def test_six_parallel_config_sets_on_different_keys_keep_all_six(data_home: Path) -> None:
    wanted = {"send_interval_ms": 250, "retry_backoff_initial_s": 30, "retry_backoff_max_s": 900,
              "max_retry_time_s": 7200, "retention_days": 7, "max_concurrent_connections": 2}
    results = _run_together([["config", "set", f"delivery.{key}", str(value)] for key, value in wanted.items()])
    assert [r.returncode for r in results] == [0] * 6, [r.stderr for r in results]
    assert ConfigStore().load().delivery == DeliverySettings(**wanted)


def test_a_stale_tmp_file_is_removed_and_never_read(data_home: Path) -> None:
    store = ConfigStore()
    store.set("delivery.retention_days", "9")
    store.tmp_path.write_text("[delivery\nhalf written by a process that was killed", encoding="utf-8")
    assert store.load().delivery.retention_days == 9
    assert not store.tmp_path.exists()
    store.tmp_path.write_text("garbage", encoding="utf-8")
    store.set("delivery.retention_days", "10")
    assert not store.tmp_path.exists()
    assert store.load().delivery.retention_days == 10


def test_writes_leave_no_tmp_file_and_keep_the_lock_file_beside_the_config(data_home: Path) -> None:
    store = ConfigStore()
    store.set("delivery.enabled", "false")
    assert sorted(p.name for p in data_home.iterdir()) == ["config.toml", "config.toml.lock"]
