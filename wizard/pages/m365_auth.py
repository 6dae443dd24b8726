"""Microsoft 365 SMTP and Microsoft Graph sign-in. First, recommended: "Set it up for me" (one administrator
sign-in does the registration, certificate, consent and check on the next page, services/m365). Otherwise the
manual way: choose how Mailwright signs in, say whether an app registration exists, and (delegated modes with a
registration) grant access right here.

App-only credentials and a missing registration continue on the registration page (secret, certificate,
PowerShell); the wizard's flow decides that from what this page writes into the state.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.oauth_sign_in import SignInPanel
from wizard.pages.state import WizardState
from wizard.qt_async import async_slot
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.widgets.colours import problem_style

MODES = (
    (AuthMode.OAUTH_INTERACTIVE, "Sign in with my browser (recommended)",
     "You consent once in your browser; Mailwright refreshes the access by itself."),
    (AuthMode.OAUTH_DEVICE, "Sign in on another device with a code",
     "For computers without a usable browser. Needs 'Allow public client flows' on the app."),
    (AuthMode.CLIENT_SECRET, "App-only with a client secret",
     "No user sign-in: the app registration sends as the mailbox (needs the PowerShell lines)."),
    (AuthMode.CLIENT_CERTIFICATE, "App-only with a certificate",
     "Like the client secret, with a certificate (PEM, or PFX with its passphrase) instead."),
)
SETUP_MODES = (
    ("graph-app", "Microsoft Graph, no one signed in (recommended for servers)"),
    ("graph-delegated", "Microsoft Graph, as the mailbox owner who signs in once"),
    ("smtp-delegated", "SMTP, as the mailbox owner who signs in once"),
    ("smtp-app", "SMTP, no one signed in (needs an Exchange PowerShell step)"),
)
GRAPH_SETUP_MODES = ("graph-app", "graph-delegated")
SMTP_SETUP_MODES = ("smtp-delegated", "smtp-app")
_GRAPH_HELP = {
    AuthMode.OAUTH_INTERACTIVE: "Delegated Mail.Send: sends as the account you sign in with (or a shared "
                                "mailbox with Mail.Send.Shared).",
    AuthMode.CLIENT_SECRET: "Application Mail.Send: the app sends as the mailbox; the next pages limit it to "
                            "this mailbox only.",
}


def registration_problems(tenant: str, client_id: str) -> list[str]:
    from wizard.services.oauth import azure_guide  # the oauth package loads msal: only when this page is used

    found = [azure_guide.validate_tenant(tenant), azure_guide.validate_client_id(client_id)]
    return [problem for problem in found if problem]


class M365AuthPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Sign in to Microsoft 365")
        self.setSubTitle("Microsoft 365 no longer accepts passwords from applications: grant access with OAuth.")
        self._build_choice()
        self.modes = QButtonGroup(self)
        modes_box = QGroupBox("How Mailwright signs in")
        modes_layout = QVBoxLayout(modes_box)
        modes_layout.setSpacing(2)
        self.mode_hints: dict[AuthMode, QLabel] = {}
        for index, (mode, title, help_text) in enumerate(MODES):
            radio = QRadioButton(title)
            radio.setObjectName(f"auth-{mode.value}")
            radio.setAccessibleName(title)
            self.modes.addButton(radio, index)
            hint = QLabel(help_text)
            hint.setWordWrap(True)
            hint.setIndent(24)
            self.mode_hints[mode] = hint
            modes_layout.addWidget(radio)
            modes_layout.addWidget(hint)
        self.modes.button(0).setChecked(True)

        registration_box = QGroupBox("App registration in your Microsoft Entra tenant")
        self.have_registration = QRadioButton("I have one: enter its IDs")
        self.have_registration.setObjectName("haveRegistration")
        self.have_registration.setAccessibleName("I already have an app registration")
        self.need_registration = QRadioButton("Not yet: guide me through registering Mailwright (about five "
                                              "minutes)")
        self.need_registration.setObjectName("needRegistration")
        self.need_registration.setAccessibleName("Guide me through the app registration")
        self.tenant = QLineEdit()
        self.tenant.setObjectName("m365Tenant")
        self.tenant.setAccessibleName("Directory (tenant) ID")
        self.tenant.setPlaceholderText("72f988bf-... or contoso.com")
        self.client_id = QLineEdit()
        self.client_id.setObjectName("m365ClientId")
        self.client_id.setAccessibleName("Application (client) ID")
        self.client_id.setPlaceholderText("1b2c3d4e-...")
        self.ids = QWidget()
        ids_form = QFormLayout(self.ids)
        ids_form.setContentsMargins(24, 0, 0, 0)
        ids_form.addRow("Tenant ID:", self.tenant)
        ids_form.addRow("Client ID:", self.client_id)
        self.registration_problem = QLabel()
        self.registration_problem.setObjectName("m365RegistrationProblem")
        self.registration_problem.setWordWrap(True)
        self.registration_problem.setStyleSheet(problem_style())
        registration_layout = QVBoxLayout(registration_box)
        registration_layout.setSpacing(2)
        registration_layout.addWidget(self.have_registration)
        registration_layout.addWidget(self.ids)
        registration_layout.addWidget(self.registration_problem)
        registration_layout.addWidget(self.need_registration)

        self.panel = SignInPanel(self.profile_for_sign_in, self.state.secret_source)
        self.next_note = QLabel()
        self.next_note.setObjectName("m365NextNote")
        self.next_note.setWordWrap(True)

        self.manual_box = QWidget()
        self.manual_box.setObjectName("m365ManualBox")
        manual_layout = QVBoxLayout(self.manual_box)
        manual_layout.setContentsMargins(0, 0, 0, 0)
        manual_layout.addWidget(modes_box)
        manual_layout.addWidget(registration_box)
        manual_layout.addWidget(self.panel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choice_box)
        layout.addWidget(self.manual_box)
        layout.addWidget(self.next_note)
        layout.addStretch(1)

        self.modes.idToggled.connect(self._on_changed)
        self.have_registration.toggled.connect(self._on_changed)
        self.tenant.textChanged.connect(self._on_changed)
        self.client_id.textChanged.connect(self._on_changed)
        self.panel.signed_in_changed.connect(lambda _signed: self.completeChanged.emit())
        self.choice.idToggled.connect(self._on_changed)
        self.setup_modes.idToggled.connect(self._on_changed)
        self.admin_client_id.textChanged.connect(self._on_changed)
        self._loading = False

    def _build_choice(self) -> None:
        self.choice_box = QGroupBox("The app registration in your Microsoft Entra tenant")
        self.choice = QButtonGroup(self)
        self.setup_for_me = QRadioButton("Set it up for me (sign in as an administrator) \u2014 recommended")
        self.setup_for_me.setObjectName("m365SetupForMe")
        self.setup_for_me.setAccessibleName("Set it up for me")
        self.manual = QRadioButton("I'll register the app myself / I already have one")
        self.manual.setObjectName("m365Manual")
        self.manual.setAccessibleName("Register the app myself")
        self.choice.addButton(self.setup_for_me, 0)
        self.choice.addButton(self.manual, 1)
        hint = QLabel("One administrator sign-in in your browser: Mailwright registers its app, makes a certificate "
                      "on this computer (no client secret to copy), grants only the permission below and checks "
                      "that mail can be sent.")
        hint.setWordWrap(True)
        hint.setIndent(24)
        self.setup_options = QWidget()
        options = QVBoxLayout(self.setup_options)
        options.setContentsMargins(24, 0, 0, 0)
        options.setSpacing(2)
        self.setup_modes = QButtonGroup(self)
        self.setup_mode_buttons: dict[str, QRadioButton] = {}
        for index, (value, title) in enumerate(SETUP_MODES):
            radio = QRadioButton(title)
            radio.setObjectName(f"setup-{value}")
            radio.setAccessibleName(title)
            self.setup_modes.addButton(radio, index)
            self.setup_mode_buttons[value] = radio
            options.addWidget(radio)
        self.admin_client_id = QLineEdit()
        self.admin_client_id.setObjectName("m365AdminClientId")
        self.admin_client_id.setAccessibleName("Administrator sign-in app (client) ID")
        self.admin_client_id.setPlaceholderText("Microsoft Graph Command Line Tools (default)")
        self.admin_client_problem = QLabel()
        self.admin_client_problem.setObjectName("m365AdminClientProblem")
        self.admin_client_problem.setStyleSheet(problem_style())
        self.admin_client_problem.hide()
        admin_form = QFormLayout()
        admin_form.addRow("Sign-in app (optional):", self.admin_client_id)
        options.addLayout(admin_form)
        options.addWidget(self.admin_client_problem)
        layout = QVBoxLayout(self.choice_box)
        layout.setSpacing(2)
        layout.addWidget(self.setup_for_me)
        layout.addWidget(hint)
        layout.addWidget(self.setup_options)
        layout.addWidget(self.manual)

    def setup_chosen(self) -> bool:
        return self.setup_for_me.isChecked()

    def _admin_client_problem(self) -> str:
        from wizard.services.oauth import azure_guide

        text = self.admin_client_id.text().strip()
        return (azure_guide.validate_client_id(text) or "") if text else ""

    def auth_mode(self) -> AuthMode:
        return MODES[max(self.modes.checkedId(), 0)][0]

    def set_auth_mode(self, mode: AuthMode) -> None:
        for index, (candidate, _title, _help) in enumerate(MODES):
            if candidate is mode:
                self.modes.button(index).setChecked(True)

    def is_app_only(self) -> bool:
        return self.auth_mode().is_app_only

    def profile_for_sign_in(self) -> Profile:
        return replace(self.state.profile(), auth=self.auth_mode())

    @override
    def initializePage(self) -> None:
        s = self.state
        graph = s.draft.provider is ProviderKind.GRAPH
        self.setTitle("Microsoft Graph: how Mailwright signs in" if graph else "Sign in to Microsoft 365")
        self.setSubTitle("Graph sends without SMTP AUTH: choose delegated sign-in or app-only credentials." if graph
                         else "Microsoft 365 no longer accepts passwords from applications: grant access with OAuth.")
        for mode, _title, help_text in MODES:
            self.mode_hints[mode].setText(_GRAPH_HELP.get(mode, help_text) if graph else help_text)
        self._loading = True
        offered = GRAPH_SETUP_MODES if graph else SMTP_SETUP_MODES
        for value, radio in self.setup_mode_buttons.items():
            radio.setVisible(value in offered)
        chosen = s.m365_setup_mode if s.m365_setup_mode in offered else offered[0]
        self.setup_mode_buttons[chosen].setChecked(True)
        self.admin_client_id.setText(s.m365_admin_client_id)
        # Recommended for a new account; an account that already has an app keeps the manual way.
        setup = bool(s.m365_setup_mode) or not (s.editing or s.draft.client_id)
        (self.setup_for_me if setup else self.manual).setChecked(True)
        self.set_auth_mode(s.draft.auth if s.draft.auth is not AuthMode.PASSWORD else AuthMode.OAUTH_INTERACTIVE)
        self.tenant.setText(s.draft.tenant)
        self.client_id.setText(s.draft.client_id)
        (self.have_registration if s.has_app_registration else self.need_registration).setChecked(True)
        self._loading = False
        self._on_changed()
        if s.editing and s.draft.client_id and not self.is_app_only():
            self._refresh_sign_in()

    @async_slot()
    async def _refresh_sign_in(self) -> None:
        """Editing a signed-in profile: its stored sign-in still counts."""
        await self.panel.tasks.run(self.panel.refresh_status())

    def _on_changed(self, *_args: object) -> None:
        if self._loading:
            return
        s = self.state
        setup = self.setup_chosen()
        checked = self.setup_modes.checkedButton()
        s.m365_setup_mode = checked.objectName().removeprefix("setup-") if setup and checked else ""
        s.m365_admin_client_id = self.admin_client_id.text().strip()
        self.setup_options.setEnabled(setup)
        self.manual_box.setVisible(not setup)
        problem = self._admin_client_problem() if setup else ""
        self.admin_client_problem.setText(problem)
        self.admin_client_problem.setVisible(bool(problem))
        if setup:
            self.next_note.setText("Next: the administrator signs in and Mailwright does the rest.")
            self.completeChanged.emit()
            return
        before = (s.draft.auth, s.draft.tenant, s.draft.client_id)
        s.draft = replace(s.draft, auth=self.auth_mode())
        s.has_app_registration = self.have_registration.isChecked()
        s.draft = replace(s.draft, tenant=self.tenant.text().strip())
        s.draft = replace(s.draft, client_id=self.client_id.text().strip())
        if (s.draft.auth, s.draft.tenant, s.draft.client_id) != before:
            self.panel.forget()
        self.ids.setEnabled(s.has_app_registration)
        problems = registration_problems(s.draft.tenant, s.draft.client_id) if s.has_app_registration else []
        typed = bool(s.draft.tenant or s.draft.client_id)
        self.registration_problem.setText("\n".join(problems) if typed else "")
        self.registration_problem.setVisible(bool(problems) and typed)
        signs_in_here = s.has_app_registration and not self.is_app_only()
        self.panel.setVisible(signs_in_here)
        self.panel.setEnabled(not problems)
        self.panel.sign_in_button.setVisible(s.draft.auth is AuthMode.OAUTH_INTERACTIVE)
        self.panel.device_button.setVisible(s.draft.auth is AuthMode.OAUTH_DEVICE)
        if self.is_app_only():
            self.next_note.setText("Next: the client secret or certificate, and the lines that give the app access "
                                   "to the mailbox.")
        elif not s.has_app_registration:
            self.next_note.setText("Next: the registration steps; you sign in at the end of that page.")
        else:
            self.next_note.setText("")
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        s = self.state
        if self.setup_chosen():
            return not self._admin_client_problem()
        if not s.has_app_registration:
            return True
        if registration_problems(s.draft.tenant, s.draft.client_id):
            return False
        return self.is_app_only() or self.panel.signed_in

    @override
    def cleanupPage(self) -> None:
        self.panel.tasks.cancel()
