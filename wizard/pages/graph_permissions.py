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
from wizard.widgets.code_box import fit_to_lines
from wizard.widgets.colours import notice_style, problem_style
from wizard.widgets.form_widgets import fill_with_scrolling


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
        fit_to_lines(self.text)

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
        self.problems_label = QLabel()
        self.problems_label.setObjectName("graphPermissionsProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(problem_style())
        self.problems_label.hide()
        note = QLabel("The last line of each block checks the result: it must say the app is allowed for the "
                      "sender mailbox only. Changes can take up to an hour to apply.")
        note.setWordWrap(True)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.warning)
        layout.addLayout(form)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.rbac)
        layout.addWidget(self.policy)
        layout.addWidget(note)
        layout.addStretch(1)
        # the code boxes keep their full height; a small window scrolls instead
        fill_with_scrolling(self, content, "graphPermissionsScroll")

        self._touched: set[QLineEdit] = set()
        for edit in (self.app_id, self.object_id, self.mailbox):
            edit.textChanged.connect(self.refresh)
            edit.textEdited.connect(self._mark_touched)
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

    def _mark_touched(self, _text: str) -> None:
        sender = self.sender()
        if isinstance(sender, QLineEdit) and sender not in self._touched:
            self._touched.add(sender)
            self.refresh()

    def field_problems(self) -> list[tuple[QLineEdit, str]]:
        """Each field the PowerShell needs, checked (the same rules as the registration page)."""
        from wizard.services.oauth import azure_guide
        from wizard.services.validation import validate_address

        account = self.account()
        found: list[tuple[QLineEdit, str | None]] = [
            (self.app_id, azure_guide.validate_client_id(account.app_id)),
            (self.object_id, None if azure_guide.is_guid(account.enterprise_object_id) else
             "The enterprise app's Object ID is a GUID (Enterprise applications > your app > Object ID; not the "
             "app registration's Object ID)."),
        ]
        try:
            validate_address(account.mailbox, "sender mailbox")
        except ValueError as exc:
            found.append((self.mailbox, str(exc)))
        return [(edit, problem) for edit, problem in found if problem]

    def refresh(self) -> None:
        account = self.account()
        shown = [p for edit, p in self.field_problems() if edit in getattr(self, "_touched", ()) or edit.text().strip()]
        if hasattr(self, "problems_label"):
            self.problems_label.setText("\n".join(shown))
            self.problems_label.setVisible(bool(shown))
        self.completeChanged.emit()
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
    def isComplete(self) -> bool:
        return not self.field_problems()

    @override
    def validatePage(self) -> bool:
        account = self.account()
        self.state.enterprise_object_id = account.enterprise_object_id
        self.state.large_messages = account.large_messages
        return True
