"""The files `mailwright service install` writes, checked against their platforms' own validators and formats."""

from __future__ import annotations

import json
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.services.service_install import MoveSecrets, RunCommand, WriteFile, plan_install, plan_uninstall
from wizard.services.service_units import ServiceSpec, launchd_plist, systemd_unit

COMMAND = (sys.executable, "-m", "wizard")


def _verify(unit: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "mailwright.service"
    path.write_text(unit)
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False,
                          timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt-get install systemd)")
@pytest.mark.parametrize("spec", [
    ServiceSpec(COMMAND, relay=("127.0.0.1", 2525)),
    ServiceSpec(COMMAND, relay=("0.0.0.0", 587), allow_remote=True, metrics=("127.0.0.1", 9464)),
    ServiceSpec(COMMAND, system=False, relay=("127.0.0.1", 2525)),
], ids=["system-loopback", "system-port-587", "user"])
def test_the_unit_passes_systemd_analyze_verify_without_a_word(spec: ServiceSpec, tmp_path: Path) -> None:
    verified = _verify(systemd_unit(spec), tmp_path)
    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", "")


def test_a_system_unit_is_hardened_and_gets_the_store_key_from_systemd() -> None:
    unit = systemd_unit(ServiceSpec(COMMAND, relay=("127.0.0.1", 2525))).splitlines()
    for line in ("Type=notify", "WatchdogSec=60", "User=mailwright", "StateDirectory=mailwright",
                 "Environment=MAILWRIGHT_HOME=%S/mailwright", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=",
                 "LoadCredentialEncrypted=mailwright-store-key:/etc/mailwright/mailwright-store-key.cred",
                 "Environment=PYTHON_KEYRING_BACKEND=wizard.services.service_keyring.ServiceStoreKeyring"):
        assert line in unit
    assert any(line.startswith("ProtectHome=") for line in unit)
    assert not any("NET_BIND" in line for line in unit)


def test_only_a_port_below_1024_gets_the_one_capability_it_needs() -> None:
    unit = systemd_unit(ServiceSpec(COMMAND, relay=("0.0.0.0", 587), allow_remote=True)).splitlines()
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in unit
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit
    assert "CapabilityBoundingSet=" not in unit
    assert any(line.startswith("ExecStart=") and line.endswith("--relay 0.0.0.0:587 --allow-remote") for line in unit)


def test_a_venv_in_a_home_folder_is_not_hidden_from_the_service() -> None:
    unit = systemd_unit(ServiceSpec(("/home/admin/mailwright/.venv/bin/python", "-m", "wizard")))
    assert "ProtectHome=read-only" in unit.splitlines()


@pytest.mark.parametrize("system", [True, False], ids=["daemon", "agent"])
def test_the_launchd_plist_is_a_valid_property_list_with_what_launchd_needs(system: bool, tmp_path: Path) -> None:
    document = plistlib.loads(launchd_plist(ServiceSpec(COMMAND, system=system, relay=("127.0.0.1", 2525)),
                                            tmp_path))
    assert document["Label"] == "org.mailwright.serve"
    assert document["ProgramArguments"][-4:] == ["serve", "--wait", "--relay", "127.0.0.1:2525"]
    assert document["RunAtLoad"] is True and document["KeepAlive"] == {"SuccessfulExit": False}
    assert document["EnvironmentVariables"]["MAILWRIGHT_HOME"] == str(tmp_path)
    assert ("UserName" in document) is system
    assert ("MAILWRIGHT_STORE_KEY_FILE" in document["EnvironmentVariables"]) is system


def test_each_platform_plan_moves_secrets_and_never_puts_the_key_on_a_command_line() -> None:
    for platform in ("linux", "darwin", "win32"):
        plan = plan_install(ServiceSpec(COMMAND), ["main"], platform=platform, user_home=Path("/home/admin"))
        assert any(isinstance(step, MoveSecrets) and step.profiles == ("main",) for step in plan.steps), platform
        keyed = [step for step in plan.steps if isinstance(step, RunCommand) and step.stdin_is_key]
        assert len(keyed) == 1, platform
    linux = plan_install(ServiceSpec(COMMAND), ["main"], platform="linux")
    assert [step.argv[0] for step in linux.steps if isinstance(step, RunCommand)][-2:] == ["systemctl", "systemctl"]
    assert any(isinstance(step, WriteFile) and step.path == Path("/etc/systemd/system/mailwright.service")
               for step in linux.steps)
    user = plan_install(ServiceSpec(COMMAND, system=False), [], platform="linux", user_home=Path("/home/admin"))
    assert any("enable-linger" in note for note in user.notes)
    assert not any(isinstance(step, MoveSecrets) for step in user.steps)
    assert "is kept" in plan_uninstall(ServiceSpec(COMMAND), platform="linux").notes[0]


def test_dry_run_prints_the_plan_and_changes_nothing(data_home: Path) -> None:
    done = subprocess.run([*COMMAND, "service", "install", "--dry-run", "--relay", "127.0.0.1:2525", "--json"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["plan"]
    assert any("systemd-creds encrypt --name=mailwright-store-key -" in line for line in plan)
    assert any(line.startswith("ExecStart=") and "serve --wait --relay 127.0.0.1:2525" in line for line in plan)
    assert sorted(p.name for p in data_home.iterdir()) in ([], ["logs"])


def test_the_windows_service_host_gets_the_serve_arguments_and_a_dpapi_sealed_key() -> None:
    plan = plan_install(ServiceSpec(("C:/Mailwright/python.exe", "-m", "wizard"), relay=("127.0.0.1", 2525)), [],
                        platform="win32")
    written = {step.path.name: json.loads(step.content) for step in plan.steps if isinstance(step, WriteFile)}
    assert written == {"service-arguments.json": ["serve", "--wait", "--relay", "127.0.0.1:2525"]}
    commands = [step.argv for step in plan.steps if isinstance(step, RunCommand)]
    assert commands[0][-5:] == ("--username", "NT SERVICE\\Mailwright", "--startup", "auto", "install")
    assert any("CryptProtectData" in " ".join(argv) for argv in commands)


def test_a_notification_never_blocks_when_nobody_reads_the_socket(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from wizard.services.systemd_notify import notify

    path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    try:
        sent = [notify("WATCHDOG=1") for _ in range(500)]  # far more than the receiver's queue holds
    finally:
        receiver.close()
    assert sent[0] is True and sent[-1] is False
