"""The Mailwright wizard: pages registered by `PageId`, sharing one `WizardState`; `flow.next_page` branches."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard, QWizardPage
from typing_extensions import override

from wizard.pages import flow
from wizard.pages.azure_registration import AzureRegistrationPage
from wizard.pages.check import CheckPage
from wizard.pages.delivery_settings import DeliverySettingsPage
from wizard.pages.dns_page import DnsHealthPage
from wizard.pages.gmail_auth import GmailAuthPage
from wizard.pages.graph_permissions import GraphPermissionsPage
from wizard.pages.ids import PageId
from wizard.pages.m365_auth import M365AuthPage
from wizard.pages.provider import ProviderPage
from wizard.pages.sender_address import SenderAddressPage
from wizard.pages.sender_settings import SenderSettingsPage
from wizard.pages.smtp_account import SmtpAccountPage
from wizard.pages.state import WizardState, unused_profile_name
from wizard.pages.summary import SummaryPage
from wizard.pages.test_mail import TestMailPage
from wizard.pages.welcome import WelcomePage
from wizard.qt_async import TaskTracker
from wizard.services.config import ConfigStore

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
    PageId.TEST_MAIL: "Send a test mail",
    PageId.SUMMARY: "Summary and save",
}


@dataclass(frozen=True)
class SavedAccounts:
    state: WizardState
    default_profile: str = ""
    error: str = ""


def load_saved_accounts(store: ConfigStore | None = None) -> SavedAccounts:
    """The wizard's starting state: prefilled from the default profile, or empty without a configuration."""
    store = store or ConfigStore()
    try:
        config = store.load()
    except (ValueError, OSError) as exc:  # a hand-edited config.toml with a mistake must not stop the wizard
        return SavedAccounts(WizardState(), error=f"The settings file {store.path} could not be read: {exc}")
    state = WizardState(saved_profiles=dict(config.profiles), delivery=config.delivery)
    if config.default_profile:
        state.load_profile(config.profiles[config.default_profile])
    else:
        state.profile_name = unused_profile_name(state.saved_profiles)
    return SavedAccounts(state, config.default_profile)


class MailwrightWizard(QWizard):
    def __init__(self, saved: SavedAccounts | None = None, *, start: PageId = PageId.WELCOME,
                 autostart_check: bool = True, dns_nameserver: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        saved = saved or load_saved_accounts()
        self.state = saved.state
        self.setObjectName("mailwrightWizard")
        self.setWindowTitle(WINDOW_TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        state = self.state
        self.welcome_page = WelcomePage(state, saved.default_profile, saved.error)
        self.sender_page = SenderAddressPage(state)
        self.provider_page = ProviderPage(state)
        self.smtp_page = SmtpAccountPage(state)
        self.m365_auth_page = M365AuthPage(state)
        self.azure_registration_page = AzureRegistrationPage(state)
        self.gmail_auth_page = GmailAuthPage(state)
        self.graph_permissions_page = GraphPermissionsPage(state)
        self.check_page = CheckPage(state, autostart=autostart_check)
        self.sender_settings_page = SenderSettingsPage(state)
        self.delivery_page = DeliverySettingsPage(state)
        self.dns_page = DnsHealthPage(state, nameserver=dns_nameserver, autostart=autostart_check)
        self.test_mail_page = TestMailPage(state)
        self.summary_page = SummaryPage(state)
        pages: dict[PageId, QWizardPage] = {
            PageId.WELCOME: self.welcome_page, PageId.SENDER: self.sender_page, PageId.PROVIDER: self.provider_page,
            PageId.SMTP: self.smtp_page, PageId.M365_AUTH: self.m365_auth_page,
            PageId.AZURE_REGISTRATION: self.azure_registration_page, PageId.GMAIL_AUTH: self.gmail_auth_page,
            PageId.GRAPH_PERMISSIONS: self.graph_permissions_page, PageId.CHECK: self.check_page,
            PageId.SENDER_SETTINGS: self.sender_settings_page, PageId.DELIVERY: self.delivery_page,
            PageId.DNS: self.dns_page, PageId.TEST_MAIL: self.test_mail_page, PageId.SUMMARY: self.summary_page,
        }
        for page_id, page in pages.items():
            page.setObjectName(f"page-{page_id.cli_name}")
            self.setPage(page_id, page)
        self.check_page.use_graph_requested.connect(self.switch_to_graph)
        self.setStartId(start)
        self.resize(800, 600)

    @override
    def nextId(self) -> int:
        current = self.currentId()
        if current < 0:
            return self.startId()
        return flow.next_page(PageId(current), self.state, {PageId(i) for i in self.pageIds()})

    def switch_to_graph(self) -> None:
        """From a failed Microsoft 365 SMTP check back to the sign-in page, which now offers Graph's modes."""
        while self.currentId() != PageId.M365_AUTH and PageId.M365_AUTH in self.visitedIds()[:-1]:
            self.back()
        if self.currentId() != PageId.M365_AUTH:  # opened at the check page: no history to go back through
            self.setStartId(PageId.M365_AUTH)
            self.restart()
        else:
            self.m365_auth_page.initializePage()

    def task_trackers(self) -> list[TaskTracker]:
        """Every tracker of the pages and the dialogs they opened (dialogs are the pages' children)."""
        return self.findChildren(TaskTracker)

    async def wait_idle(self) -> None:
        for tracker in self.task_trackers():
            await tracker.wait()

    def cancel_tasks(self) -> None:
        for tracker in self.task_trackers():
            tracker.cancel()

    @override
    def reject(self) -> None:
        self.cancel_tasks()
        super().reject()

    @override
    def done(self, result: int) -> None:
        self.cancel_tasks()
        super().done(result)

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel_tasks()
        super().closeEvent(event)
