"""The tray icon: the worst account state at a glance, and open / pause-resume sending / quit.

`TrayModel` holds what the tray shows (icon colour, tooltip, menu texts) and is what tests check:
on platforms without a system tray (and offscreen) the main window shows the same alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from wizard.services.health import HealthState, ProfileHealth, worst_state

STATE_COLOURS = {
    HealthState.OK: "#2e7d32",
    HealthState.DISABLED: "#757575",
    HealthState.WARNING: "#f9a825",
    HealthState.FAILING: "#c62828",
    HealthState.PAUSED: "#c62828",
}
SENDING_PAUSED_COLOUR = "#757575"


def state_icon(colour: str, size: int = 64) -> QIcon:
    """A filled circle in the state's colour: readable at 16 px on light and dark panels."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#ffffff"))
    painter.setBrush(QColor(colour))
    margin = size // 8
    painter.drawEllipse(margin, margin, size - 2 * margin, size - 2 * margin)
    painter.end()
    return QIcon(pixmap)


class TrayModel(QObject):
    """What the tray says; `changed` after every update, `alert(title, text)` for a new problem."""

    changed = Signal()
    alert = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.healths: tuple[ProfileHealth, ...] = ()
        self.sending_paused = False
        self.sender_started = True  # False: the background sender has not run yet (nothing to resume)

    @property
    def worst(self) -> HealthState:
        return worst_state(self.healths)

    @property
    def colour(self) -> str:
        return SENDING_PAUSED_COLOUR if self.sending_paused else STATE_COLOURS[self.worst]

    @property
    def tooltip(self) -> str:
        if not self.sender_started:
            lines = ["Mailwright: background sender not running"]
        else:
            lines = ["Mailwright: sending paused" if self.sending_paused else "Mailwright"]
        if not self.healths:
            lines.append("No accounts configured")
        for health in self.healths:
            lines.append(f"{health.name}: {health.label}")
        return "\n".join(lines)

    @property
    def pause_text(self) -> str:
        if not self.sender_started:
            return "Start sending"
        return "Resume sending" if self.sending_paused else "Pause sending"

    def update(self, healths: Sequence[ProfileHealth], sending_paused: bool, sender_started: bool = True) -> None:
        self.healths = tuple(healths)
        self.sending_paused = sending_paused and sender_started
        self.sender_started = sender_started
        self.changed.emit()

    def announce(self, title: str, text: str) -> None:
        self.alert.emit(title, text)


class TrayHost(Protocol):
    """What the tray needs from the main window."""

    tray_model: TrayModel

    def bring_to_front(self) -> None: ...

    def toggle_sending(self) -> None: ...

    def request_quit(self) -> None: ...


class MailwrightTray(QSystemTrayIcon):
    """The icon in the system tray, driven by the main window's `TrayModel`."""

    def __init__(self, window: TrayHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.model = window.tray_model
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.open_action = self._action("Open Mailwright", window.bring_to_front)
        self.pause_action = self._action(self.model.pause_text, window.toggle_sending)
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", window.request_quit)
        self.setContextMenu(self.menu)
        self.activated.connect(self._on_activated)
        self.model.changed.connect(self.render)
        self.model.alert.connect(self._show_alert)
        self.render()

    def _action(self, text: str, slot: object) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    @classmethod
    def create_if_available(cls, window: TrayHost, parent: QObject | None = None) -> MailwrightTray | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = cls(window, parent)
        tray.show()
        return tray

    def render(self) -> None:
        self.setIcon(state_icon(self.model.colour))
        self.setToolTip(self.model.tooltip)
        self.pause_action.setText(self.model.pause_text)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.window.bring_to_front()

    def _show_alert(self, title: str, text: str) -> None:
        if self.isVisible() and self.supportsMessages():
            self.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning)
