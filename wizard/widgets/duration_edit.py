"""A duration in seconds, shown as a number and a unit (seconds, minutes, hours, days).

The value is exact: the unit shown is the largest one that divides it, so 172800 reads "2 days" and
90 reads "90 seconds". Changing the unit keeps the number and changes the duration, as people expect.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QWidget

UNITS = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400))
MAX_NUMBER = 999_999


class DurationEdit(QWidget):
    changed = Signal()

    def __init__(self, name: str, accessible: str, units: tuple[str, ...] = ("seconds", "minutes", "hours", "days"),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(accessible)
        self.number = QSpinBox()
        self.number.setObjectName(f"{name}Number")
        self.number.setAccessibleName(f"{accessible}: number")
        self.number.setRange(0, MAX_NUMBER)
        self.unit = QComboBox()
        self.unit.setObjectName(f"{name}Unit")
        self.unit.setAccessibleName(f"{accessible}: unit")
        for label, seconds in UNITS:
            if label in units:
                self.unit.addItem(label, seconds)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.number)
        row.addWidget(self.unit)
        row.addStretch(1)
        self.setFocusProxy(self.number)
        self.number.valueChanged.connect(self.changed)
        self.unit.currentIndexChanged.connect(self.changed)

    def seconds(self) -> int:
        return int(self.number.value()) * int(self.unit.currentData())

    def set_seconds(self, value: int) -> None:
        for index in reversed(range(self.unit.count())):
            size = int(self.unit.itemData(index))
            if value % size == 0 and value // size <= MAX_NUMBER:
                break
        else:
            index = 0
        blocked = self.blockSignals(True)  # one `changed` for the pair, not one per half
        self.unit.setCurrentIndex(index)
        self.number.setValue(value // int(self.unit.itemData(index)))
        self.blockSignals(blocked)
        self.changed.emit()
