"""Startup order: the wizard's first page is painted before asyncio, qasync and the theme are imported (and, on a
first start with nothing saved yet, before the config loader).

The timing itself is measured in benchmarks/startup.py; these tests pin the order it relies on, with the real
entry point (`mailwright` without a command) in a fresh process, offscreen and, where `xvfb-run` exists, on an
X server, where Qt paints a window only once the server has exposed it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard import app
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard, load_saved_accounts
from wizard.services.config import ConfigStore
from wizard.services.model import Profile

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

ROOT = Path(__file__).resolve().parents[2]

# Runs `mailwright [ARGS]` (wizard.cli.main) and records, when the first paint has returned, which
# modules were loaded; then closes the wizard through its Cancel path, which ends the app.
FIRST_PAINT_SCRIPT = """
import json
import sys

from PySide6.QtCore import QTimer

from wizard import app, cli

seen = []
show_until_painted = app.show_until_painted


def recording(window, *args, **kwargs):
    painted = show_until_painted(window, *args, **kwargs)
    seen.append({"painted": painted, "visible": window.isVisible(), "page": window.currentPage().objectName(),
                 "loaded": sorted(name for name in ("asyncio", "qasync", "wizard.app_loop", "wizard.theme",
                                                    "wizard.services.logs", "wizard.services.config", "tomlkit")
                                  if name in sys.modules)})
    QTimer.singleShot(0, window.reject)
    return painted


app.show_until_painted = recording
code = cli.main(sys.argv[1:])
print(json.dumps({"exit": code, "first_paints": seen, "asyncio_later": "qasync" in sys.modules}))
"""

WITH_X_SERVER = pytest.mark.skipif(sys.platform != "linux" or shutil.which("xvfb-run") is None,
                                   reason="needs xvfb-run (an X server)")


@pytest.mark.parametrize(("platform", "argv"), [
    ("offscreen", []),  # `mailwright`, as a double-click starts it
    ("offscreen", ["gui"]),
    pytest.param("xcb", [], marks=WITH_X_SERVER),
])
def test_the_first_page_is_painted_before_the_async_machinery_is_imported(tmp_path: Path, platform: str,
                                                                          argv: list[str]) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": platform, "MAILWRIGHT_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", FIRST_PAINT_SCRIPT, *argv]
    if platform == "xcb":
        command = ["xvfb-run", "-a", *command]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["exit"] == 0
    [first] = outcome["first_paints"]
    theme_first = ["wizard.theme"] if sys.platform == "win32" else []  # it may replace the Windows style
    assert first == {"painted": True, "visible": True, "page": "page-welcome", "loaded": theme_first}
    assert outcome["asyncio_later"]  # the app did go on to its loop, after the paint


def test_show_until_painted_returns_once_the_window_is_painted(qtbot: QtBot) -> None:
    window = QLabel("painted?")
    qtbot.addWidget(window)
    assert app.show_until_painted(window)
    assert window.isVisible()


def test_show_until_painted_gives_up_on_a_window_that_is_never_painted(qtbot: QtBot) -> None:
    window = QWidget()
    window.setUpdatesEnabled(False)  # as a window that is never exposed (minimised, another workspace): no paint
    qtbot.addWidget(window)
    assert not app.show_until_painted(window, timeout_ms=50)


def test_a_screenshot_is_the_page_at_800_by_600(tmp_path: Path) -> None:
    target = tmp_path / "welcome.png"
    app.screenshot(PageId.WELCOME, target)
    image = QImage(str(target))
    assert (image.width(), image.height()) == app.SCREENSHOT_SIZE


def test_the_welcome_page_edits_the_chosen_row_not_the_default(qtbot: QtBot, data_home: Path) -> None:
    store = ConfigStore()
    for name in ("zeta", "alpha", "mid"):
        store.save_profile(Profile(name=name, from_address=f"{name}@example.com", host="smtp.example.com"))
    window = MailwrightWizard(load_saved_accounts(store), autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    saved = window.welcome_page.findChild(QListWidget, "savedProfiles")
    rows = [saved.item(row).text().split(":")[0] for row in range(saved.count())]
    saved.setCurrentRow(rows.index("alpha"))
    assert window.welcome_page.selected_profile() == "alpha"
    window.next()
    assert window.state.draft.from_address == "alpha@example.com"
