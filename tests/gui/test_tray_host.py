"""The tray icon in a real system tray: Xvfb with trayer (an XEmbed tray host), the screen grabbed where the
icon sits. Skipped where Xvfb or trayer is not installed (`apt-get install xvfb trayer`); the offscreen platform
of the rest of the suite has no tray at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
TRAY_HOST = shutil.which("trayer")
XVFB = shutil.which("Xvfb")


@pytest.fixture
def display_with_tray() -> Iterator[str]:
    if XVFB is None or TRAY_HOST is None:
        pytest.skip("needs Xvfb and trayer (apt-get install xvfb trayer)")
    server = subprocess.Popen([XVFB, "-displayfd", "1", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    display = f":{server.stdout.readline().strip()}"
    host = subprocess.Popen([TRAY_HOST, "--edge", "top", "--align", "right", "--widthtype", "request",
                             "--height", "32", "--SetDockType", "true", "--transparent", "false"],
                            env={**os.environ, "DISPLAY": display}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield display
    finally:
        for process in (host, server):
            process.terminate()
            process.wait(timeout=10)
        server.stdout.close()


def test_the_icon_appears_in_the_tray_and_turns_red_for_a_failing_account(display_with_tray: str) -> None:
    env = {**os.environ, "DISPLAY": display_with_tray, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    child = subprocess.run([sys.executable, "-m", "tests.gui.tray_host_child"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr
    shown = json.loads(child.stdout.strip().splitlines()[-1])
    assert shown["available"] and shown["created"], shown
    x, _y, width, height = shown["geometry"]
    assert x > 0 and width >= 16 and height >= 16, shown  # embedded by the host (top right), not left at 0,0
    assert shown["ok_pixels"] >= 10, shown  # the green badge, as the tray host draws it
    assert shown["failing_pixels"] >= 10 and shown["ok_pixels_after"] == 0, shown
    assert shown["tooltip"] == "Mailwright\nmain: Failing"
