"""The Mailwright wizard: pages registered by `PageId`, sharing one `WizardState`; `flow.next_page` branches."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget, QWizard, QWizardPage

from wizard.pages import flow
from wizard.pages.ids import PageId
from wizard.pages.state import WizardState, unused_profile_name
from wizard.services.home import has_config_file
from wizard.services.settings import DeliverySettings
from wizard.typing_compat import override

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent

    from wizard.pages.azure_registration import AzureRegistrationPage
    from wizard.pages.check import CheckPage
    from wizard.pages.delivery_settings import DeliverySettingsPage
    from wizard.pages.dns_page import DnsHealthPage
    from wizard.pages.gmail_auth import GmailAuthPage
    from wizard.pages.graph_permissions import GraphPermissionsPage
    from wizard.pages.m365_auth import M365AuthPage
    from wizard.pages.m365_setup import M365SetupPage
    from wizard.pages.provider import ProviderPage
    from wizard.pages.sender_address import SenderAddressPage
    from wizard.pages.sender_settings import SenderSettingsPage
    from wizard.pages.smtp_account import SmtpAccountPage
    from wizard.pages.summary import SummaryPage
    from wizard.pages.test_mail import TestMailPage
    from wizard.pages.welcome import WelcomePage
    from wizard.qt_async import TaskTracker
    from wizard.services.app_services import Services
    from wizard.services.config import ConfigStore
    from wizard.services.model import Profile

WINDOW_TITLE = "Mailwright"
PAGE_TITLES = {
    PageId.WELCOME: "Welcome and saved accounts",
    PageId.SENDER: "Sender address; the provider is looked up",
    PageId.PROVIDER: "Choose the mail provider",
    PageId.SMTP: "SMTP account settings",
    PageId.M365_AUTH: "Microsoft 365 / Graph sign-in",
    PageId.AZURE_REGISTRATION: "Microsoft Entra app registration guide",
    PageId.GMAIL_AUTH: "Gmail app password or Google sign-in",
    PageId.GRAPH_PERMISSIONS: "Limit Microsoft Graph to the sender mailbox",
    PageId.CHECK: "Connection check",
    PageId.SENDER_SETTINGS: "Sender settings and policy",
    PageId.DELIVERY: "Delivery settings",
    PageId.DNS: "DNS health of the sender domain",
    PageId.TEST_MAIL: "Send test mail",
    PageId.SUMMARY: "Summary and save",
    PageId.M365_SETUP: "Microsoft 365 set up by one administrator sign-in",
}

# Each page's module and class. A page is built when the wizard first needs it (it is the start page, Next is
# about to show it, or code asks for it), so startup imports only the first page and not the check's SMTP
# client, the sign-in panels or the test-mail form.
PAGE_CLASSES: dict[PageId, tuple[str, str]] = {
    PageId.WELCOME: ("wizard.pages.welcome", "WelcomePage"),
    PageId.SENDER: ("wizard.pages.sender_address", "SenderAddressPage"),
    PageId.PROVIDER: ("wizard.pages.provider", "ProviderPage"),
    PageId.SMTP: ("wizard.pages.smtp_account", "SmtpAccountPage"),
    PageId.M365_AUTH: ("wizard.pages.m365_auth", "M365AuthPage"),
    PageId.AZURE_REGISTRATION: ("wizard.pages.azure_registration", "AzureRegistrationPage"),
    PageId.GMAIL_AUTH: ("wizard.pages.gmail_auth", "GmailAuthPage"),
    PageId.GRAPH_PERMISSIONS: ("wizard.pages.graph_permissions", "GraphPermissionsPage"),
    PageId.CHECK: ("wizard.pages.check", "CheckPage"),
    PageId.SENDER_SETTINGS: ("wizard.pages.sender_settings", "SenderSettingsPage"),
    PageId.DELIVERY: ("wizard.pages.delivery_settings", "DeliverySettingsPage"),
    PageId.DNS: ("wizard.pages.dns_page", "DnsHealthPage"),
    PageId.TEST_MAIL: ("wizard.pages.test_mail", "TestMailPage"),
    PageId.SUMMARY: ("wizard.pages.summary", "SummaryPage"),
    PageId.M365_SETUP: ("wizard.pages.m365_setup", "M365SetupPage"),
}
# The pages that save or read saved settings: they get the wizard's config store.
STORE_PAGES = frozenset({PageId.SUMMARY, PageId.M365_SETUP})
PAGE_MODULES = tuple(module for module, _class in PAGE_CLASSES.values())


@dataclass(frozen=True)
class SavedAccounts:
    state: WizardState
    default_profile: str = ""
    error: str = ""


def load_saved_accounts(store: ConfigStore | None) -> SavedAccounts:
    """The wizard's starting state: prefilled from the default profile, or empty without a configuration.
    `store` None: nothing is saved yet (a first start, where config.py, tomlkit and the validators load only
    after the first paint)."""
    if store is None:
        return SavedAccounts(_fresh_state({}, DeliverySettings()))
    try:
        config = store.load()
    except (ValueError, OSError) as exc:  # a hand-edited config.toml with a mistake must not stop the wizard
        return SavedAccounts(WizardState(), error=f"The settings file {store.path} could not be read: {exc}")
    if not config.default_profile:
        return SavedAccounts(_fresh_state(dict(config.profiles), config.delivery))
    state = WizardState(saved_profiles=dict(config.profiles), delivery=config.delivery)
    state.load_profile(config.profiles[config.default_profile])
    return SavedAccounts(state, config.default_profile)


def _fresh_state(saved_profiles: dict[str, Profile], delivery: DeliverySettings) -> WizardState:
    """A new account's draft, named so that it does not collide with a saved one."""
    state = WizardState(saved_profiles=saved_profiles, delivery=delivery)
    state.draft = replace(state.draft, name=unused_profile_name(saved_profiles))
    return state


