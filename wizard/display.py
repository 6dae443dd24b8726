"""Is there a screen Qt can open? Decided before a QApplication exists, because Qt aborts the process
(`could not connect to display`, `xcb-cursor0 or libxcb-cursor0 is needed`, exit 134) when there is none.

Linux only: on macOS and Windows there is always a window system. An explicit QT_QPA_PLATFORM other than
xcb (offscreen, wayland, vnc ...) is the user's choice and is not second-guessed.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

NO_DISPLAY = (
    "mailwright: no display found ({reason}), so the wizard cannot open here. On a server, set Mailwright up "
    "from the command line instead: `mailwright profile add NAME --from ADDRESS ...` saves an account, "
    "`mailwright check --profile NAME` proves it works, and `mailwright serve` delivers the queued mail "
    "(`mailwright --help` lists every command). `mailwright gui --page ID --screenshot FILE.png` renders a "
    "wizard page to a picture without a screen. On a desktop, start Mailwright from a terminal inside the "
    "graphical session (or with ssh -X)."
)
MISSING_LIBRARY = (
    "mailwright: the display {display} is there, but Qt's X11 plugin cannot load: {reason}. Install the Qt "
    "runtime libraries: on Debian or Ubuntu run `scripts/run` from the Mailwright folder (as root or with "
    "sudo), or `sudo apt-get install $(scripts/system-packages --list)`. Meanwhile the command line works "
    "(`mailwright --help`)."
)


_kept_connections: list[int] = []


def _xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def _x11_reason(display: str) -> str | None:
    """Why the X server `display` cannot be used (the plugin's libraries, or the connection), None if it can."""
    plugin = _xcb_plugin()
    if plugin is not None:
        try:
            ctypes.CDLL(str(plugin))  # loads its libraries too: a missing libxcb-* is named here, not by an abort
        except OSError as exc:
            return MISSING_LIBRARY.format(display=display, reason=exc)
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError as exc:
        return MISSING_LIBRARY.format(display=display, reason=exc)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    if xcb.xcb_connection_has_error(connection):
        xcb.xcb_disconnect(connection)
        return NO_DISPLAY.format(reason=f"the X server {display} does not answer")
    # Kept open until the process ends: an X server resets when its last client leaves (Xvfb under xvfb-run
    # has no other client), and Qt connecting during that reset fails as if there were no display.
    _kept_connections.append(connection)
    return None


def _wayland_socket(name: str) -> bool:
    path = Path(name) if name.startswith("/") else Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / name
    return path.exists()


def explain_missing_display() -> str | None:
    """One paragraph saying why no window can open here and what to do instead; None when one can."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform and platform != "xcb":
        return None
    display = os.environ.get("DISPLAY", "")
    wayland = os.environ.get("WAYLAND_DISPLAY", "")
    if not platform and wayland and _wayland_socket(wayland):
        return None
    if not display:
        reason = "DISPLAY is not set" if not wayland else f"DISPLAY is not set and Wayland's {wayland} is not there"
        return NO_DISPLAY.format(reason=reason)
    return _x11_reason(display)
