"""Welcome: what the wizard does, and the saved accounts (edit one, or set up a new one)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QRadioButton, QVBoxLayout, QWidget, QWizardPage

from wizard.pages.state import WizardState
from wizard.services.model import Profile, ProviderKind, Security
from wizard.typing_compat import override
from wizard.widgets.colours import problem_style

INTRO = (
    "Mailwright connects your application's outgoing e-mail to your own mail account and proves that it "
    "works.\n\n"
    "1.  Enter the sender address: Mailwright looks up your provider (you can choose another).\n"
    "2.  Sign in: a password or app password, Microsoft or Google sign-in, or app-only credentials.\n"
    "3.  Mailwright checks the connection step by step and explains any problem in plain words.\n"
    "4.  Check your domain's DNS, send yourself a test message, then save. Passwords and secrets go to "
    "this computer's keyring, never to a file."
)

_SECURITY_WORDS = {Security.STARTTLS: "STARTTLS", Security.TLS: "TLS", Security.NONE: "no encryption"}


def describe_profile(profile: Profile, default: bool) -> str:
    suffix = "  (default)" if default else ""
    if profile.provider is ProviderKind.GRAPH:
        return f"{profile.name}: {profile.from_address} via Microsoft Graph{suffix}"
    return (f"{profile.name}: {profile.from_address} via {profile.host}:{profile.port} "
            f"({_SECURITY_WORDS[profile.security]}){suffix}")


class WelcomePage(QWizardPage):
    def __init__(self, state: WizardState, default_profile: str = "", load_error: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Welcome to Mailwright")
        self.setSubTitle("Set up the mail account your application sends through.")
        intro = QLabel(INTRO)
        intro.setObjectName("welcomeIntro")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)

        self.error = QLabel(load_error)
        self.error.setObjectName("configError")
        self.error.setAccessibleName("Configuration problem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(problem_style())
        self.error.setVisible(bool(load_error))
        layout.addWidget(self.error)

        self.new_account = QRadioButton("Set up a new account")
        self.new_account.setObjectName("newAccount")
        self.new_account.setAccessibleName("Set up a new account")
        self.edit_account = QRadioButton("Check or change a saved account:")
        self.edit_account.setObjectName("editAccount")
        self.edit_account.setAccessibleName("Check or change a saved account")
        self.saved = QListWidget()
        self.saved.setObjectName("savedProfiles")
        self.saved.setAccessibleName("Saved accounts")
        self._profile_names = list(state.saved_profiles)  # row -> profile name
        for name, profile in state.saved_profiles.items():
            item = QListWidgetItem(describe_profile(profile, name == default_profile))
            self.saved.addItem(item)
            if name == default_profile or self.saved.currentItem() is None:
                self.saved.setCurrentItem(item)
        has_saved = bool(state.saved_profiles)
        for widget in (self.new_account, self.edit_account, self.saved):
            widget.setVisible(has_saved)
        layout.addSpacing(8)
        layout.addWidget(self.edit_account)
        rows = max(3, min(8, self.saved.count() + 1))
        self.saved.setMaximumHeight(self.saved.sizeHintForRow(0) * rows + 2 * self.saved.frameWidth() + 4)
        layout.addWidget(self.saved)
        layout.addWidget(self.new_account)
        layout.addStretch(1)
        self.edit_account.setChecked(has_saved)
        self.new_account.setChecked(not has_saved)
        self.edit_account.toggled.connect(self.saved.setEnabled)
        self.saved.itemClicked.connect(lambda _item: self.edit_account.setChecked(True))
        self._applied: str | None = None

    def selected_profile(self) -> str:
        row = self.saved.currentRow()
        if not self.edit_account.isChecked() or row < 0:
            return ""
        return self._profile_names[row]

    @override
    def validatePage(self) -> bool:
        choice = self.selected_profile()
        if choice != self._applied:  # going back and forth keeps what was typed on later pages
            delivery = self.state.delivery  # [delivery] is shared by every account: a new one keeps it
            if choice:
                self.state.load_profile(self.state.saved_profiles[choice])
            else:
                self.state.start_new()
            self.state.delivery = delivery
            self._applied = choice
        return True
