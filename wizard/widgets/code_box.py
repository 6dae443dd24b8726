"""Read-only code boxes (PowerShell lines) as tall as their content: no three-line box over empty space."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit


def fit_to_lines(box: QPlainTextEdit) -> None:
    """No wrapping (a long line scrolls sideways), and exactly as many lines high as the text has."""
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    box.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    lines = max(box.document().blockCount(), 1)
    margins = box.contentsMargins().top() + box.contentsMargins().bottom() + box.viewportMargins().top() \
        + box.viewportMargins().bottom()
    scrollbar = box.horizontalScrollBar().sizeHint().height()
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + int(box.document().documentMargin() * 2)
                       + margins + scrollbar + box.fontMetrics().lineSpacing() // 2)
