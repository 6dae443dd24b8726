"""Without a usable display `mailwright` explains itself and exits 2, before Qt can abort (issue 14 item 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.display import explain_missing_display

PARAGRAPH_START = "mailwright: no display found"


def run_without_display(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True, text=True, timeout=60,
                          env={**environment, **extra})


@pytest.mark.parametrize("argv", [[], ["gui"], ["gui", "--page", "smtp"]], ids=["bare", "gui", "gui-page"])
def test_no_display_prints_one_paragraph_and_exits_2(argv: list[str]) -> None:
    result = run_without_display(*argv)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PARAGRAPH_START + " (DISPLAY is not set)")
    for advice in ("mailwright profile add", "mailwright check", "mailwright serve", "--screenshot"):
        assert advice in lines[0]
    assert "Traceback" not in result.stderr and "xcb" not in result.stderr


def test_the_mailwright_gui_launcher_explains_too() -> None:
    """The installed `mailwright-gui` (what a desktop launcher starts) aborted with Qt's own words (exit 134)."""
    launcher = Path(sys.executable).with_name("mailwright-gui")
    assert launcher.exists(), "pip install -e . creates it"
    environment = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    result = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(PARAGRAPH_START + " (DISPLAY is not set)")


def test_a_display_that_does_not_answer_is_no_display() -> None:
    result = run_without_display("gui", DISPLAY=":97")  # no X server listens there
    assert result.returncode == 2
    assert result.stderr.startswith(PARAGRAPH_START + " (the X server :97 does not answer)")


def test_a_screenshot_needs_no_display(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "welcome.png"
    result = run_without_display("gui", "--screenshot", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(b"\x89PNG")


def test_an_explicit_platform_is_not_second_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert explain_missing_display() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert (explain_missing_display() or "").startswith(PARAGRAPH_START)


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_a_qt_library_that_cannot_load_is_named_with_the_fix(tmp_path: object) -> None:
    from pathlib import Path

    broken = Path(str(tmp_path)) / "lib"
    broken.mkdir()
    (broken / "libxcb-icccm.so.4").write_bytes(b"")  # found first, and not a library: as if it were missing
    environment = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    result = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "wizard"], capture_output=True, text=True,
                            timeout=60, env={**environment, "LD_LIBRARY_PATH": str(broken)})
    assert result.returncode == 2, result.stderr
    assert "Qt's X11 plugin cannot load" in result.stderr and "libxcb-icccm.so.4" in result.stderr
    assert "scripts/run" in result.stderr and "Aborted" not in result.stderr
