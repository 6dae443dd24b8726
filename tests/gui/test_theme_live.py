"""When the system switches between light and dark while the app runs, coloured labels follow.

Style sheets are resolved once, so without `wizard.theme.PaletteFollower` a red chosen for a light window
stays on the dark one (about 2:1 contrast). Contrast is computed here from what Qt resolves for the widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from tests.gui.test_dark_mode import DARK, LIGHT, label_colours, wcag_contrast
from wizard.pages.ids import PageId
from wizard.pages.wizard import MailwrightWizard
from wizard.services.health import HealthState
from wizard.theme import follow_system_colour_scheme
from wizard.tray import STATE_COLOURS
from wizard.widgets.colours import problem_style, readable, rederive, state_text_style

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]


def palette_from(colours: dict[QPalette.ColorRole, str], base: QPalette) -> QPalette:
    chosen = QPalette(base)
    for role, colour in colours.items():
        chosen.setColor(role, QColor(colour))
    return chosen


Switch = Callable[[dict[QPalette.ColorRole, str]], None]


@pytest.fixture
def switch_palette(qapp: QApplication) -> Iterator[Switch]:
    """Follows the scheme as the app does; `switch(colours)` sets the application palette and waits for the
    turn of the event loop in which the follower refreshes the style sheets."""
    follow_system_colour_scheme(qapp)
    previous = qapp.palette()

    def switch(colours: dict[QPalette.ColorRole, str]) -> None:
        qapp.setPalette(palette_from(colours, previous))
        for _ in range(3):
            qapp.processEvents()

    switch(LIGHT)
    yield switch
    qapp.setPalette(previous)
    qapp.processEvents()


def coloured_labels(root: QWidget) -> list[QLabel]:
    return [label for label in root.findChildren(QLabel)
            if "color" in label.styleSheet() or "background" in label.styleSheet()]


def drawn_colours(label: QLabel) -> tuple[QColor, QColor]:
    """(text, background) as the admin sees them: a label without a background of its own is drawn on its
    window, whose palette follows the application's (the label's own palette may be stale)."""
    text, own_background = label_colours(label)
    if "background" in label.styleSheet():
        return text, own_background
    return text, label.window().palette().color(QPalette.ColorRole.Window)


def weak_labels(labels: list[QLabel]) -> list[str]:
    weak = []
    for label in labels:
        text, background = drawn_colours(label)
        if wcag_contrast(text, background) < 4.5:
            weak.append(f"{label.objectName()}: {text.name()} on {background.name()}")
    return weak


def test_every_pages_coloured_labels_follow_a_switch_to_dark_and_back(qtbot: QtBot, switch_palette: Switch) -> None:
    windows = []
    for page_id in PageId:
        window = MailwrightWizard(start=page_id, autostart_check=False)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
    labels = [label for window in windows for label in coloured_labels(window.currentPage())]
    assert {"configError", "senderProblem", "leastPrivilegeWarning"} <= {label.objectName() for label in labels}
    on_light = {label.objectName(): drawn_colours(label) for label in labels}
    assert weak_labels(labels) == []

    switch_palette(DARK)
    assert weak_labels(labels) == []
    on_dark = {label.objectName(): drawn_colours(label) for label in labels}
    for name in ("configError", "senderProblem", "leastPrivilegeWarning"):
        assert on_dark[name] != on_light[name], name

    switch_palette(LIGHT)
    assert weak_labels(labels) == []
    assert {label.objectName(): drawn_colours(label) for label in labels} == on_light
    for window in windows:
        window.close()


def test_palette_references_in_style_sheets_are_resolved_again(qtbot: QtBot, switch_palette: Switch) -> None:
    window = MailwrightWizard(start=PageId.PROVIDER, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    proposal = window.currentPage().findChild(QLabel, "providerProposal")
    assert proposal is not None
    proposal.setText("")
    proposal.resize(60, 30)
    switch_palette(DARK)
    assert proposal.grab().toImage().pixelColor(10, 10) == window.palette().color(QPalette.ColorRole.AlternateBase)
    window.close()


@pytest.mark.parametrize("state", [HealthState.OK, HealthState.WARNING, HealthState.FAILING],
                         ids=["ok", "warning", "failing"])
def test_account_state_labels_follow_the_palette(qtbot: QtBot, switch_palette: Switch, state: HealthState) -> None:
    label = QLabel("● state")
    qtbot.addWidget(label)
    label.setStyleSheet("font-size: 11pt; " + state_text_style(STATE_COLOURS[state]))
    light_text, _ = drawn_colours(label)
    switch_palette(DARK)
    dark_text, background = drawn_colours(label)
    assert dark_text != light_text
    assert wcag_contrast(dark_text, background) >= 4.5
    assert "font-size: 11pt" in label.styleSheet()  # the caller's own part of the style sheet is kept


def test_a_colour_scheme_signal_alone_refreshes_the_styles(
        qtbot: QtBot, qapp: QApplication, switch_palette: Switch) -> None:
    """Some platforms announce the new scheme with the palette already in place: the signal must refresh too."""
    switch_palette(DARK)
    light_red = readable("#b00020", palette_from(LIGHT, qapp.palette())).name()
    label = QLabel("The address is not valid")
    qtbot.addWidget(label)
    label.setStyleSheet(f"/*derived:problem*/color: {light_red}/*end*/")  # as derived before the switch
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    qtbot.waitUntil(lambda: drawn_colours(label)[0].name() != light_red)
    text, background = drawn_colours(label)
    assert wcag_contrast(text, background) >= 4.5


def test_rederive_recomputes_only_the_marked_parts(qapp: QApplication) -> None:
    sheet = "font-weight: bold; " + problem_style() + "; margin: 2px"
    stale = sheet.replace(problem_style().split("color: ")[1][:7], "#000001")
    assert rederive(stale) == sheet
    assert rederive("color: #000001") == "color: #000001"
    explicit = problem_style(palette_from(DARK, qapp.palette()))
    assert "derived" not in explicit  # a caller that names a palette gets that palette's colour, kept as is


def test_the_check_pages_skipped_icon_stays_visible_in_dark_mode(qtbot: QtBot, switch_palette: Switch) -> None:
    from wizard.pages.check import _ALL_STEPS
    from wizard.services.check import StepStatus

    window = MailwrightWizard(start=PageId.CHECK, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    page = window.currentPage()
    name = list(_ALL_STEPS)[-1]
    page._set_row(name, StepStatus.SKIPPED, "skipped")
    switch_palette(DARK)

    def glyph_contrast() -> float:
        image = page._icons[name].pixmap().toImage()
        ink = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
               if image.pixelColor(x, y).alpha() > 200]
        background = window.palette().color(QPalette.ColorRole.Window)
        return max(wcag_contrast(colour, background) for colour in ink)

    assert glyph_contrast() >= 3.0  # WCAG 1.4.11 for graphics; Fusion's black glyph was about 1.3:1
    switch_palette(LIGHT)
    assert glyph_contrast() >= 3.0
    window.close()
