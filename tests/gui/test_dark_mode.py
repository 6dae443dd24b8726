"""Under a dark palette every coloured label of every page (and the account states) stays readable.

Contrast is computed here from the colours Qt resolves for the polished widgets, with the WCAG 2 formula,
independently of wizard.widgets.colours.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.health import HealthState
from wizard.theme import needs_fusion
from wizard.tray import STATE_COLOURS
from wizard.widgets.colours import banner_style, state_text_style

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

DARK = {
    QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#3a3a3a", QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.AlternateBase: "#333333", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
}
# A window grey between dark and light: the hardest case for a fixed red.
MID = {**DARK, QPalette.ColorRole.Window: "#5a5a5a", QPalette.ColorRole.WindowText: "#ffffff",
       QPalette.ColorRole.PlaceholderText: "#e0e0e0"}
LIGHT = {QPalette.ColorRole.Window: "#efefef", QPalette.ColorRole.WindowText: "#000000"}


def wcag_contrast(first: QColor, second: QColor) -> float:
    def luminance(colour: QColor) -> float:
        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(params=[DARK, MID, LIGHT], ids=["dark", "mid-grey", "light"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[QPalette]:
    previous = qapp.palette()
    chosen = QPalette(previous)
    for role, colour in request.param.items():
        chosen.setColor(role, QColor(colour))
    qapp.setPalette(chosen)
    yield chosen
    qapp.setPalette(previous)


def label_colours(label: QLabel) -> tuple[QColor, QColor]:
    """(text, background): the text colour Qt resolves from the style sheet, the background as drawn
    (a pixel inside a framed label's border, or the window behind a plain one)."""
    label.ensurePolished()
    text = label.text()
    label.setText("")
    label.resize(max(label.width(), 40), max(label.height(), 20))
    background = label.grab().toImage().pixelColor(3, 3)
    label.setText(text)
    return label.palette().color(label.foregroundRole()), background


def test_coloured_labels_on_every_page_contrast_with_their_background(qtbot: QtBot, palette: QPalette) -> None:
    checked: list[str] = []
    weak: list[str] = []
    for page_id in PageId:
        window = MailwrightWizard(start=page_id, autostart_check=False)
        qtbot.addWidget(window)
        window.show()
        for label in window.currentPage().findChildren(QLabel):
            if "color" not in label.styleSheet() and "background" not in label.styleSheet():
                continue
            text, background = label_colours(label)
            ratio = wcag_contrast(text, background)
            checked.append(label.objectName())
            if ratio < 4.5:
                where = f"{page_id.cli_name}/{label.objectName()}"
                weak.append(f"{where}: {text.name()} on {background.name()} = {ratio:.1f}")
        window.close()
    assert {"configError", "senderProblem", "leastPrivilegeWarning"} <= set(checked)
    assert weak == []


@pytest.mark.parametrize("state", list(HealthState), ids=[s.name.lower() for s in HealthState])
def test_account_state_labels_are_readable(qtbot: QtBot, palette: QPalette, state: HealthState) -> None:
    label = QLabel("● state")
    qtbot.addWidget(label)
    label.setStyleSheet(state_text_style(STATE_COLOURS[state]))
    text, background = label_colours(label)
    assert wcag_contrast(text, background) >= 4.5


@pytest.mark.parametrize("state", list(HealthState), ids=[s.name.lower() for s in HealthState])
def test_banner_text_is_readable_on_every_state_colour(qtbot: QtBot, state: HealthState) -> None:
    label = QLabel("2 accounts need attention")
    qtbot.addWidget(label)
    label.setAutoFillBackground(True)
    label.setStyleSheet(banner_style(STATE_COLOURS[state]))
    label.ensurePolished()
    text = label.palette().color(label.foregroundRole())
    assert wcag_contrast(text, QColor(STATE_COLOURS[state])) >= 4.5


def test_fusion_replaces_only_the_style_that_ignores_a_dark_system() -> None:
    assert needs_fusion("windowsvista", Qt.ColorScheme.Dark)
    assert not needs_fusion("windowsvista", Qt.ColorScheme.Light)
    assert not needs_fusion("windows11", Qt.ColorScheme.Dark)
    assert not needs_fusion("fusion", Qt.ColorScheme.Dark)
    assert not needs_fusion("macos", Qt.ColorScheme.Dark)
