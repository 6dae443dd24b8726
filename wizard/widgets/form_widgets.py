"""Small named widgets the pages build the same way: a line edit, a hint, a problem line, a read-only text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from wizard.widgets.colours import problem_style


def line_edit(name: str, accessible: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    return edit


def hint_label(text: str) -> QLabel:
    """An explanation in a slightly smaller font, wrapped."""
    label = QLabel(text)
    label.setWordWrap(True)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


def _wrapped_label(name: str, accessible: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setWordWrap(True)
    return label


def problem_label(name: str, accessible: str) -> QLabel:
    """Where a page lists what is wrong with its input, in red; the page shows and hides it."""
    label = _wrapped_label(name, accessible)
    label.setStyleSheet(problem_style())
    return label


def selectable_text(name: str, accessible: str) -> QLabel:
    """Plain text (never rich: it may quote a server or the user) that can be selected and copied."""
    label = _wrapped_label(name, accessible)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def scrolling(content: QWidget, name: str) -> QScrollArea:
    """`content` in a frameless scroll area that resizes it: a long page scrolls instead of growing past 800x600."""
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(content)
    return scroll


def fill_with_scrolling(page: QWidget, content: QWidget, name: str) -> QScrollArea:
    """Lay `page` out as `content` in a `scrolling` area, edge to edge."""
    scroll = scrolling(content, name)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll
