"""A list the user edits: type an entry, Add (or Enter); select entries and Remove. Entries are validated.

`normalise(text)` returns the stored form of an entry or raises `InvalidInputError`; the list only ever
holds valid, unique entries. Text typed but not added counts as pending: `problem()` reports it when it
is invalid, and `add_pending()` adds it when it is valid (a page does that on Next, so nothing typed is lost).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)

from wizard.services.validation import InvalidInputError


class EditableList(QWidget):
    changed = Signal()  # entries or pending text changed

    def __init__(self, name: str, accessible: str, normalise: Callable[[str], str], placeholder: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.normalise = normalise
        self.accessible = accessible
        self.setObjectName(name)
        self.setAccessibleName(accessible)
        self.entry = QLineEdit()
        self.entry.setObjectName(f"{name}Entry")
        self.entry.setAccessibleName(f"New entry for {accessible}")
        self.entry.setPlaceholderText(placeholder)
        self.entry.setClearButtonEnabled(True)
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName(f"{name}Add")
        self.add_button.setAccessibleName(f"Add to {accessible}")
        self.items = QListWidget()
        self.items.setObjectName(f"{name}Items")
        self.items.setAccessibleName(accessible)
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName(f"{name}Remove")
        self.remove_button.setAccessibleName(f"Remove the selected entries from {accessible}")
        self.remove_button.setEnabled(False)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.entry, 0, 0)
        grid.addWidget(self.add_button, 0, 1)
        grid.addWidget(self.items, 1, 0, 2, 1)
        grid.addWidget(self.remove_button, 1, 1)
        grid.setRowStretch(2, 1)
        self.setTabOrder(self.entry, self.add_button)
        self.setTabOrder(self.add_button, self.items)
        self.setTabOrder(self.items, self.remove_button)

        self.entry.textChanged.connect(self._on_entry_changed)
        self.entry.returnPressed.connect(self.add_pending)
        self.add_button.clicked.connect(self.add_pending)
        self.remove_button.clicked.connect(self.remove_selected)
        self.items.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.items.selectedItems())))
        self._on_entry_changed()

    def values(self) -> tuple[str, ...]:
        return tuple(self.items.item(row).text() for row in range(self.items.count()))

    def set_values(self, values: tuple[str, ...]) -> None:
        self.items.clear()
        for value in values:
            if value not in self.values():
                self.items.addItem(value)
        self.changed.emit()

    def problem(self) -> str:
        """Why the pending text cannot be added ("" when it can, or nothing is pending)."""
        text = self.entry.text().strip()
        if not text:
            return ""
        try:
            self.normalise(text)
        except InvalidInputError as exc:
            return f"{self.accessible}: {exc}"
        return ""

    def add_pending(self) -> bool:
        """Add the typed entry if it is valid; True when nothing invalid is left pending."""
        text = self.entry.text().strip()
        if not text:
            return True
        try:
            value = self.normalise(text)
        except InvalidInputError:
            return False
        if value not in self.values():
            self.items.addItem(value)
        self.entry.clear()  # emits changed through textChanged
        return True

    def remove_selected(self) -> None:
        for item in self.items.selectedItems():
            self.items.takeItem(self.items.row(item))
        self.changed.emit()

    def _on_entry_changed(self) -> None:
        text = self.entry.text().strip()
        self.add_button.setEnabled(bool(text) and not self.problem())
        self.changed.emit()
