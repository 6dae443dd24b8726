"""Installing `mailwright serve` as a service: a plan of steps, shown by `--dry-run` and carried out by `install`.

A plan is data (files to write, commands to run, secrets to move), so what `--dry-run` prints is exactly what
`install` does, and tests check the plan without touching the machine. Secrets are moved last, after the service
files are in place: from the admin's keyring into the service store, encrypted with a new 32-byte key that only
the service manager can hand back (systemd-creds; DPAPI; a root-only file).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard.services.service_units import (
    CREDENTIAL_PATH,
    LAUNCHD_LABEL,
    MACOS_KEY_FILE,
    SERVICE_NAME,
    SYSTEM_HOME,
    SYSTEM_USER,
    ServiceSpec,
    launchd_path,
    launchd_plist,
    systemd_path,
    systemd_unit,
)
from wizard.services.store_key import KEY_CREDENTIAL


class ServiceInstallError(RuntimeError):
    """A step failed; the message names it and what was already done."""


@dataclass(frozen=True)
class WriteFile:
    path: Path
    content: bytes
    mode: int = 0o644

    def describe(self) -> str:
        return f"write {self.path} (mode {self.mode:o}):\n" + self.content.decode(errors="replace")


@dataclass(frozen=True)
class RunCommand:
    argv: tuple[str, ...]
    stdin_is_key: bool = False  # the new store key is piped in (never on the command line)
    may_fail: bool = False  # e.g. a system user that already exists

    def describe(self) -> str:
        return "run " + " ".join(self.argv) + ("   (the new 32-byte store key on stdin)" if self.stdin_is_key else "")


@dataclass(frozen=True)
class MoveSecrets:
    profiles: tuple[str, ...]
    store_home: Path

    def describe(self) -> str:
        names = ", ".join(self.profiles) or "(no profiles)"
        return (f"move the secrets of {names} and the relay users from your keyring into the encrypted service "
                f"store {self.store_home / 'service-secrets.bin'}; copy config.toml and the token caches")


Step = WriteFile | RunCommand | MoveSecrets


@dataclass(frozen=True)
class InstallPlan:
    platform: str
    spec: ServiceSpec
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        lines = [f"Service for {self.platform} ({'system' if self.spec.system else 'user'}):"]
        lines += [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def default_command() -> tuple[str, ...]:
    """How the service starts this same Mailwright: the frozen app itself, or this Python with `-m wizard`."""
    if getattr(sys, "frozen", False):
        return (sys.executable,)
    return (sys.executable, "-m", "wizard")


def plan_install(spec: ServiceSpec, profiles: Sequence[str], *, platform: str = sys.platform,
                 user_home: Path | None = None) -> InstallPlan:
    user_home = user_home or Path.home()
    if platform.startswith("linux"):
        return _plan_linux(spec, tuple(profiles), user_home)
    if platform == "darwin":
        return _plan_macos(spec, tuple(profiles), user_home)
    if platform == "win32":
        return _plan_windows(spec, tuple(profiles))
    raise ServiceInstallError(f"Installing a service is not supported on {platform}.")


def _plan_linux(spec: ServiceSpec, profiles: tuple[str, ...], user_home: Path) -> InstallPlan:
    unit = WriteFile(systemd_path(spec, user_home), systemd_unit(spec).encode())
    if not spec.system:
        return InstallPlan("Linux (systemd user unit)", spec, (
            unit,
            RunCommand(("systemctl", "--user", "daemon-reload")),
            RunCommand(("systemctl", "--user", "enable", "--now", f"{SERVICE_NAME}.service")),
        ), notes=(
            "A user service stops when you log off unless lingering is on: `loginctl enable-linger` keeps it "
            "running (`mailwright service install --user --linger` runs it for you).",
            "A user service reads secrets from your desktop keyring, which must be unlocked.",
        ))
    return InstallPlan("Linux (systemd)", spec, (
        RunCommand(("useradd", "--system", "--home-dir", str(SYSTEM_HOME), "--no-create-home", "--shell",
                    "/usr/sbin/nologin", SYSTEM_USER), may_fail=True),
        RunCommand(("install", "-d", "-m", "0700", "-o", SYSTEM_USER, "-g", SYSTEM_USER, str(SYSTEM_HOME))),
        RunCommand(("install", "-d", "-m", "0700", str(CREDENTIAL_PATH.parent))),
        RunCommand(("systemd-creds", "encrypt", f"--name={KEY_CREDENTIAL}", "-", str(CREDENTIAL_PATH)),
                   stdin_is_key=True),
        MoveSecrets(profiles, SYSTEM_HOME),
        RunCommand(("chown", "-R", f"{SYSTEM_USER}:{SYSTEM_USER}", str(SYSTEM_HOME))),
        unit,
        RunCommand(("systemctl", "daemon-reload")),
        RunCommand(("systemctl", "enable", "--now", f"{SERVICE_NAME}.service")),
    ), notes=(
        "The store key is sealed by systemd-creds with the TPM2 chip when there is one, else with the host key "
        "(/var/lib/systemd/credential.secret); systemd hands it to the service only while it runs.",
    ))


def _plan_macos(spec: ServiceSpec, profiles: tuple[str, ...], user_home: Path) -> InstallPlan:
    home = Path("/Library/Application Support/Mailwright") if spec.system else (
        user_home / "Library" / "Application Support" / "mailwright")
    plist = WriteFile(launchd_path(spec, user_home), launchd_plist(spec, home))
    target = "system" if spec.system else f"gui/{os.getuid() if hasattr(os, 'getuid') else 0}"
    steps: list[Step] = [plist]
    if spec.system:
        steps = [RunCommand(("install", "-d", "-m", "0700", str(home))),
                 RunCommand(("install", "-m", "0400", "/dev/stdin", str(MACOS_KEY_FILE)), stdin_is_key=True),
                 MoveSecrets(profiles, home), plist]
    steps.append(RunCommand(("launchctl", "bootstrap", target, str(launchd_path(spec, user_home)))))
    return InstallPlan("macOS (launchd)", spec, tuple(steps), notes=(
        "Written from launchd.plist(5); not run on macOS by Mailwright's tests.",
        "A LaunchDaemon runs as the _mailwright user (create it with dscl or sysadminctl first).",
    ))


def _plan_windows(spec: ServiceSpec, profiles: tuple[str, ...]) -> InstallPlan:
    program_data = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Mailwright"
    host = (spec.command[0], "-m", "wizard.windows_service")
    return InstallPlan("Windows (service)", spec, (
        RunCommand((*host, "--username", "NT SERVICE\\Mailwright", "--startup", "auto", "install")),
        RunCommand(("icacls", str(program_data), "/inheritance:r", "/grant:r", "NT SERVICE\\Mailwright:(OI)(CI)F",
                    "/grant:r", "Administrators:(OI)(CI)F")),
        RunCommand((spec.command[0], "-c", "import sys, win32crypt; open(sys.argv[1], 'wb').write(win32crypt."
                    "CryptProtectData(sys.stdin.buffer.read(), 'mailwright-store-key', None, None, None, 4))",
                    str(program_data / "store-key.dpapi")), stdin_is_key=True),
        MoveSecrets(profiles, program_data),
        WriteFile(program_data / "service-arguments.json",
                  json.dumps(spec.serve_arguments()[len(spec.command):]).encode()),
        RunCommand((*host, "start")),
    ), notes=(
        "The store key is protected with machine-scope DPAPI (CryptProtectData with CRYPTPROTECT_LOCAL_MACHINE = 4) "
        f"in {program_data}, whose ACL admits only NT SERVICE\\Mailwright and Administrators.",
        "The service host is pywin32's service framework (wizard/windows_service.py). Written from the pywin32, "
        "icacls and DPAPI documentation; not run on Windows by Mailwright's tests.",
    ))


def plan_uninstall(spec: ServiceSpec, *, platform: str = sys.platform, user_home: Path | None = None) -> InstallPlan:
    user_home = user_home or Path.home()
    if platform.startswith("linux"):
        scope = () if spec.system else ("--user",)
        return InstallPlan("Linux (systemd)", spec, (
            RunCommand(("systemctl", *scope, "disable", "--now", f"{SERVICE_NAME}.service"), may_fail=True),
            RunCommand(("rm", "-f", str(systemd_path(spec, user_home)))),
            RunCommand(("systemctl", *scope, "daemon-reload")),
        ), notes=(f"The data home {SYSTEM_HOME} (outbox, config, service store) is kept; remove it yourself once "
                  "its mail is delivered.",))
    if platform == "darwin":
        target = "system" if spec.system else f"gui/{os.getuid() if hasattr(os, 'getuid') else 0}"
        return InstallPlan("macOS (launchd)", spec, (
            RunCommand(("launchctl", "bootout", f"{target}/{LAUNCHD_LABEL}"), may_fail=True),
            RunCommand(("rm", "-f", str(launchd_path(spec, user_home)))),
        ))
    host = (spec.command[0], "-m", "wizard.windows_service")
    return InstallPlan("Windows (service)", spec, (
        RunCommand((*host, "stop"), may_fail=True),
        RunCommand((*host, "remove")),
    ))


def carry_out(plan: InstallPlan, key: bytes, move_secrets: Callable[[MoveSecrets, bytes], list[str]],
              report: Callable[[str], None]) -> None:
    """Run the plan's steps in order; stop at the first failure, naming it (the steps before it stay done)."""
    for number, step in enumerate(plan.steps, 1):
        report(f"{number}. {step.describe().splitlines()[0]}")
        if isinstance(step, WriteFile):
            step.path.parent.mkdir(parents=True, exist_ok=True)
            step.path.write_bytes(step.content)
            step.path.chmod(step.mode)
        elif isinstance(step, MoveSecrets):
            for line in move_secrets(step, key):
                report(f"   {line}")
        else:
            if shutil.which(step.argv[0]) is None:
                raise ServiceInstallError(f"Step {number} needs {step.argv[0]}, which is not installed.")
            done = subprocess.run(step.argv, input=key if step.stdin_is_key else None, capture_output=True,
                                  check=False, timeout=120)
            if done.returncode != 0 and not step.may_fail:
                raise ServiceInstallError(f"Step {number} failed ({' '.join(step.argv)}): "
                                          f"{done.stderr.decode(errors='replace').strip()}")


def elevated(argv: Sequence[str], *, platform: str = sys.platform) -> list[str] | None:
    """`argv` run with the platform's elevation prompt (pkexec, an administrator prompt, UAC), or None when this
    machine has no such prompt (then the person runs the command themselves, e.g. with sudo)."""
    if platform.startswith("linux"):
        return ["pkexec", *argv] if shutil.which("pkexec") else None
    if platform == "darwin":
        script = f"do shell script {_applescript_quoted(shlex.join(argv))} with administrator privileges"
        return ["osascript", "-e", script]
    if platform == "win32":
        arguments = ",".join(f"'{part}'" for part in argv[1:])
        return ["powershell", "-NoProfile", "-Command",
                f"Start-Process -FilePath '{argv[0]}' -ArgumentList {arguments} -Verb RunAs -Wait"]
    return None


def _applescript_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
