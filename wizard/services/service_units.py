"""The files that make `mailwright serve` a service: a systemd unit, a launchd plist, a Windows service's settings.

Pure text from a `ServiceSpec`, so `service install --dry-run` prints exactly what `install` writes, and tests
check each against its platform's documented format (systemd-analyze verify, plistlib).
Sources: systemd.exec(5), systemd.service(5), systemd.resource-control(5); launchd.plist(5).
"""

from __future__ import annotations

import plistlib
import shlex
from dataclasses import dataclass
from pathlib import Path

from wizard.services.store_key import KEY_CREDENTIAL, KEY_FILE_ENV

SERVICE_NAME = "mailwright"
SYSTEM_USER = "mailwright"
SYSTEM_HOME = Path("/var/lib/mailwright")  # = StateDirectory=mailwright
CREDENTIAL_PATH = Path("/etc/mailwright") / f"{KEY_CREDENTIAL}.cred"
KEYRING_BACKEND = "wizard.services.service_keyring.ServiceStoreKeyring"
WATCHDOG_S = 60
LAUNCHD_LABEL = "org.mailwright.serve"
MACOS_KEY_FILE = Path("/Library/Application Support/Mailwright/store-key")
_HOME_TREES = ("/home", "/root", "/run/user")


@dataclass(frozen=True)
class ServiceSpec:
    command: tuple[str, ...]  # how to start Mailwright: (python, "-m", "wizard") or the frozen executable
    system: bool = True  # a system service (boot, dedicated user) or a desktop user's own service
    relay: tuple[str, int] | None = None
    allow_remote: bool = False
    metrics: tuple[str, int] | None = None

    def serve_arguments(self) -> list[str]:
        arguments = [*self.command, "serve", "--wait"]
        if self.relay is not None:
            arguments += ["--relay", f"{self.relay[0]}:{self.relay[1]}"]
        if self.allow_remote:
            arguments.append("--allow-remote")
        if self.metrics is not None:
            arguments += ["--metrics", f"{self.metrics[0]}:{self.metrics[1]}"]
        return arguments

    @property
    def binds_privileged_port(self) -> bool:
        return any(address is not None and address[1] < 1024 for address in (self.relay, self.metrics))


def systemd_unit(spec: ServiceSpec) -> str:
    """The unit: Type=notify with a watchdog, hardened; a system unit runs as its own user with the store key."""
    # ProtectHome=yes hides /home and /root: fine for a system install, fatal for a venv (or the Python it links
    # to, e.g. pyenv's) in someone's home.
    executables = (spec.command[0], str(Path(spec.command[0]).resolve()))
    protect_home = "read-only" if any(path.startswith(_HOME_TREES) for path in executables) else "yes"
    service = [
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={shlex.join(spec.serve_arguments())}",
        f"WatchdogSec={WATCHDOG_S}",
        "Restart=on-failure",
        "RestartSec=5",
        "UMask=0077",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if spec.system:
        service += [
            f"User={SYSTEM_USER}",
            f"Group={SYSTEM_USER}",
            f"StateDirectory={SERVICE_NAME}",
            "StateDirectoryMode=0700",
            f"Environment=MAILWRIGHT_HOME=%S/{SERVICE_NAME}",
            f"Environment=PYTHON_KEYRING_BACKEND={KEYRING_BACKEND}",
            f"LoadCredentialEncrypted={KEY_CREDENTIAL}:{CREDENTIAL_PATH}",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            f"ProtectHome={protect_home}",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "SystemCallArchitectures=native",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        ]
        if spec.binds_privileged_port:
            service += ["CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE"]
        else:
            service.append("CapabilityBoundingSet=")
    return "\n".join([
        "[Unit]",
        "Description=Mailwright: delivers applications' mail through your own mail accounts",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        *service,
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if spec.system else 'default.target'}",
        "",
    ])


def launchd_plist(spec: ServiceSpec, home: Path) -> bytes:
    """A LaunchDaemon (system: runs at boot, with the root-only store key) or a LaunchAgent (a user's session)."""
    environment = {"MAILWRIGHT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    if spec.system:
        environment |= {"PYTHON_KEYRING_BACKEND": KEYRING_BACKEND, KEY_FILE_ENV: str(MACOS_KEY_FILE)}
    document = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": spec.serve_arguments(),
        "EnvironmentVariables": environment,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "Umask": 0o077,
        "StandardOutPath": str(home / "logs" / "service-stdout.log"),
        "StandardErrorPath": str(home / "logs" / "service-stderr.log"),
    }
    if spec.system:
        document["UserName"] = "_mailwright"
    return plistlib.dumps(document)


def launchd_path(spec: ServiceSpec, user_home: Path) -> Path:
    folder = Path("/Library/LaunchDaemons") if spec.system else user_home / "Library" / "LaunchAgents"
    return folder / f"{LAUNCHD_LABEL}.plist"


def systemd_path(spec: ServiceSpec, user_home: Path) -> Path:
    folder = Path("/etc/systemd/system") if spec.system else user_home / ".config" / "systemd" / "user"
    return folder / f"{SERVICE_NAME}.service"
