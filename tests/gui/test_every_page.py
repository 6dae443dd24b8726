"""Every page opens with `gui --page ID`, and every input on every page has an object and accessible name."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.ids import PageId
from wizard.pages.wizard import PAGE_TITLES, MailwrightWizard

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

INPUTS = (QLineEdit, QComboBox, QAbstractButton, QAbstractSpinBox, QDateEdit, QPlainTextEdit)
OWNERS = (QComboBox, QAbstractSpinBox, QLineEdit)


@pytest.mark.parametrize("page", list(PageId), ids=[p.cli_name for p in PageId])
def test_each_page_opens_by_its_id(qtbot: QtBot, page: PageId) -> None:
    window = MailwrightWizard(start=page, autostart_check=False)
    qtbot.addWidget(window)
    window.show()
    assert window.currentId() == page
    assert window.currentPage().objectName() == f"page-{page.cli_name}"
    assert window.currentPage().title() and PAGE_TITLES[page]


def test_every_input_is_named_for_tests_and_screen_readers(qtbot: QtBot) -> None:
    window = MailwrightWizard(autostart_check=False)
    qtbot.addWidget(window)
    unnamed: list[str] = []
    for page_id in PageId:
        page = window.page(page_id)
        for widget in page.findChildren(QWidget):
            if not isinstance(widget, INPUTS) or isinstance(widget.parentWidget(), OWNERS):
                continue  # inner parts (a spin box's line edit, a clear button) belong to their named owner
            if widget.objectName().startswith("qt_"):
                continue
            if not widget.objectName() or not widget.accessibleName():
                label = widget.text() if isinstance(widget, QAbstractButton) else type(widget).__name__
                unnamed.append(f"{page_id.cli_name}: {label} ({widget.objectName() or 'no object name'})")
    assert unnamed == []
