"""Follow the system's light or dark colour scheme.

Qt passes the system palette on, except through the Windows "windowsvista" style, which keeps a light
palette on a dark desktop; Fusion draws with whatever palette the platform gives (Qt 6.5+ platform
themes give a dark one in dark mode). Windows 11 ("windows11"), macOS and the Linux themes follow
the scheme themselves, so only that one style is replaced, and only while the system is dark.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

STYLES_WITHOUT_DARK_MODE = frozenset({"windowsvista"})


def needs_fusion(style_name: str, scheme: Qt.ColorScheme) -> bool:
    return scheme is Qt.ColorScheme.Dark and style_name.lower() in STYLES_WITHOUT_DARK_MODE


def follow_system_colour_scheme(app: QApplication) -> None:
    """Switch to Fusion when the system is dark and the default style would stay light."""
    _apply_scheme(app, app.styleHints().colorScheme())
    app.styleHints().colorSchemeChanged.connect(lambda scheme: _apply_scheme(app, scheme))


def _apply_scheme(app: QApplication, scheme: Qt.ColorScheme) -> None:
    if needs_fusion(app.style().name(), scheme):
        app.setStyle("Fusion")
