"""Run by test_tray_host.py in a child process on an X display with a tray host (Qt's platform is chosen once
per process; the test session is offscreen). Prints one JSON object: what the tray showed."""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from wizard.services.health import HealthState, ProfileHealth
from wizard.services.model import ProviderKind
from wizard.tray import STATE_COLOURS, MailwrightTray, TrayModel

DEADLINE_S = 10.0


class Host(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.tray_model = TrayModel(self)

    def bring_to_front(self) -> None: ...

    def toggle_sending(self) -> None: ...

    def request_quit(self) -> None: ...


def health(state: HealthState) -> ProfileHealth:
    return ProfileHealth(name="main", provider=ProviderKind.SMTP, from_address="main@example.com",
                         is_default=True, state=state, issues=(), counts={})


def wait_until(condition: object) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)  # a separate process polling an X server; not the test's event loop
    return False


def badge_pixels(area: QRect, colour: str) -> int:
    """Pixels of exactly `colour` on the screen inside the tray icon's area, as the tray host shows it."""
    image = QGuiApplication.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(), area.height()).toImage()
    wanted = QColor(colour).rgb()
    return sum(1 for y in range(image.height()) for x in range(image.width()) if image.pixel(x, y) == wanted)


def main() -> int:
    app = QApplication(sys.argv[:1])
    result: dict[str, object] = {"available": wait_until(QSystemTrayIcon.isSystemTrayAvailable)}
    host = Host()
    host.tray_model.update([health(HealthState.OK)], False)
    tray = MailwrightTray.create_if_available(host, host)
    result["created"] = tray is not None
    if tray is not None:
        ok, failing = STATE_COLOURS[HealthState.OK], STATE_COLOURS[HealthState.FAILING]
        # The icon's window is first a 22 px square at 0,0, then the host embeds it where it belongs.
        wait_until(lambda: badge_pixels(tray.geometry(), ok) > 0)
        area = tray.geometry()
        result["geometry"] = [area.x(), area.y(), area.width(), area.height()]
        result["ok_pixels"] = badge_pixels(area, ok)
        host.tray_model.update([health(HealthState.FAILING)], False)
        wait_until(lambda: badge_pixels(tray.geometry(), failing) > 0)
        result["failing_pixels"] = badge_pixels(tray.geometry(), failing)
        result["ok_pixels_after"] = badge_pixels(tray.geometry(), ok)
        result["tooltip"] = tray.toolTip()
        tray.hide()
    print(json.dumps(result))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
