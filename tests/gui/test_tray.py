"""The tray shows the worst account state, and its menu opens the window, pauses/resumes sending and quits."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QIcon, qGray
from PySide6.QtWidgets import QSystemTrayIcon, QWidget
from pytestqt.qtbot import QtBot

from wizard.services.health import HealthState, Issue, ProfileHealth
from wizard.services.model import ProviderKind
from wizard.services.outbox import MessageState
from wizard.tray import STATE_COLOURS, MailwrightTray, TrayModel

pytestmark = pytest.mark.gui


def _health(name: str, state: HealthState, held: int = 0) -> ProfileHealth:
    issues = (Issue.PAUSED,) if state is HealthState.PAUSED else ()
    return ProfileHealth(name=name, provider=ProviderKind.SMTP, from_address=f"{name}@example.com",
                         is_default=False, state=state, issues=issues, counts={MessageState.HELD: held})


class RecordingHost(QWidget):
    """Stands in for the main window: records what the tray asked it to do."""

    def __init__(self) -> None:
        super().__init__()
        self.tray_model = TrayModel(self)
        self.calls: list[str] = []

    def bring_to_front(self) -> None:
        self.calls.append("open")

    def toggle_sending(self) -> None:
        self.calls.append("toggle")
        self.tray_model.update(self.tray_model.healths, not self.tray_model.sending_paused)

    def request_quit(self) -> None:
        self.calls.append("quit")


def _pixels_of(icon: QIcon, colour: str, size: int = 64) -> int:
    image = icon.pixmap(size, size).toImage()
    wanted = QColor(colour).rgb()
    return sum(1 for y in range(image.height()) for x in range(image.width()) if image.pixel(x, y) == wanted)


def _grey_levels(icon: QIcon, size: int = 32) -> list[int]:
    image = icon.pixmap(size, size).toImage()
    return [qGray(image.pixel(x, y)) for y in range(image.height()) for x in range(image.width())]


def test_the_model_reports_the_worst_state_and_lists_every_account(qtbot: QtBot) -> None:
    model = TrayModel()
    with qtbot.waitSignal(model.changed):
        model.update([_health("main", HealthState.OK), _health("backup", HealthState.PAUSED, held=2)], False)
    assert model.worst is HealthState.PAUSED
    assert model.colour == STATE_COLOURS[HealthState.PAUSED]
    assert model.tooltip == "Mailwright\nmain: OK\nbackup: Paused: sign-in failed (2 held)"
    model.update([_health("main", HealthState.WARNING)], True)
    assert model.tooltip.startswith("Mailwright: sending paused")
    assert model.pause_text == "Start sending"


def test_an_empty_configuration_is_ok_and_says_so() -> None:
    model = TrayModel()
    assert model.worst is HealthState.OK
    assert model.tooltip == "Mailwright\nNo accounts configured"


def test_the_icon_follows_the_worst_state_and_the_menu_drives_the_window(qtbot: QtBot) -> None:
    host = RecordingHost()
    qtbot.addWidget(host)
    tray = MailwrightTray(host, host)  # built even where no tray exists (offscreen); never shown here
    host.tray_model.update([_health("main", HealthState.OK)], False)
    assert _pixels_of(tray.icon(), STATE_COLOURS[HealthState.OK]) > 200  # the badge, about a fifth of the icon
    assert _pixels_of(tray.icon(), STATE_COLOURS[HealthState.FAILING]) == 0
    host.tray_model.update([_health("main", HealthState.FAILING)], False)
    assert _pixels_of(tray.icon(), STATE_COLOURS[HealthState.FAILING]) > 200
    assert _pixels_of(tray.icon(), STATE_COLOURS[HealthState.OK]) == 0
    assert tray.toolTip() == "Mailwright\nmain: Failing"
    assert [a.text() for a in tray.menu.actions() if a.text()] == ["Open Mailwright", "Pause sending", "Quit"]
    tray.pause_action.trigger()
    assert tray.pause_action.text() == "Start sending"
    tray.open_action.trigger()
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    tray.quit_action.trigger()
    assert host.calls == ["toggle", "open", "open", "quit"]


def test_the_states_differ_in_shape_not_only_in_colour(qtbot: QtBot) -> None:
    """Red/green blind admins and grey-scale panels: every state's icon differs from the others in grey too."""
    host = RecordingHost()
    qtbot.addWidget(host)
    tray = MailwrightTray(host, host)
    looks = {}
    for state in (HealthState.OK, HealthState.WARNING, HealthState.FAILING, HealthState.DISABLED):
        host.tray_model.update([_health("main", state)], False)
        looks[state.name] = _grey_levels(tray.icon())
    host.tray_model.update([_health("main", HealthState.OK)], True)
    looks["sending paused"] = _grey_levels(tray.icon())
    for first, first_look in looks.items():
        for second, second_look in looks.items():
            if first < second:
                changed = sum(1 for a, b in zip(first_look, second_look, strict=True) if abs(a - b) > 60)
                assert changed >= 20, (first, second, changed)


def test_every_tray_size_is_drawn_not_scaled(qtbot: QtBot) -> None:
    host = RecordingHost()
    qtbot.addWidget(host)
    tray = MailwrightTray(host, host)
    assert {size.width() for size in tray.icon().availableSizes()} >= {16, 22, 24, 32, 48, 64}


def test_no_tray_is_created_where_the_platform_has_none(qtbot: QtBot) -> None:
    host = RecordingHost()
    qtbot.addWidget(host)
    tray = MailwrightTray.create_if_available(host, host)
    assert (tray is not None) == QSystemTrayIcon.isSystemTrayAvailable()
