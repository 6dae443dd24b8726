"""Least privilege for Microsoft Graph: warn that application Mail.Send covers every mailbox, and give
the filled-in Exchange Online PowerShell that limits it to the sender mailbox, with copy buttons.

The values come from the wizard state (client ID, sender mailbox, enterprise app Object ID), the admin can
correct them here, and they are written back; the text comes from services/graph_guide.py, so the CLI and
README show the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.services import graph_guide
from wizard.widgets.colours import notice_style


@dataclass(frozen=True)
class GraphAccount:
    app_id: str = ""
    mailbox: str = ""
    enterprise_object_id: str = ""
    large_messages: bool = False


class _ScriptBox(QGroupBox):
    """A read-only PowerShell block and its copy button."""

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.text = QPlainTextEdit()
        self.text.setObjectName(f"{name}Script")
        self.text.setAccessibleName(f"{title} PowerShell")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName(f"{name}Copy")
        self.copy_button.setAccessibleName(f"Copy the {title} PowerShell")
        self.copy_button.clicked.connect(self.copy)
        layout = QHBoxLayout(self)  # the button beside the lines: at 800x600 every line of script counts
        layout.addWidget(self.text, 1)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)

    def set_lines(self, lines: list[str]) -> None:
        self.text.setPlainText("\n".join(lines))

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.copy_button.setText("Copied")


class GraphPermissionsPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Limit the app to the sender mailbox")
        self.setSubTitle("Recommended: run these lines once in Exchange Online PowerShell.")

        self.warning = QLabel()
        self.warning.setObjectName("leastPrivilegeWarning")
        self.warning.setAccessibleName("Least privilege warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(notice_style())

        self.app_id = self._line_edit("appId", "Application (client) ID")
        self.object_id = self._line_edit("enterpriseObjectId", "Enterprise application Object ID")
        self.object_id.setPlaceholderText("Entra admin center > Enterprise applications > your app > Object ID")
        self.mailbox = self._line_edit("senderMailbox", "Sender mailbox")
        self.large_messages = QCheckBox("This profile may send messages over 4 MB (also grants Mail.ReadWrite, "
                                        "needed for the upload session)")
        self.large_messages.setObjectName("largeMessages")
        self.large_messages.setAccessibleName("Allow messages over 4 MB")
        form = QFormLayout()
        form.addRow("Application (client) ID:", self.app_id)
        form.addRow("Enterprise app Object ID:", self.object_id)
        form.addRow("Sender mailbox:", self.mailbox)
        form.addRow(self.large_messages)

        self.rbac = _ScriptBox("RBAC for Applications (recommended)", "rbac")
        self.policy = _ScriptBox("Application access policy (older tenants)", "accessPolicy")
        note = QLabel("The last line of each block checks the result: it must say the app is allowed for the "
                      "sender mailbox only. Changes can take up to an hour to apply.")
        note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.warning)
        layout.addLayout(form)
        layout.addWidget(self.rbac, 2)
        layout.addWidget(self.policy, 1)
        layout.addWidget(note)

        for edit in (self.app_id, self.object_id, self.mailbox):
            edit.textChanged.connect(self.refresh)
        self.large_messages.toggled.connect(self.refresh)
        self.refresh()

    def _line_edit(self, name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        return edit

    def set_account(self, account: GraphAccount) -> None:
        self.app_id.setText(account.app_id)
        self.object_id.setText(account.enterprise_object_id)
        self.mailbox.setText(account.mailbox)
        self.large_messages.setChecked(account.large_messages)
        self.refresh()

    def account(self) -> GraphAccount:
        return GraphAccount(self.app_id.text().strip(), self.mailbox.text().strip(), self.object_id.text().strip(),
                            self.large_messages.isChecked())

    def refresh(self) -> None:
        account = self.account()
        self.warning.setText(graph_guide.least_privilege_warning(account.mailbox))
        self.rbac.set_lines(graph_guide.rbac_for_applications_lines(
            account.app_id, account.enterprise_object_id, account.mailbox, account.large_messages))
        self.policy.set_lines(graph_guide.application_access_policy_lines(account.app_id, account.mailbox))

    @override
    def initializePage(self) -> None:
        s = self.state
        self.set_account(GraphAccount(s.draft.client_id, s.draft.from_address.strip(), s.enterprise_object_id,
                                      s.large_messages))

    @override
    def validatePage(self) -> bool:
        account = self.account()
        self.state.enterprise_object_id = account.enterprise_object_id
        self.state.large_messages = account.large_messages
        return True
