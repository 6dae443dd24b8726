"""The report shown for an unexpected error: copyable, with every secret removed first."""

from __future__ import annotations

import platform
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from wizard import __version__
from wizard.services.logs import REDACTED, SecretRedactor


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with the given secrets, every secret the keyring handed out, and secret-looking pairs masked."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return SecretRedactor.redact(text)


def format_report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
                  secrets: Iterable[str]) -> str:
    lines = [
        f"Mailwright {__version__}",
        f"Python {sys.version.split()[0]}, PySide6 {pyside_version}, {platform.platform()}",
        "",
        *traceback.format_exception(exc_type, exc, tb),
    ]
    return redact("\n".join(line.rstrip("\n") for line in lines), secrets)


class ErrorReportDialog(QDialog):
    def __init__(self, report: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorReportDialog")
        self.setWindowTitle("Mailwright: unexpected error")
        self.resize(640, 420)
        intro = QLabel("Something went wrong that Mailwright did not expect. Your saved settings are not affected. "
                       "If it happens again, copy this report into your request for help: passwords and other "
                       "secrets have been removed from it.")
        intro.setWordWrap(True)
        self.report = QPlainTextEdit(report)
        self.report.setObjectName("errorReport")
        self.report.setAccessibleName("Error report")
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        copy = QPushButton("Copy report")
        copy.setObjectName("copyErrorReport")
        copy.setAccessibleName("Copy the report to the clipboard")
        close = QPushButton("Close")
        close.setObjectName("closeErrorReport")
        copy.clicked.connect(self.copy_report)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(copy)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.report, 1)
        layout.addLayout(buttons)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report.toPlainText())
