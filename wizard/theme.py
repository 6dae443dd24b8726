"""Follow the system's light or dark colour scheme, also when it changes while the app runs.

Qt passes the system palette on, except through the Windows "windowsvista" style, which keeps a light
palette on a dark desktop; Fusion draws with whatever palette the platform gives (Qt 6.5+ platform
themes give a dark one in dark mode). Windows 11 ("windows11"), macOS and the Linux themes follow
the scheme themselves, so only that one style is replaced, and only while the system is dark.

Style sheets are resolved once: a colour derived from the palette (wizard.widgets.colours) and a
`palette(...)` reference keep the old palette's value after a switch. `PaletteFollower` sets every style
sheet again, with its derived parts computed anew, whenever the application palette changes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from wizard.widgets.colours import rederive

STYLES_WITHOUT_DARK_MODE = frozenset({"windowsvista"})


def needs_fusion(style_name: str, scheme: Qt.ColorScheme) -> bool:
    return scheme is Qt.ColorScheme.Dark and style_name.lower() in STYLES_WITHOUT_DARK_MODE


def refresh_style_sheets(app: QApplication) -> None:
    """Set every style sheet again (Qt resolves `palette(...)` anew) with derived colours for this palette."""
    if app.styleSheet():
        app.setStyleSheet(rederive(app.styleSheet()))
    for widget in app.allWidgets():
        if style_sheet := widget.styleSheet():
            widget.setStyleSheet(rederive(style_sheet))


class PaletteFollower(QWidget):
    """Never shown: every widget gets ApplicationPaletteChange, a plain QObject does not. The refresh waits
    for the next turn of the event loop, when every widget has taken the new palette."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.setObjectName("paletteFollower")
        self.app = app
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(lambda: refresh_style_sheets(self.app))

    def schedule_refresh(self) -> None:
        self._timer.start()  # several changes in one turn (palette, then style): one refresh

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self.schedule_refresh()
        return super().event(event)


_follower: PaletteFollower | None = None


def follow_system_colour_scheme(app: QApplication) -> PaletteFollower:
    """Switch to Fusion when the system is dark and the default style would stay light; from now on
    re-derive style sheets whenever the palette or the colour scheme changes. Once per application."""
    global _follower
    if _follower is not None and _follower.app is app:
        return _follower
    follower = _follower = PaletteFollower(app)
    _apply_scheme(app, app.styleHints().colorScheme())
    app.styleHints().colorSchemeChanged.connect(lambda scheme: _on_scheme_changed(app, follower, scheme))
    return follower


def _on_scheme_changed(app: QApplication, follower: PaletteFollower, scheme: Qt.ColorScheme) -> None:
    _apply_scheme(app, scheme)
    follower.schedule_refresh()  # also where the platform changes the scheme without a palette event


def _apply_scheme(app: QApplication, scheme: Qt.ColorScheme) -> None:
    if needs_fusion(app.style().name(), scheme):
        app.setStyle("Fusion")
