"""The help window the wizard's Help button opens: rich text whose links open in the system browser."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget


class PageHelpDialog(QDialog):
    def __init__(self, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageHelp")
        self.setWindowTitle("Mailwright help")
        self.text = QTextBrowser(self)
        self.text.setObjectName("pageHelpText")
        self.text.setAccessibleName("Help for this page")
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(html)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(640, 480)  # the main pages' help has several paragraphs and a list of links
