"""The tray icon: the worst account state at a glance, and open / pause-resume sending / quit.

`TrayModel` holds what the tray shows (badge colour and symbol, tooltip, menu texts) and is what tests check:
on platforms without a system tray (and offscreen) the main window shows the same alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from wizard.app_icon import ICON_DIR, bundled_sizes
from wizard.services.health import HealthState, ProfileHealth, worst_state
from wizard.widgets.colours import on_colour_text

STATE_COLOURS = {
    HealthState.OK: "#2e7d32",
    HealthState.DISABLED: "#757575",
    HealthState.WARNING: "#f9a825",
    HealthState.FAILING: "#c62828",
    HealthState.PAUSED: "#c62828",
}
SENDING_PAUSED_COLOUR = "#757575"


class Symbol(StrEnum):
    """The mark in the tray badge: the state is told by shape too, not by colour alone (red/green blindness)."""

    CHECK = "check"
    EXCLAMATION = "exclamation"
    CROSS = "cross"
    PAUSE = "pause"
    DASH = "dash"


STATE_SYMBOLS = {
    HealthState.OK: Symbol.CHECK,
    HealthState.DISABLED: Symbol.DASH,
    HealthState.WARNING: Symbol.EXCLAMATION,
    HealthState.FAILING: Symbol.CROSS,
    HealthState.PAUSED: Symbol.CROSS,  # the account stopped on an error: a failure, not the admin's pause
}
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128)  # tray slots are 16-24 px, twice that on high-DPI screens


def _app_tile(size: int) -> QPixmap:
    """The app icon drawn from the bundled PNG nearest above `size` (the PNGs are made from the SVG)."""
    bundled = bundled_sizes()
    source = next((n for n in bundled if n >= size), bundled[-1] if bundled else 0)
    pixmap = QPixmap(str(ICON_DIR / f"mailwright-{source}.png")) if source else QPixmap()
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(QColor("#1a4fa3"))
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def _draw_symbol(painter: QPainter, symbol: Symbol, centre: QPointF, radius: float, colour: QColor) -> None:
    pen = QPen(colour, max(1.5, radius * 0.32), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
               Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    x, y, r = centre.x(), centre.y(), radius * 0.5
    if symbol is Symbol.CHECK:
        painter.drawPolyline([QPointF(x - r, y), QPointF(x - r * 0.25, y + r * 0.75), QPointF(x + r, y - r * 0.7)])
    elif symbol is Symbol.CROSS:
        painter.drawLine(QPointF(x - r * 0.8, y - r * 0.8), QPointF(x + r * 0.8, y + r * 0.8))
        painter.drawLine(QPointF(x - r * 0.8, y + r * 0.8), QPointF(x + r * 0.8, y - r * 0.8))
    elif symbol is Symbol.EXCLAMATION:
        painter.drawLine(QPointF(x, y - r), QPointF(x, y + r * 0.2))
        painter.drawPoint(QPointF(x, y + r * 0.95))
    elif symbol is Symbol.PAUSE:
        painter.drawLine(QPointF(x - r * 0.45, y - r * 0.8), QPointF(x - r * 0.45, y + r * 0.8))
        painter.drawLine(QPointF(x + r * 0.45, y - r * 0.8), QPointF(x + r * 0.45, y + r * 0.8))
    else:
        painter.drawLine(QPointF(x - r * 0.8, y), QPointF(x + r * 0.8, y))


def state_pixmap(colour: str, symbol: Symbol, size: int) -> QPixmap:
    """The app icon with a badge in its lower right corner: the state's colour and symbol, framed in white so
    it stands out on light and dark panels."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawPixmap(0, 0, _app_tile(size))
    radius = size * 0.3
    centre = QPointF(size - radius - size * 0.02, size - radius - size * 0.02)
    painter.setPen(QPen(QColor("#ffffff"), max(1.0, size * 0.05)))
    painter.setBrush(QColor(colour))
    painter.drawEllipse(centre, radius, radius)
    _draw_symbol(painter, symbol, centre, radius, on_colour_text(colour))
    painter.end()
    return pixmap


def state_icon(colour: str, symbol: Symbol = Symbol.CHECK) -> QIcon:
    """One pixmap per common tray size, so that no size is a blurry scaling of another."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(state_pixmap(colour, symbol, size))
    return icon


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
    def symbol(self) -> Symbol:
        return Symbol.PAUSE if self.sending_paused else STATE_SYMBOLS[self.worst]

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
        """One label per action, the same in the window and the tray menu: starting for the first time and
        resuming after a pause are both "Start sending"."""
        return "Pause sending" if self.sender_started and not self.sending_paused else "Start sending"

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
        self._look: tuple[str, Symbol] | None = None
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
        look = (self.model.colour, self.model.symbol)
        if look != self._look:  # the refresh runs every few seconds; the icon rarely changes
            self._look = look
            self.setIcon(state_icon(*look))
        self.setToolTip(self.model.tooltip)
        self.pause_action.setText(self.model.pause_text)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.window.bring_to_front()

    def _show_alert(self, title: str, text: str) -> None:
        if self.isVisible() and self.supportsMessages():
            self.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning)
