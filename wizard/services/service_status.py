"""Is Mailwright installed and running as a service here? Read from the service manager, never blocking a loop."""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass

from wizard.services.service_units import SERVICE_NAME


@dataclass(frozen=True)
class ServiceStatus:
    known: bool  # False: no service manager to ask (no systemctl, another platform)
    installed: bool = False
    active: str = ""  # systemd's ActiveState: active, inactive, failed, activating ...
    state: str = ""  # SubState: running, dead ...
    pid: int = 0
    status_text: str = ""  # what the service last told systemd (STATUS=)
    reason: str = ""  # why it is not known

    @property
    def running(self) -> bool:
        return self.installed and self.active == "active"

    def summary(self) -> str:
        if not self.known:
            return f"Service status unknown: {self.reason}"
        if not self.installed:
            return "No Mailwright service is installed."
        text = f"The Mailwright service is {self.active} ({self.state})"
        return text + (f": {self.status_text}" if self.status_text else ".")

    def to_json(self) -> dict[str, object]:
        return {"ok": self.known, "installed": self.installed, "active": self.active, "state": self.state,
                "pid": self.pid, "status": self.status_text, "reason": self.reason}


async def read_service_status(*, system: bool = True) -> ServiceStatus:
    if not sys.platform.startswith("linux") or shutil.which("systemctl") is None:
        return ServiceStatus(False, reason="only systemd is asked here (systemctl is not available)")
    scope = [] if system else ["--user"]
    process = await asyncio.create_subprocess_exec(
        "systemctl", *scope, "show", f"{SERVICE_NAME}.service",
        "--property", "LoadState,ActiveState,SubState,MainPID,StatusText",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        return ServiceStatus(False, reason=err.decode(errors="replace").strip() or "systemctl failed")
    values = dict(line.split("=", 1) for line in out.decode(errors="replace").splitlines() if "=" in line)
    if values.get("LoadState") != "loaded":
        return ServiceStatus(True, installed=False)
    pid = values.get("MainPID", "0")
    return ServiceStatus(True, installed=True, active=values.get("ActiveState", ""), state=values.get("SubState", ""),
                         pid=int(pid) if pid.isdigit() else 0, status_text=values.get("StatusText", ""))
