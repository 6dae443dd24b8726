"""A traffic-light list of check results: icon, title and summary per row, details and fix on demand.

Rows take anything shaped like `dns_health.CheckResult` (id, status, summary, details, fix), so this module
does not import the DNS service (dnspython stays out of the window's start-up path).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wizard.widgets.form_widgets import selectable_text


class ResultLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def details(self) -> str: ...
    @property
    def fix(self) -> str: ...


STATUS_WORDS = {"pass": "OK", "info": "Info", "warn": "Warning", "fail": "Problem", "error": "Could not check",
                "running": "Checking…"}
STATUS_ICONS = {
    "pass": QStyle.StandardPixmap.SP_DialogApplyButton,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warn": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "fail": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "error": QStyle.StandardPixmap.SP_MessageBoxQuestion,
    "running": QStyle.StandardPixmap.SP_BrowserReload,
}


class CheckResultRow(QFrame):
    """One result; problems open their details by default, passes keep them folded."""

    def __init__(self, check_id: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check_id = check_id
        self.title = title
        self.status = "running"
        self.setObjectName(f"result-{check_id}")
        self.setAccessibleName(f"{title} result")
        self.icon = QLabel()
        self.icon.setFixedSize(16, 16)
        heading = QLabel(f"<b>{title}</b>")
        heading.setMinimumWidth(110)
        self.verdict = selectable_text(f"verdict-{check_id}", f"{title}: verdict")
        self.summary = selectable_text(f"summary-{check_id}", f"{title}: summary")
        self.toggle = QToolButton()
        self.toggle.setObjectName(f"toggle-{check_id}")
        self.toggle.setAccessibleName(f"Show the details of {title}")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details = selectable_text(f"details-{check_id}", f"{title}: details")
        self.fix = selectable_text(f"fix-{check_id}", f"{title}: how to fix it")
        self.details.setIndent(4)
        self.fix.setIndent(4)

        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(3, 1)
        grid.addWidget(self.toggle, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.icon, 0, 1, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(heading, 0, 2, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.summary, 0, 3, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.verdict, 0, 4, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.details, 1, 2, 1, 3)
        grid.addWidget(self.fix, 2, 2, 1, 3)
        self.toggle.toggled.connect(self._show_details)
        self.show_running()

    def show_running(self) -> None:
        self._set_status("running")
        self.summary.setText("")
        self.details.setText("")
        self.fix.setText("")
        self.toggle.setChecked(False)
        self.toggle.setEnabled(False)
        self._show_details(False)

    def show_result(self, result: ResultLike) -> None:
        self._set_status(str(result.status))
        self.summary.setText(result.summary)
        self.details.setText(result.details)
        self.fix.setText(f"How to fix it: {result.fix}" if result.fix else "")
        has_more = bool(result.details or result.fix)
        self.toggle.setEnabled(has_more)
        self.toggle.setChecked(has_more and self.status in ("fail", "warn", "error"))
        self._show_details(self.toggle.isChecked())

    def show_cancelled(self) -> None:
        self._set_status("error")
        self.verdict.setText("Cancelled")
        self.summary.setText("not checked (cancelled)")

    def _set_status(self, status: str) -> None:
        self.status = status
        self.icon.setPixmap(self.style().standardIcon(STATUS_ICONS.get(status, STATUS_ICONS["info"])).pixmap(16, 16))
        self.verdict.setText(STATUS_WORDS.get(status, status))

    def _show_details(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details.setVisible(shown and bool(self.details.text()))
        self.fix.setVisible(shown and bool(self.fix.text()))


class CheckResultList(QScrollArea):
    """Rows in a fixed order (`titles`), added as results arrive; unknown ids go last."""

    def __init__(self, titles: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.titles = titles
        self.setObjectName("checkResults")
        self.setAccessibleName("Check results")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self._column = QVBoxLayout(inner)
        self._column.setContentsMargins(4, 4, 4, 4)
        self._column.setSpacing(2)
        self._column.addStretch(1)
        self.setWidget(inner)
        self.rows: dict[str, CheckResultRow] = {}

    def clear(self) -> None:
        for row in self.rows.values():
            self._column.removeWidget(row)
            row.deleteLater()
        self.rows = {}

    def start(self, check_ids: list[str]) -> None:
        """Show these checks as running (the ones known to come)."""
        self.clear()
        for check_id in check_ids:
            self._row(check_id).show_running()

    def _row(self, check_id: str) -> CheckResultRow:
        row = self.rows.get(check_id)
        if row is None:
            row = CheckResultRow(check_id, self.titles.get(check_id, check_id.replace("_", " ").upper()))
            order = list(self.titles)
            rank = order.index(check_id) if check_id in order else len(order)
            position = sum(1 for other in self.rows if (order.index(other) if other in order else len(order)) <= rank)
            self._column.insertWidget(position, row)
            self.rows[check_id] = row
        return row

    def show_result(self, result: ResultLike) -> None:
        self._row(result.id).show_result(result)

    def finish(self, cancelled: bool = False) -> None:
        """Rows still running: cancelled, or not applicable (the run did not produce them) and removed."""
        for check_id, row in list(self.rows.items()):
            if row.status != "running":
                continue
            if cancelled:
                row.show_cancelled()
            else:
                self._column.removeWidget(row)
                row.deleteLater()
                del self.rows[check_id]

    def statuses(self) -> dict[str, str]:
        return {check_id: row.status for check_id, row in self.rows.items()}
