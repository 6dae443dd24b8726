"""Provider choice: which kind of account the application sends through.

Only choices that work end to end are offered. A preset fills the SMTP page's host, port and
security; "Other SMTP server" leaves them to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QVBoxLayout, QWidget, QWizardPage
from typing_extensions import override

from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.services.config import Security


@dataclass(frozen=True)
class ProviderChoice:
    key: str  # stored as the profile's `preset`; "" for a server the user describes
    title: str
    description: str
    host: str = ""
    port: int = 0
    security: Security | None = None


OTHER_SMTP = ProviderChoice(
    "", "Other SMTP server",
    "Any mail server or service that accepts SMTP with a user name and password (or an app password): "
    "your company's server, your hosting provider, or services such as Fastmail, Zoho, SendGrid or Mailgun. "
    "You enter the server name and port from the provider's documentation on the next page.",
)

CHOICES: tuple[ProviderChoice, ...] = (OTHER_SMTP,)


class ProviderPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Choose your mail provider")
        self.setSubTitle("How does your application's mail leave this computer?")
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for index, choice in enumerate(CHOICES):
            button = QRadioButton(choice.title)
            button.setObjectName(f"provider-{choice.key or 'smtp'}")
            button.setAccessibleName(choice.title)
            font = button.font()
            font.setBold(True)
            button.setFont(font)
            description = QLabel(choice.description)
            description.setWordWrap(True)
            description.setContentsMargins(24, 0, 0, 8)
            self.group.addButton(button, index)
            self.buttons[choice.key] = button
            layout.addWidget(button)
            layout.addWidget(description)
        layout.addStretch(1)
        self.group.buttonToggled.connect(lambda *_: self.completeChanged.emit())

    @override
    def initializePage(self) -> None:
        button = self.buttons.get(self.state.preset) or self.buttons[OTHER_SMTP.key]
        button.setChecked(True)

    def selected(self) -> ProviderChoice:
        index = self.group.checkedId()
        return CHOICES[index] if index >= 0 else OTHER_SMTP

    @override
    def isComplete(self) -> bool:
        return self.group.checkedId() >= 0

    @override
    def validatePage(self) -> bool:
        choice = self.selected()
        if choice.key != self.state.preset and choice.security is not None:
            self.state.host, self.state.port, self.state.security = choice.host, choice.port, choice.security
        self.state.preset = choice.key
        return True

    @override
    def nextId(self) -> int:
        return int(PageId.SMTP)
