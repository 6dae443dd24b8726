"""Issue 14 item 9: the manual Microsoft pages show errors only after input, open the consent link only when it is
valid, list the steps as a checklist, size code boxes to their lines, show dates in the locale's long format; the
least-privilege page does not let Next through empty and proposes a sensible group name."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QCheckBox, QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.gui.conftest import OFFSCREEN_NOISE
from wizard.pages.azure_registration import AzureRegistrationPage
from wizard.pages.graph_permissions import GraphPermissionsPage
from wizard.pages.state import WizardState
from wizard.services import graph_guide
from wizard.services.model import AuthMode, Profile, ProviderKind

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def _registration(qtbot: QtBot, **values: object) -> AzureRegistrationPage:
    draft = Profile(name="p", provider=ProviderKind.M365_SMTP, from_address="app@contoso.com", **values)  # type: ignore[arg-type]
    state = WizardState(draft=draft)
    page = AzureRegistrationPage(state)
    qtbot.addWidget(page)
    page.initializePage()
    page.show()
    return page


def _lines_fit(box: QPlainTextEdit) -> bool:
    lines = box.document().blockCount()
    spacing = box.fontMetrics().lineSpacing()
    return lines * spacing <= box.height() <= (lines + 3) * spacing


def test_a_fresh_registration_page_shows_no_errors_and_no_consent_link(qtbot: QtBot) -> None:
    page = _registration(qtbot, auth=AuthMode.CLIENT_SECRET)

    assert page.validation.text() == "" and not page.validation.isVisible()
    assert not page.isComplete()
    assert page.consent_url.text() == "" and not page.open_consent_button.isEnabled()


def test_errors_appear_for_what_was_typed_and_the_link_once_the_ids_are_valid(qtbot: QtBot) -> None:
    page = _registration(qtbot, auth=AuthMode.OAUTH_INTERACTIVE)

    qtbot.keyClicks(page.tenant, "not a tenant!")
    assert "Directory (tenant) ID" in page.validation.text() and "client" not in page.validation.text().lower()
    assert not page.open_consent_button.isEnabled()
    page.tenant.clear()
    qtbot.keyClicks(page.tenant, TENANT)
    qtbot.keyClicks(page.client_id, CLIENT)

    assert page.validation.text() == ""
    assert page.open_consent_button.isEnabled()
    assert f"/{TENANT}/" in page.consent_url.text() and f"client_id={CLIENT}" in page.consent_url.text()


def test_steps_are_a_checklist_and_code_boxes_fit_their_lines(qtbot: QtBot) -> None:
    page = _registration(qtbot, auth=AuthMode.CLIENT_SECRET, client_id=CLIENT)

    boxes = page.steps.findChildren(QCheckBox)
    assert len(boxes) == len(page.steps.labels) >= 6 and not any(box.isChecked() for box in boxes)
    assert page.steps.labels[0].text().startswith("Open https://entra.microsoft.com")
    assert page.powershell.document().blockCount() > 3 and _lines_fit(page.powershell)


def test_the_secret_expiry_is_shown_in_the_locales_long_format(qtbot: QtBot) -> None:
    page = _registration(qtbot, auth=AuthMode.CLIENT_SECRET, client_secret_expires="2027-06-01")

    assert page.expires.displayFormat() == QLocale().dateFormat(QLocale.FormatType.LongFormat)
    assert page.expires.text() == QLocale().toString(page.expires.date(), QLocale.FormatType.LongFormat)
    assert "2027" in page.expires.text() and "1 06 2027" not in page.expires.text()


def _permissions(qtbot: QtBot) -> GraphPermissionsPage:
    page = GraphPermissionsPage(WizardState(draft=Profile(name="p", provider=ProviderKind.GRAPH)))
    qtbot.addWidget(page)
    page.initializePage()
    page.show()
    return page


def test_graph_permissions_do_not_let_next_through_empty(qtbot: QtBot) -> None:
    page = _permissions(qtbot)

    assert not page.isComplete()
    assert not page.problems_label.isVisible()  # nothing typed yet: no red
    assert "mailwright-senders-mailwright" not in page.policy.text.toPlainText()
    qtbot.keyClicks(page.app_id, CLIENT)
    qtbot.keyClicks(page.mailbox, "ops@contoso.com")
    assert not page.isComplete()  # the enterprise app's Object ID is still missing
    qtbot.keyClicks(page.object_id, TENANT)

    assert page.isComplete() and not page.problems_label.isVisible()
    assert _lines_fit(page.rbac.text) and _lines_fit(page.policy.text)


def test_the_access_policy_group_is_never_named_twice_mailwright() -> None:
    for mailbox in ("", "mailwright@contoso.com"):
        assert "mailwright-senders-mailwright" not in "\n".join(
            graph_guide.application_access_policy_lines(CLIENT, mailbox))
    assert "'mailwright-senders-ops'" in "\n".join(graph_guide.application_access_policy_lines(CLIENT,
                                                                                               "ops@contoso.com"))
