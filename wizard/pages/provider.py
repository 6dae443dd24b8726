"""Provider choice: Gmail / Google Workspace, Microsoft 365 SMTP (OAuth), Microsoft Graph, or another SMTP
server (with presets from the bundled catalogue). Preselected from what the sender page detected; the
admin can override. A preset fills the SMTP page's host, port and security and its user-name hint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.services import providers
from wizard.services.model import DEFAULT_PORTS, AuthMode, ProviderKind, Security


@dataclass(frozen=True)
class ProviderChoice:
    kind: ProviderKind
    title: str
    description: str


CHOICES: tuple[ProviderChoice, ...] = (
    ProviderChoice(ProviderKind.GMAIL, "Gmail / Google Workspace",
                   "smtp.gmail.com with an app password, or Google sign-in (OAuth) with your own OAuth client."),
    ProviderChoice(ProviderKind.M365_SMTP, "Microsoft 365 SMTP (OAuth)",
                   "smtp.office365.com with modern sign-in: your browser, a device code, or app-only "
                   "credentials. Needs SMTP AUTH enabled for the mailbox."),
    ProviderChoice(ProviderKind.GRAPH, "Microsoft Graph",
                   "Sends through Microsoft's Graph API: the way when SMTP AUTH is disabled in your tenant "
                   "(security defaults, tenants created since 2020)."),
    ProviderChoice(ProviderKind.SMTP, "Other SMTP server",
                   "Any server or service that accepts SMTP with a user name and password (or an app password "
                   "or API key). Pick a known service to fill in the server settings:"),
)
# Gmail and Microsoft 365 have their own choices above; everything else in the catalogue is an SMTP preset.
_OWN_CHOICES = frozenset({"m365", "google"})
OWN_SERVER = ""
_FIXED_SERVERS = {ProviderKind.GMAIL: ("smtp.gmail.com", 587, Security.STARTTLS),
                  ProviderKind.M365_SMTP: ("smtp.office365.com", 587, Security.STARTTLS),
                  ProviderKind.GRAPH: ("", 443, Security.TLS)}


def smtp_presets() -> list[providers.Provider]:
    return [p for p in providers.all_providers() if p.id not in _OWN_CHOICES]


def preset_server(preset_id: str) -> tuple[str, int, Security, str]:
    """(host, port, security, help) of a catalogue preset; a templated host ({region}) is left for the admin."""
    preset = providers.get(preset_id).smtp[0]
    host = "" if "{" in preset.host else preset.host
    return host, preset.port, Security(preset.security), preset.help


class ProviderPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Choose your mail provider")
        self.setSubTitle("How does your application's mail leave this computer?")
        self.proposal = QLabel()
        self.proposal.setObjectName("providerProposal")
        self.proposal.setAccessibleName("Proposed provider")
        self.proposal.setWordWrap(True)
        self.proposal.setStyleSheet("QLabel { background: palette(alternate-base); padding: 6px; }")

        layout = QVBoxLayout(self)
        layout.addWidget(self.proposal)
        grid = QGridLayout()
        grid.setColumnMinimumWidth(0, 20)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(2)
        self.group = QButtonGroup(self)
        self.buttons: dict[ProviderKind, QRadioButton] = {}
        for index, choice in enumerate(CHOICES):
            button = QRadioButton(choice.title)
            button.setObjectName(f"provider-{choice.kind.value}")
            button.setAccessibleName(choice.title)
            font = button.font()
            font.setBold(True)
            button.setFont(font)
            description = QLabel(choice.description)
            description.setWordWrap(True)
            self.group.addButton(button, index)
            self.buttons[choice.kind] = button
            grid.addWidget(button, 3 * index, 0, 1, 2)
            grid.addWidget(description, 3 * index + 1, 1)
            grid.setRowMinimumHeight(3 * index + 2, 6)

        self.preset = QComboBox()
        self.preset.setObjectName("smtpPreset")
        self.preset.setAccessibleName("Known SMTP service")
        self.preset.addItem("My own server / not listed", OWN_SERVER)
        for provider in smtp_presets():
            self.preset.addItem(provider.name, provider.id)
        self.preset_help = QLabel()
        self.preset_help.setObjectName("presetHelp")
        self.preset_help.setWordWrap(True)
        smtp_row = 3 * (len(CHOICES) - 1) + 2
        grid.addWidget(self.preset, smtp_row, 1)
        grid.addWidget(self.preset_help, smtp_row + 1, 1)
        layout.addLayout(grid)
        layout.addStretch(1)

        self.group.buttonToggled.connect(self._on_changed)
        self.preset.currentIndexChanged.connect(self._on_changed)
        self._initialised_for: object = None

    @override
    def initializePage(self) -> None:
        detection = self.state.detection
        best = detection.best if detection is not None else None
        key = (self.state.editing, best)
        if best is not None and not self.state.editing and key != self._initialised_for:
            from wizard.pages.sender_address import describe_proposal

            self.buttons[best.provider_kind].setChecked(True)
            self.preset.setCurrentIndex(max(0, self.preset.findData(best.catalogue_id)))
            alternative = " Microsoft Graph is the alternative when SMTP AUTH is disabled in your tenant." \
                if best.provider_kind is ProviderKind.M365_SMTP else ""
            self.proposal.setText(f"<b>Proposed for {detection.address if detection else ''}: "
                                  f"{describe_proposal(best)}</b><br>Because: {best.evidence}.{alternative} "
                                  "Choose another provider below if this is not right.")
        elif key != self._initialised_for:
            self.buttons[self.state.draft.provider].setChecked(True)
            self.preset.setCurrentIndex(max(0, self.preset.findData(self.state.draft.preset)))
            self.proposal.setText("No provider was detected for the sender address: choose it below."
                                  if detection is not None else "Choose your provider below.")
        self._initialised_for = key
        self._on_changed()

    def selected_kind(self) -> ProviderKind:
        index = self.group.checkedId()
        return CHOICES[index].kind if index >= 0 else ProviderKind.SMTP

    def selected_preset(self) -> str:
        return str(self.preset.currentData() or "") if self.selected_kind() is ProviderKind.SMTP else ""

    def _on_changed(self, *_args: object) -> None:
        smtp = self.selected_kind() is ProviderKind.SMTP
        self.preset.setEnabled(smtp)
        preset = self.selected_preset()
        self.preset_help.setText(preset_server(preset)[3] if smtp and preset else "")
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        return self.group.checkedId() >= 0

    @override
    def validatePage(self) -> bool:
        """Fill the server settings only when the choice changed: going back and forth keeps what was typed."""
        s = self.state
        kind, preset = self.selected_kind(), self.selected_preset()
        if (kind, preset) == (s.draft.provider, s.draft.preset) and (s.draft.host or kind is ProviderKind.GRAPH):
            return True
        came_from_elsewhere = s.draft.provider is not ProviderKind.SMTP or bool(s.draft.preset)
        s.draft = replace(s.draft, provider=kind, preset=preset)
        if kind in _FIXED_SERVERS:
            host, port, security = _FIXED_SERVERS[kind]
            s.draft = replace(s.draft, host=host, port=port, security=security)
        elif preset:
            host, port, security, _help = preset_server(preset)
            s.draft = replace(s.draft, host=host, port=port, security=security)
        else:
            self._apply_detected_server(clear=came_from_elsewhere)
        auth = s.draft.auth
        if kind is ProviderKind.SMTP:
            auth = AuthMode.PASSWORD
        elif kind is ProviderKind.GMAIL:
            auth = auth if auth in {AuthMode.PASSWORD, AuthMode.OAUTH_INTERACTIVE} else AuthMode.PASSWORD
        elif auth is AuthMode.PASSWORD:
            auth = AuthMode.OAUTH_INTERACTIVE
        s.draft = replace(s.draft, auth=auth)
        return True

    def _apply_detected_server(self, *, clear: bool) -> None:
        """'My own server': the autoconfig document or the SMTP probe may have found host and port."""
        s = self.state
        best = s.detection.best if s.detection is not None else None
        if best is not None and best.provider_kind is ProviderKind.SMTP and best.host:
            s.draft = replace(s.draft, host=best.host, port=best.port, security=best.security)
        elif clear:  # another provider's server must not stay in the fields
            s.draft = replace(s.draft, host="", port=DEFAULT_PORTS[Security.STARTTLS], security=Security.STARTTLS)
