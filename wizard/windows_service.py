"""The Windows service host (pywin32's service framework): runs `mailwright serve` for the Service Control Manager.

Installed by `mailwright service install` on Windows as the service `Mailwright` under the virtual account
`NT SERVICE\\Mailwright`. The host starts `serve` as a child process with the service's environment (data home in
ProgramData, the service secret store, its DPAPI-protected key) and restarts it if it ends; Stop ends the child,
which loses nothing (an interrupted send is due again from the outbox lease). Written from pywin32's
win32serviceutil documentation; not run on Windows by Mailwright's tests.

    python -m wizard.windows_service --username "NT SERVICE\\Mailwright" --startup auto install
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import servicemanager
import win32event
import win32service
import win32serviceutil

from wizard.services.service_units import KEYRING_BACKEND
from wizard.services.store_key import DPAPI_ENV

RESTART_DELAY_MS = 5000


def service_home() -> Path:
    return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "Mailwright"


class MailwrightService(win32serviceutil.ServiceFramework):  # type: ignore[misc]  # pywin32 has no stubs
    _svc_name_ = "Mailwright"
    _svc_display_name_ = "Mailwright mail delivery"
    _svc_description_ = "Delivers applications' mail through your own mail accounts (mailwright serve)."

    def __init__(self, args: list[str]) -> None:
        super().__init__(args)
        self.stop_event = win32event.CreateEvent(None, 0, 0, None)
        self.child: subprocess.Popen[bytes] | None = None

    def SvcStop(self) -> None:  # noqa: N802  (pywin32's name)
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
        win32event.SetEvent(self.stop_event)
        if self.child is not None:
            self.child.terminate()

    def SvcDoRun(self) -> None:  # noqa: N802  (pywin32's name)
        home = service_home()
        environment = {**os.environ, "MAILWRIGHT_HOME": str(home), "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
                       DPAPI_ENV: str(home / "store-key.dpapi")}
        servicemanager.LogInfoMsg("Mailwright service starting")
        while True:
            # `serve …` as `service install` wrote it (relay address, metrics).
            arguments = json.loads((home / "service-arguments.json").read_text())
            self.child = subprocess.Popen([sys.executable, "-m", "wizard", *arguments], env=environment)
            # Wake every RESTART_DELAY_MS: a stop request ends the loop, an ended child is started again.
            while win32event.WaitForSingleObject(self.stop_event, RESTART_DELAY_MS) == win32event.WAIT_TIMEOUT:
                if self.child.poll() is not None:
                    servicemanager.LogWarningMsg(f"mailwright serve ended ({self.child.returncode}); restarting")
                    break
            else:
                self.child.wait(timeout=30)
                return


if __name__ == "__main__":
    win32serviceutil.HandleCommandLine(MailwrightService)
