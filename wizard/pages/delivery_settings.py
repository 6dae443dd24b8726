"""Delivery settings: the `[delivery]` table of config.toml in plain words, validated by the same rules.

Every value goes through the settings registry (`DeliverySettings.from_toml`), exactly as a hand-edited
config.toml would, so the page cannot accept what `mailwright config set` would refuse, and its errors name
the key; the spin boxes stop at the registry's upper bounds.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.services.settings import SETTINGS, DeliverySettings
from wizard.services.validation import InvalidInputError
from wizard.widgets.duration_edit import DurationEdit
from wizard.widgets.form_widgets import hint_label, problem_label

# key -> (label, explanation); the order is the page's
LABELS = {
    "enabled": ("Send mail", "When off, mail is still accepted and kept in the outbox, but nothing is sent."),
    "send_pending_at_startup": ("Send waiting mail at start",
                                "When off, mail already queued when Mailwright starts is held until you release it."),
    "send_interval_ms": ("Pause between messages", "0 sends as fast as the provider allows."),
    "retry_backoff_initial_s": ("First retry after", "After a temporary failure; the wait doubles on each retry."),
    "retry_backoff_max_s": ("Longest wait between retries", "The doubling stops here."),
    "max_retry_time_s": ("Give up after", "Counted from the first attempt; then the message fails."),
    "retention_days": ("Keep sent and failed mail for", "Older entries are removed from the outbox."),
    "max_concurrent_connections": ("Accounts delivering at the same time",
                                   "One connection each; Microsoft 365's limit of 3 per mailbox is "
                                   "respected on its own."),
}


def _spin(name: str, accessible: str, suffix: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setAccessibleName(accessible)
    # the registry's upper bound; minimums are reported with the key's name instead of silently clamped
    spin.setRange(0, SETTINGS[f"delivery.{name}"].maximum or 0)
    spin.setSuffix(suffix)
    spin.setMinimumWidth(120)
    return spin


class DeliverySettingsPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Delivery settings")
        self.setSubTitle("How the background sender delivers queued mail. These apply to every account; the "
                         "defaults suit most setups.")

        self.enabled = QCheckBox(LABELS["enabled"][0])
        self.send_pending_at_startup = QCheckBox(LABELS["send_pending_at_startup"][0])
        self.send_interval_ms = _spin("send_interval_ms", LABELS["send_interval_ms"][0], " ms")
        self.retry_backoff_initial_s = DurationEdit("retry_backoff_initial_s", LABELS["retry_backoff_initial_s"][0])
        self.retry_backoff_max_s = DurationEdit("retry_backoff_max_s", LABELS["retry_backoff_max_s"][0])
        self.max_retry_time_s = DurationEdit("max_retry_time_s", LABELS["max_retry_time_s"][0])
        self.retention_days = _spin("retention_days", LABELS["retention_days"][0], " days")
        self.max_concurrent_connections = _spin("max_concurrent_connections",
                                                LABELS["max_concurrent_connections"][0], "")
        for key in ("enabled", "send_pending_at_startup"):
            box: QCheckBox = getattr(self, key)
            box.setObjectName(key)
            box.setAccessibleName(LABELS[key][0])

        grid = QGridLayout()
        grid.setColumnStretch(2, 1)
        grid.setHorizontalSpacing(12)
        for row, (key, (label, explanation)) in enumerate(LABELS.items()):
            widget: QWidget = getattr(self, key)
            widget.setToolTip(f"delivery.{key} in config.toml")
            if isinstance(widget, QCheckBox):
                grid.addWidget(widget, row, 0, 1, 2)
            else:
                caption = QLabel(f"{label}:")
                caption.setBuddy(widget)
                grid.addWidget(caption, row, 0)
                grid.addWidget(widget, row, 1, Qt.AlignmentFlag.AlignLeft)
            grid.addWidget(hint_label(explanation), row, 2)

        self.messages = problem_label("deliveryValidation", "Problems with the delivery settings")
        self.messages.hide()
        self.restore_button = QPushButton("Restore defaults")
        self.restore_button.setObjectName("restoreDeliveryDefaults")
        self.restore_button.setAccessibleName("Restore the default delivery settings")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.restore_button)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.messages)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self._loading = False
        self.restore_button.clicked.connect(lambda: self.show_settings(DeliverySettings()))
        for box in (self.enabled, self.send_pending_at_startup):
            box.toggled.connect(self._on_changed)
        for spin in (self.send_interval_ms, self.retention_days, self.max_concurrent_connections):
            spin.valueChanged.connect(self._on_changed)
        for duration in (self.retry_backoff_initial_s, self.retry_backoff_max_s, self.max_retry_time_s):
            duration.changed.connect(self._on_changed)

    @override
    def initializePage(self) -> None:
        self.show_settings(self.state.delivery)

    def show_settings(self, settings: DeliverySettings) -> None:
        self._loading = True
        for key, value in asdict(settings).items():
            widget = getattr(self, key)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, DurationEdit):
                widget.set_seconds(int(value))
            else:
                widget.setValue(int(value))
        self._loading = False
        self._on_changed()

    def entered(self) -> dict[str, bool | int]:
        """The values as typed, keyed like config.toml."""
        values: dict[str, bool | int] = {}
        for item in fields(DeliverySettings):
            widget = getattr(self, item.name)
            if isinstance(widget, QCheckBox):
                values[item.name] = widget.isChecked()
            elif isinstance(widget, DurationEdit):
                values[item.name] = widget.seconds()
            else:
                values[item.name] = int(widget.value())
        return values

    def settings(self) -> DeliverySettings:
        """The entered settings; `InvalidInputError` naming the key when one is not acceptable."""
        return DeliverySettings.from_toml(self.entered())

    def problem(self) -> str:
        try:
            self.settings()
        except InvalidInputError as exc:
            key = exc.field.removeprefix("delivery.")
            label = LABELS.get(key, (key, ""))[0]
            return f"{label}: {exc}"
        return ""

    def _on_changed(self) -> None:
        if self._loading:
            return
        found = self.problem()
        if not found:
            self.state.delivery = self.settings()
        self.messages.setText(found)
        self.messages.setVisible(bool(found))
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        return not self.problem()