class MailwrightWizard(QWizard):
    """The wizard. Pages are registered when first needed; `window.check_page` etc. build theirs on access.

    `services` is the running app's composition root (the main window's Accounts dialog passes its own): the
    pages save with its config store. Without one (the first start's wizard, painted before the app has opened
    its services and its outbox; `gui --page`, screenshots, tests) the wizard reads and saves the data home's
    config.toml through a store of its own, which needs nothing else of the services."""

    def __init__(self, saved: SavedAccounts | None = None, *, services: Services | None = None,
                 start: PageId = PageId.WELCOME, autostart_check: bool = True, dns_nameserver: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self._store = services.store if services is not None else None
        if saved is None:
            saved = load_saved_accounts(self.store if self._store is not None or has_config_file() else None)
        self.state = saved.state
        self._page_options: dict[PageId, dict[str, Any]] = {
            PageId.WELCOME: {"default_profile": saved.default_profile, "load_error": saved.error},
            PageId.CHECK: {"autostart": autostart_check},
            PageId.DNS: {"nameserver": dns_nameserver, "autostart": autostart_check},
        }
        self._pages: dict[PageId, QWizardPage] = {}
        self.setObjectName("mailwrightWizard")
        self.setWindowTitle(WINDOW_TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, True)
        self.helpRequested.connect(self.show_help)
        self.help_dialog: QDialog | None = None
        self.discard_question: QMessageBox | None = None
        self._discard_confirmed = False
        # What the first page shows once it has filled itself in (the SMTP page proposes the address as user
        # name): the baseline for "unsaved input", taken when that page is current.
        self._as_opened: tuple[object, ...] | None = None
        self.currentIdChanged.connect(self._take_baseline)
        self.ensure_page(start)
        self.setStartId(start)
        self.resize(800, 600)

    @property
    def store(self) -> ConfigStore:
        """The services' config store; a wizard given none opens the data home's when it first needs it (on a
        first start, after the first paint: config.py is not imported before)."""
        if self._store is None:
            from wizard.services.config import ConfigStore

            self._store = ConfigStore()
        return self._store

    def show_help(self) -> None:
        """What the current page is for, with the chosen provider's own documentation."""
        from wizard.dialogs.page_help import PageHelpDialog
        from wizard.pages.page_help import help_html

        page = PageId(self.currentId())
        if self.help_dialog is not None:
            self.help_dialog.close()
        self.help_dialog = PageHelpDialog(help_html(page, PAGE_TITLES[page], self.state), self)
        self.help_dialog.open()

    def ensure_page(self, page_id: PageId) -> QWizardPage:
        """The page for `page_id`, built and registered with `setPage` the first time it is needed."""
        page = self._pages.get(page_id)
        if page is None:
            module, class_name = PAGE_CLASSES[page_id]
            page_class = getattr(importlib.import_module(module), class_name)
            options = self._page_options.get(page_id, {})
            if page_id in STORE_PAGES:
                options = {**options, "store": self.store}
            page = cast(QWizardPage, page_class(self.state, **options))
            page.setObjectName(f"page-{page_id.cli_name}")
            self._pages[page_id] = page
            self.setPage(page_id, page)
            if page_id is PageId.CHECK:
                cast("CheckPage", page).use_graph_requested.connect(self.switch_to_graph)
        return page

    @override
    def page(self, id: int) -> QWizardPage:
        """QWizard.page for callers in Python: builds the page if it was not needed yet."""
        return self.ensure_page(PageId(id)) if id in PAGE_CLASSES else super().page(id)

    @override
    def validateCurrentPage(self) -> bool:
        """QWizard.next() asks this before it moves on: build the page it is about to show."""
        if not super().validateCurrentPage():
            return False
        following = self.nextId()
        if following in PAGE_CLASSES:
            self.ensure_page(PageId(following))
        return True

    @override
    def nextId(self) -> int:
        current = self.currentId()
        if current < 0:
            return self.startId()
        return flow.next_page(PageId(current), self.state, PAGE_CLASSES.keys())

    @property
    def welcome_page(self) -> WelcomePage:
        return cast("WelcomePage", self.ensure_page(PageId.WELCOME))

    @property
    def sender_page(self) -> SenderAddressPage:
        return cast("SenderAddressPage", self.ensure_page(PageId.SENDER))

    @property
    def provider_page(self) -> ProviderPage:
        return cast("ProviderPage", self.ensure_page(PageId.PROVIDER))

    @property
    def smtp_page(self) -> SmtpAccountPage:
        return cast("SmtpAccountPage", self.ensure_page(PageId.SMTP))

    @property
    def m365_auth_page(self) -> M365AuthPage:
        return cast("M365AuthPage", self.ensure_page(PageId.M365_AUTH))

    @property
    def m365_setup_page(self) -> M365SetupPage:
        return cast("M365SetupPage", self.ensure_page(PageId.M365_SETUP))

    @property
    def azure_registration_page(self) -> AzureRegistrationPage:
        return cast("AzureRegistrationPage", self.ensure_page(PageId.AZURE_REGISTRATION))

    @property
    def gmail_auth_page(self) -> GmailAuthPage:
        return cast("GmailAuthPage", self.ensure_page(PageId.GMAIL_AUTH))

    @property
    def graph_permissions_page(self) -> GraphPermissionsPage:
        return cast("GraphPermissionsPage", self.ensure_page(PageId.GRAPH_PERMISSIONS))

    @property
    def check_page(self) -> CheckPage:
        return cast("CheckPage", self.ensure_page(PageId.CHECK))

    @property
    def sender_settings_page(self) -> SenderSettingsPage:
        return cast("SenderSettingsPage", self.ensure_page(PageId.SENDER_SETTINGS))

    @property
    def delivery_page(self) -> DeliverySettingsPage:
        return cast("DeliverySettingsPage", self.ensure_page(PageId.DELIVERY))

    @property
    def dns_page(self) -> DnsHealthPage:
        return cast("DnsHealthPage", self.ensure_page(PageId.DNS))

    @property
    def test_mail_page(self) -> TestMailPage:
        return cast("TestMailPage", self.ensure_page(PageId.TEST_MAIL))

    @property
    def summary_page(self) -> SummaryPage:
        return cast("SummaryPage", self.ensure_page(PageId.SUMMARY))

    def switch_to_graph(self) -> None:
        """From a failed Microsoft 365 SMTP check back to the sign-in page, which now offers Graph's modes."""
        while self.currentId() != PageId.M365_AUTH and PageId.M365_AUTH in self.visitedIds()[:-1]:
            self.back()
        if self.currentId() != PageId.M365_AUTH:  # opened at the check page: no history to go back through
            self.ensure_page(PageId.M365_AUTH)
            self.setStartId(PageId.M365_AUTH)
            self.restart()
        else:
            self.m365_auth_page.initializePage()

    def task_trackers(self) -> list[TaskTracker]:
        """Every tracker of the pages and the dialogs they opened (dialogs are the pages' children)."""
        # Not imported here: before the first page is painted, qasync and asyncio are not loaded, and then no
        # page can have a tracker yet (closing a screenshot's wizard does not need them at all).
        qt_async = sys.modules.get("wizard.qt_async")
        return self.findChildren(qt_async.TaskTracker) if qt_async is not None else []

    async def wait_idle(self) -> None:
        for tracker in self.task_trackers():
            await tracker.wait()

    def cancel_tasks(self) -> None:
        for tracker in self.task_trackers():
            tracker.cancel()

    # -- Cancel, Esc and the close button: what was typed is not thrown away without asking ------------------

    def _entered(self) -> tuple[object, ...]:
        """What the admin entered: the settings (the profile name aside), the typed secrets, delivery."""
        return (replace(self.state.profile(), name=""), self.state.secrets.fingerprint(), self.state.delivery)

    def _take_baseline(self) -> None:
        if self._as_opened is None:
            self._as_opened = self._entered()

    def has_unsaved_input(self) -> bool:
        """Something was entered or changed since the wizard opened, and Finish has not saved it."""
        if self._as_opened is None or self._entered() == self._as_opened:
            return False
        saved = self.state.saved
        return saved is None or replace(saved, name="") != replace(self.state.profile(), name="")

    def discard(self) -> None:
        """Close without saving and without asking (the admin said so)."""
        self._discard_confirmed = True
        self.reject()

    def ask_discard(self) -> QMessageBox:
        """Cancel with unsaved input: ask first (open(), not exec(): no nested event loop)."""
        if self.discard_question is not None and self.discard_question.isVisible():
            return self.discard_question
        editing = self.state.editing
        text = (f"Your changes to the account “{editing}” are not saved. Close the wizard and discard them?"
                if editing else "The account you entered is not saved. Close the wizard and discard it?")
        question = QMessageBox(QMessageBox.Icon.Question, "Discard your input?", text,
                               QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self)
        question.setObjectName("confirmDiscard")
        question.setInformativeText("Keep editing, then click Finish on the last page to save.")
        question.button(QMessageBox.StandardButton.Cancel).setText("Keep editing")
        question.setDefaultButton(QMessageBox.StandardButton.Cancel)
        question.finished.connect(self._on_discard_answer)
        self.discard_question = question
        question.open()
        return question

    def _on_discard_answer(self, result: int) -> None:
        if result == int(QMessageBox.StandardButton.Discard):
            self.discard()

    @override
    def reject(self) -> None:
        if not self._discard_confirmed and self.has_unsaved_input():
            self.ask_discard()
            return
        self.cancel_tasks()
        super().reject()

    @override
    def done(self, result: int) -> None:
        """Finish, Cancel, Escape and closing the window all end here: nothing to put back in the keyring (the
        wizard never wrote to it before Save), and no token session to drop (the pages' OAuth calls build theirs
        per call, over the draft's secrets)."""
        self.cancel_tasks()
        super().done(result)

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        """The title bar's close button (a spontaneous event) asks like Cancel; a close by the program (the app
        quitting, a test, a screenshot) discards without a question nobody would see."""
        if not event.spontaneous():
            self._discard_confirmed = True
        super().closeEvent(event)  # QDialog: reject(), and the event is ignored while the question is open
