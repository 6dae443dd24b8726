"""The Mailwright wizard: pages registered by `PageId`, sharing one `WizardState`."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard, QWizardPage
from typing_extensions import override

from wizard.pages.check import CheckPage
from wizard.pages.ids import PageId
from wizard.pages.provider import ProviderPage
from wizard.pages.smtp_account import SmtpAccountPage
from wizard.pages.state import WizardState, unused_profile_name
from wizard.pages.summary import SummaryPage
from wizard.pages.welcome import WelcomePage
from wizard.qt_async import TaskTracker
from wizard.services.config import ConfigStore

WINDOW_TITLE = "Mailwright"
PAGE_TITLES = {
    PageId.WELCOME: "Welcome and saved accounts",
    PageId.PROVIDER: "Choose the mail provider",
    PageId.SMTP: "SMTP account settings",
    PageId.CHECK: "Connection check",
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
    state = WizardState(saved_profiles=dict(config.profiles))
    if config.default_profile:
        state.load_profile(config.profiles[config.default_profile])
    else:
        state.profile_name = unused_profile_name(state.saved_profiles)
    return SavedAccounts(state, config.default_profile)


class MailwrightWizard(QWizard):
    def __init__(self, saved: SavedAccounts | None = None, *, start: PageId = PageId.WELCOME,
                 autostart_check: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        saved = saved or load_saved_accounts()
        self.state = saved.state
        self.setObjectName("mailwrightWizard")
        self.setWindowTitle(WINDOW_TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.welcome_page = WelcomePage(self.state, saved.default_profile, saved.error)
        self.provider_page = ProviderPage(self.state)
        self.smtp_page = SmtpAccountPage(self.state)
        self.check_page = CheckPage(self.state, autostart=autostart_check)
        self.summary_page = SummaryPage(self.state)
        pages: dict[PageId, QWizardPage] = {
            PageId.WELCOME: self.welcome_page, PageId.PROVIDER: self.provider_page, PageId.SMTP: self.smtp_page,
            PageId.CHECK: self.check_page, PageId.SUMMARY: self.summary_page,
        }
        for page_id, page in pages.items():
            page.setObjectName(f"page-{page_id.cli_name}")
            self.setPage(page_id, page)
        self.setStartId(start)
        self.resize(800, 600)

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
