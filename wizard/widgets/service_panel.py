"""The main window's line about the system service: is one installed and running, and Install…/Remove….

Install and Remove run `mailwright service install|uninstall` behind the platform's elevation prompt (pkexec,
the macOS administrator prompt, UAC); where there is none, they show the exact command to run instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.qt_async import TaskTracker, async_slot
from wizard.services.service_install import default_command, elevated
from wizard.services.service_status import ServiceStatus, read_service_status

StatusReader = Callable[[], Awaitable[ServiceStatus]]


class CommandDialog(QDialog):
    """The command to run in a terminal, with a Copy button (no elevation prompt on this machine)."""

    def __init__(self, command: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run this command as an administrator")
        self.setObjectName("service_command_dialog")
        self.command = QLineEdit(command)
        self.command.setReadOnly(True)
        self.command.setObjectName("service_command")
        self.command.setAccessibleName("Command to run")
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(command))
        row = QHBoxLayout()
        row.addWidget(self.command, 1)
        row.addWidget(copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("This computer has no administrator prompt Mailwright can use. "
                                "Run this in a terminal (it asks for your password):"))
        layout.addLayout(row)
        layout.addWidget(buttons)


class ServicePanel(QWidget):
    def __init__(self, read_status: StatusReader | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("service_panel")
        self.read_status = read_status or read_service_status
        self.tasks = TaskTracker(self)
        self.label = QLabel("Service: checking…")
        self.label.setObjectName("service_status")
        self.label.setWordWrap(True)
        self.install = QPushButton("Install as a service…")
        self.install.setObjectName("service_install")
        self.install.setToolTip("Run Mailwright at boot, with nobody logged in (asks for an administrator)")
        self.remove = QPushButton("Remove service…")
        self.remove.setObjectName("service_remove")
        self.install.clicked.connect(self._on_install)
        self.remove.clicked.connect(self._on_remove)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.install)
        layout.addWidget(self.remove)
        self.status: ServiceStatus | None = None
        self.dialog: CommandDialog | None = None

    async def refresh(self) -> None:
        self.status = await self.read_status()
        self.label.setText(self.status.summary())
        self.install.setVisible(not (self.status.known and self.status.installed))
        self.remove.setVisible(self.status.known and self.status.installed)

    @async_slot()
    async def _on_install(self) -> None:
        await self.tasks.run(self._run("install"))

    @async_slot()
    async def _on_remove(self) -> None:
        await self.tasks.run(self._run("uninstall"))

    async def _run(self, action: str) -> None:
        argv = [*default_command(), "service", action]
        command = elevated(argv)
        if command is None:
            self.dialog = CommandDialog("sudo " + " ".join(argv), self)
            self.dialog.open()
            return
        self.label.setText(f"Waiting for the administrator prompt ({action})…")
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()
        await self.refresh()
        if process.returncode != 0:
            last = output.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {process.returncode}"]
            self.label.setText(f"{action.capitalize()} did not finish: {last[0]}")
