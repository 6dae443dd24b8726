"""The composition root reaches the GUI: the main window, its dialogs and the wizard they open use the services
they were given (wizard.services.app_services.Services), and no page, widget or dialog builds its own store or
outbox."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from tests.gui.conftest import OFFSCREEN_NOISE, SignalWaiter
from wizard.main_window import MainWindow
from wizard.pages.ids import PageId
from wizard.services import accounts, secrets
from wizard.services.alerts import AlertDispatcher
from wizard.services.app_services import Services
from wizard.services.background_delivery import BackgroundDelivery
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, Security
from wizard.services.outbox import Outbox
from wizard.services.secret_source import DraftSecrets

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)]

ROOT = Path(__file__).resolve().parents[2]
GUI_PARTS = ("wizard/pages", "wizard/widgets", "wizard/dialogs", "wizard/main_window.py")
# What only the composition root (app_services.Services, built by wizard.app_loop and the CLI) creates.
ROOT_OWNED = {"ConfigStore", "Outbox", "Services", "TokenService", "GraphLimits", "AlertDispatcher"}
# The one exception: a wizard given no services (the first start's wizard, painted before the app has opened
# its services and outbox; `gui --page`, screenshots) opens the data home's config store when it first needs it.
ALLOWED = {("wizard/pages/wizard.py", "MailwrightWizard.store", "ConfigStore")}


def _built_here(path: Path, relative: str) -> set[tuple[str, str, str]]:
    """(file, enclosing function, class) for each call that builds one of ROOT_OWNED (`X(...)`, `X.open(...)`,
    `X.for_home(...)`)."""
    found: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
            if isinstance(child, ast.Call):
                function = child.func
                if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                    function = function.value  # Services.open(...), AlertDispatcher.for_home(...)
                if isinstance(function, ast.Name) and function.id in ROOT_OWNED:
                    found.add((relative, scope, function.id))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_no_page_widget_dialog_or_main_window_builds_what_the_composition_root_owns() -> None:
    files = [path for part in GUI_PARTS for path in
             ((ROOT / part).rglob("*.py") if (ROOT / part).is_dir() else [ROOT / part])]
    assert len(files) > 30  # the scan did read the GUI
    built = set().union(*(_built_here(path, path.relative_to(ROOT).as_posix()) for path in files))
    assert built - ALLOWED == set()


def test_the_scan_finds_a_store_built_in_a_page(tmp_path: Path) -> None:
    """The scan above can fail: it sees each way of building one."""
    page = tmp_path / "probe.py"
    page.write_text("class Page:\n    def save(self):\n        store = ConfigStore()\n        outbox = Outbox.open()\n"
                    "        return store, outbox, Services.open(), TokenService()\n", encoding="utf-8")
    assert _built_here(page, "probe.py") == {("probe.py", "Page.save", name)
                                             for name in ("ConfigStore", "Outbox", "Services", "TokenService")}


@pytest.mark.asyncio
@pytest.mark.keyring
@pytest.mark.qt_log_ignore(OFFSCREEN_NOISE, "does not support raise")
async def test_the_main_window_and_the_wizard_it_opens_use_the_services_they_were_given(
        qtbot: QtBot, data_home: Path, tmp_path: Path, profile_name: str) -> None:
    """Services on a data home that is not MAILWRIGHT_HOME, its outbox at a path of its own: the window shows
    that outbox's mail, and the wizard opened from its Accounts dialog saves into that home's config.toml."""
    home = tmp_path / "services-home"
    home.mkdir()
    store = ConfigStore(home)
    services = Services(home, store, Outbox(home / "elsewhere.sqlite"))
    accounts.save_profile(Profile(name=profile_name, from_address="app@example.com", host="smtp.example.com",
                                  username="app@example.com"), "a password", store)
    services.outbox.enqueue(b"Subject: queued\r\n\r\nbody\r\n", profile=profile_name,
                            envelope_from="app@example.com", recipients=["bob@example.net"])
    delivery = BackgroundDelivery(services.outbox, store.load)  # not started: nothing is sent here
    window = MainWindow(services, delivery, AlertDispatcher(services.outbox, store.load, enabled=False))
    try:
        assert window.store is store and window.outbox is services.outbox
        await window.refresh()
        assert list(window.cards) == [profile_name]  # the services' config.toml, not MAILWRIGHT_HOME's
        assert "1 queued" in window.cards[profile_name].details.text()  # the services' outbox
        relay_users = window.open_relay_users()
        assert (relay_users.store, relay_users.outbox_path) == (store, home / "elsewhere.sqlite")
        relay_users.close()

        wizard = window.open_profiles().edit_profile(profile_name, start=PageId.SUMMARY)
        assert wizard.services is services and wizard.store is store and wizard.summary_page.store is store
        wizard.state.draft = replace(wizard.state.draft, display_name="Saved Through Services")
        saved = SignalWaiter(wizard.summary_page.save_finished)
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
        assert await saved.wait() == (True,)
        await wizard.wait_idle()
        assert store.load().profile(profile_name).display_name == "Saved Through Services"
        assert not (data_home / "config.toml").exists()
    finally:
        for dialog in (window.profiles_dialog, window.relay_dialog):
            if dialog is not None:
                dialog.close()
        await window.shutdown()
        window.close()
        window.deleteLater()
        secrets.delete_profile_secrets(profile_name)


@pytest.mark.asyncio
async def test_the_main_window_s_check_signs_in_with_the_services_secret_source(
        smtp_server: SmtpServerFactory, data_home: Path) -> None:
    """Check now checks an account as its mail is sent: with the services' secret source (a system service's is
    the service store), not the keyring, which holds nothing here."""
    sink = smtp_server("starttls")
    services = Services.open(secrets=DraftSecrets(password=GOOD_PASSWORD))
    services.store.save_profile(Profile(name="main", from_address=GOOD_USER, host=sink.host, port=sink.port,
                                        security=Security.STARTTLS, username=GOOD_USER, ca_file=sink.ca_file))
    delivery = BackgroundDelivery(services.outbox, services.store.load)  # not started
    window = MainWindow(services, delivery, AlertDispatcher(services.outbox, services.store.load, enabled=False))
    try:
        await window.refresh()
        report = await window.cards["main"].check()
        assert report is not None and report.ok, report.diagnosis if report else None
        assert [step.ok for step in report.steps] == [True] * len(report.steps)
    finally:
        await window.shutdown()
        window.close()
        window.deleteLater()


def test_a_wizard_without_services_reads_the_data_home_of_mailwright_home(qtbot: QtBot, data_home: Path) -> None:
    """The first start's wizard (painted before the app's services exist) and previews: the data home's store."""
    from wizard.pages.wizard import MailwrightWizard

    ConfigStore(data_home).save_profile(Profile(name="office", from_address="o@example.com", host="mail.example"))
    window = MailwrightWizard(autostart_check=False)
    qtbot.addWidget(window)
    assert window.services is None and window.store.home == data_home
    assert window.state.editing == "office" and window.summary_page.store is window.store
