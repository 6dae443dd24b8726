"""The Mailwright icon, from the PNGs that packaging/make_icons.py renders from the SVG at each size."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

ICON_DIR = Path(__file__).parent / "resources" / "icons"


def bundled_sizes() -> list[int]:
    """The pixel sizes of the bundled mailwright-N.png files, smallest first."""
    return sorted(int(p.stem.rsplit("-", 1)[1]) for p in ICON_DIR.glob("mailwright-*.png"))


def app_icon() -> QIcon:
    """Every bundled size, so a 16 px title bar or taskbar gets the drawing made for 16 px, not a shrunk 256.

    The files are decoded on demand, when a size is first painted.
    """
    icon = QIcon()
    for size in bundled_sizes():
        icon.addFile(str(ICON_DIR / f"mailwright-{size}.png"), QSize(size, size))
    return icon
