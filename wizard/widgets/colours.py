"""Text colours that stay readable in light and dark palettes.

Red for problems and green/amber/red for account states are chosen for a light window; on a dark one
they are too dim. `readable` keeps a colour's hue and moves its lightness until the WCAG contrast
with the palette's window colour is at least 4.5 (normal text, level AA).

A style derived from the application palette (no `palette` argument) carries its recipe in a style-sheet
comment, `/*derived:problem*/color: #…/*end*/`, so that `rederive` can compute it again for a new palette:
when the system switches between light and dark while the app runs, wizard.theme re-derives every widget's
style sheet, and the pages that use these styles need no code for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPixmap

MIN_CONTRAST = 4.5
PROBLEM_COLOUR = "#b00020"
NOTICE_BORDER = "#c77700"
_NOTICE_LIGHT = "#fff4e0"
_NOTICE_DARK = "#3d2c0d"


def relative_luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio, 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def current_palette(palette: QPalette | None = None) -> QPalette:
    return palette if palette is not None else QGuiApplication.palette()


def is_dark(palette: QPalette | None = None) -> bool:
    return current_palette(palette).color(QPalette.ColorRole.Window).lightnessF() < 0.5


def readable(colour: str | QColor, palette: QPalette | None = None) -> QColor:
    """`colour` with its lightness moved (away from the window's) until it contrasts 4.5:1 with the window."""
    pal = current_palette(palette)
    background = pal.color(QPalette.ColorRole.Window)
    base = QColor(colour)
    hue, saturation, lightness = max(base.hslHueF(), 0.0), base.hslSaturationF(), base.lightnessF()
    step = 0.04 if background.lightnessF() < 0.5 else -0.04
    candidate = QColor(colour)
    while contrast_ratio(candidate, background) < MIN_CONTRAST:
        lightness += step
        if not 0.0 <= lightness <= 1.0:
            return pal.color(QPalette.ColorRole.WindowText)
        candidate = QColor.fromHslF(hue, saturation, lightness)
    return candidate


def problem_colour(palette: QPalette | None = None) -> QColor:
    return readable(PROBLEM_COLOUR, palette)


def _follows_palette(recipe: str, style: str, palette: QPalette | None) -> str:
    """`style`, marked with its recipe when it was derived from the application palette."""
    return style if palette is not None else f"/*derived:{recipe}*/{style}/*end*/"


def problem_style(palette: QPalette | None = None) -> str:
    """The style sheet of a label that says what is wrong, in a red readable on this palette."""
    return _follows_palette("problem", f"color: {problem_colour(palette).name()}", palette)


def state_text_style(colour: str, palette: QPalette | None = None) -> str:
    """A bold state label ("● Failing") in the state's colour, readable on this palette."""
    style = f"color: {readable(colour, palette).name()}; font-weight: bold"
    return _follows_palette(f"state {QColor(colour).name()}", style, palette)


def on_colour_text(background: str | QColor) -> QColor:
    """Black or white, whichever reads better on `background` (a coloured banner)."""
    black, white = QColor("#000000"), QColor("#ffffff")
    fill = QColor(background)
    return black if contrast_ratio(black, fill) >= contrast_ratio(white, fill) else white


def banner_style(background: str) -> str:
    return (f"background: {background}; color: {on_colour_text(background).name()}; padding: 6px;"
            " border-radius: 4px")


def notice_style(palette: QPalette | None = None) -> str:
    """An amber-framed box for a warning: a pale fill on light palettes, a dark one on dark palettes."""
    fill = _NOTICE_DARK if is_dark(palette) else _NOTICE_LIGHT
    style = (f"QLabel {{ border: 1px solid {NOTICE_BORDER}; background: {fill}; color: {on_colour_text(fill).name()};"
             " padding: 8px; }")
    return _follows_palette("notice", style, palette)


_RECIPES: dict[str, Callable[[str], str]] = {
    "problem": lambda _argument: problem_style(),
    "state": lambda colour: state_text_style(colour),
    "notice": lambda _argument: notice_style(),
}
_DERIVED = re.compile(r"/\*derived:(\w+) ?([^*]*)\*/.*?/\*end\*/", re.DOTALL)


def rederive(style_sheet: str) -> str:
    """`style_sheet` with every derived part computed again from the current application palette."""

    def again(match: re.Match[str]) -> str:
        recipe = _RECIPES.get(match.group(1))
        return recipe(match.group(2)) if recipe is not None else match.group(0)

    return _DERIVED.sub(again, style_sheet)


def tinted(pixmap: QPixmap, colour: QColor) -> QPixmap:
    """The pixmap's shape in one colour: monochrome style glyphs (e.g. Fusion's media icons) are drawn black
    and vanish on a dark window; tinted with the palette's text colour they follow light and dark mode."""
    from PySide6.QtCore import Qt  # building PySide6's Qt namespace costs ~15 ms: not before the first paint

    result = QPixmap(pixmap.size())
    result.setDevicePixelRatio(pixmap.devicePixelRatio())
    result.fill(Qt.GlobalColor.transparent)
    painter = QPainter(result)
    painter.drawPixmap(0, 0, pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(result.rect(), colour)
    painter.end()
    return result
