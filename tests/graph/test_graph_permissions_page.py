"""The least-privilege page: the warning names the mailbox and the copied PowerShell is filled in."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from wizard.pages.graph_permissions import GraphAccount, GraphPermissionsPage
from wizard.pages.state import WizardState
from wizard.services.model import Profile

pytestmark = pytest.mark.gui

APP = "11111111-2222-3333-4444-555555555555"
OBJECT = "99999999-8888-7777-6666-555555555555"


def page_for(qtbot: QtBot, account: GraphAccount) -> GraphPermissionsPage:
    state = WizardState(
        draft=Profile(name="default", client_id=account.app_id, from_address=account.mailbox),
        enterprise_object_id=account.enterprise_object_id, large_messages=account.large_messages)
    page = GraphPermissionsPage(state)
    qtbot.addWidget(page)
    page.initializePage()
    return page


def test_warning_says_mail_send_covers_every_mailbox(qtbot: QtBot) -> None:
    page = page_for(qtbot, GraphAccount(APP, "ops@contoso.com", OBJECT))
    assert "ANY mailbox" in page.warning.text()
    assert "ops@contoso.com" in page.warning.text()


def test_copy_puts_the_filled_in_rbac_lines_on_the_clipboard(qtbot: QtBot) -> None:
    page = page_for(qtbot, GraphAccount(APP, "ops@contoso.com", OBJECT))
    qtbot.mouseClick(page.rbac.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert f"New-ManagementRoleAssignment -App '{APP}' -Role 'Application Mail.Send'" in copied
    assert f"-ObjectId '{OBJECT}'" in copied
    verify = f"Test-ServicePrincipalAuthorization -Identity '{APP}' -Resource 'ops@contoso.com'"
    assert copied.splitlines()[-1] == verify
    assert page.rbac.copy_button.text() == "Copied"


def test_editing_the_mailbox_and_large_messages_updates_both_scripts(qtbot: QtBot) -> None:
    page = page_for(qtbot, GraphAccount(APP, "ops@contoso.com", OBJECT))
    page.mailbox.setText("billing@contoso.com")
    page.large_messages.setChecked(True)
    rbac = page.rbac.text.toPlainText()
    assert "PrimarySmtpAddress -eq \"billing@contoso.com\"" in rbac
    assert "-Role 'Application Mail.ReadWrite'" in rbac
    assert "-Members 'billing@contoso.com'" in page.policy.text.toPlainText()
