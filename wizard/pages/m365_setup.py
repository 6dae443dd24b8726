""""Set it up for me": one administrator sign-in registers the app, grants it, saves the profile and checks it.

The page only shows what `services.m365.set_up` reports: a checklist of the steps (ticked as they finish), the
replication countdown, a device code when asked for, the Exchange PowerShell to copy when it could not run here,
and the diagnosis when a step fails (with the manual guide as the way out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.oauth_sign_in import copy_button
from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.model import ProviderKind
from wizard.widgets.code_box import fit_to_lines
from wizard.widgets.diagnosis_box import DiagnosisBox
from wizard.widgets.form_widgets import fill_with_scrolling, selectable_text

if TYPE_CHECKING:
    from wizard.services import m365
    from wizard.services.config import ConfigStore
    from wizard.services.diagnostics import Diagnosis
    from wizard.services.oauth.model import DeviceCode

STEP_LABELS = {
    "sign_in": "An administrator signs in",
    "tenant": "Read the tenant and check the sender's domain",
    "certificate": "Make a key and a certificate on this computer",
    "application": "Register the app (no client secret)",
    "grants": "Grant the permissions (admin consent)",
    "profile": "Save the profile",
    "replication": "Wait until Microsoft knows the new app",
    "exchange": "Exchange Online allows the app",
    "owner_sign_in": "The mailbox owner signs in",
    "check": "Check the connection",
}
EXCHANGE_CAPTION = ("Run this in Exchange Online PowerShell as an Exchange administrator (PowerShell 7 with "
                    "ExchangeOnlineManagement was not found here), then press Check again:")
SCOPING_CAPTION = ("Optional, recommended: the app may now send as every mailbox of the tenant. Limit it to the "
                   "sender with these lines in Exchange Online PowerShell:")
PENDING, RUNNING, DONE, FAILED = "\u2610", "\u231b", "\u2611", "\u2612"


def steps_for(mode: m365.SetupMode) -> list[str]:
    """The checklist for a mode: no certificate for delegated modes, no owner sign-in for app-only ones."""
    skipped = {"owner_sign_in"} if mode.app_only else {"certificate"}
    if not mode.exchange_step:
        skipped.add("exchange")
    from wizard.services.m365 import STEPS

    return [step for step in STEPS if step not in skipped]


class M365SetupPage(QWizardPage):
    def __init__(self, state: WizardState, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.store = store  # the wizard's config store
        self.setTitle("Set up Microsoft 365 for me")
        self.setSubTitle("Sign in once as an administrator: Mailwright registers its app in your tenant, gives it "
                         "only the permission it needs, and checks that mail can be sent.")
        self.tasks = TaskTracker(self)
        self.result: m365.SetupResult | None = None
        self.intro = QLabel()
        self.intro.setObjectName("m365SetupIntro")
        self.intro.setWordWrap(True)
        self.checklist = QWidget()
        self.checklist.setObjectName("m365SetupChecklist")
        self.checklist_layout = QVBoxLayout(self.checklist)
        self.checklist_layout.setContentsMargins(12, 0, 0, 0)
        self.checklist_layout.setSpacing(2)
        self.step_labels: dict[str, QLabel] = {}
        self.start_button = QPushButton("Sign in as administrator and set up")
        self.start_button.setObjectName("m365SetupStart")
        self.start_button.setAccessibleName("Sign in as administrator and set up")
        self.device_button = QPushButton("Use a code on another device")
        self.device_button.setObjectName("m365SetupDevice")
        self.device_button.setAccessibleName("Sign in with a device code")
        self.device_button.setToolTip("Conditional Access policies often block device-code sign-in; prefer the "
                                      "browser.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("m365SetupCancel")
        self.cancel_button.setAccessibleName("Cancel the set-up")
        self.cancel_button.hide()
        buttons = QHBoxLayout()
        for button in (self.start_button, self.device_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.status = selectable_text("m365SetupStatus", "Set-up status")
        self.device_code = selectable_text("m365SetupDeviceCode", "Device code")
        self.device_code.hide()
        self.countdown = QLabel()
        self.countdown.setObjectName("m365SetupCountdown")
        self.countdown.setWordWrap(True)
        self.countdown.hide()
        self.script_caption = QLabel(EXCHANGE_CAPTION)
        self.script_caption.setWordWrap(True)
        self.script = QPlainTextEdit()
        self.script.setObjectName("m365SetupScript")
        self.script.setAccessibleName("Exchange PowerShell")
        self.script.setReadOnly(True)
        self.script_copy = copy_button("m365SetupScript", self.script.toPlainText, "Copy the PowerShell")
        self.check_again = QPushButton("Check again")
        self.check_again.setObjectName("m365SetupCheckAgain")
        self.check_again.setAccessibleName("Check again")
        self.script_box = QWidget()
        script_layout = QVBoxLayout(self.script_box)
        script_layout.setContentsMargins(0, 0, 0, 0)
        script_layout.addWidget(self.script_caption)
        script_layout.addWidget(self.script)
        script_row = QHBoxLayout()
        script_row.addWidget(self.script_copy)
        script_row.addWidget(self.check_again)
        script_row.addStretch(1)
        script_layout.addLayout(script_row)
        self.script_box.hide()
        self.diagnosis = DiagnosisBox()
        self.created = selectable_text("m365SetupCreated", "What was created")
        self.created.hide()

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.intro)
        layout.addWidget(self.checklist)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.device_code)
        layout.addWidget(self.countdown)
        layout.addWidget(self.script_box)
        layout.addWidget(self.diagnosis)
        layout.addWidget(self.created)
        layout.addStretch(1)
        # the checklist, the script and the result need more than 800x600 at the end
        fill_with_scrolling(self, content, "m365SetupScroll")

        self.start_button.clicked.connect(self._on_start)
        self.device_button.clicked.connect(self._on_device)
        self.check_again.clicked.connect(self._on_check_again)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.tasks.busy_changed.connect(self._busy)

    # --- what the page shows ----------------------------------------------------------------------------------------
    def mode(self) -> m365.SetupMode:
        from wizard.services.m365 import SetupMode

        if self.state.m365_setup_mode in {mode.value for mode in SetupMode}:
            return SetupMode(self.state.m365_setup_mode)
        # Opened directly (gui --page m365_setup): the recommended mode for the provider chosen so far.
        graph = self.state.draft.provider is ProviderKind.GRAPH
        return SetupMode.GRAPH_APP if graph else SetupMode.SMTP_DELEGATED

    @override
    def initializePage(self) -> None:
        mode = self.mode()
        graph = mode.provider is ProviderKind.GRAPH
        permissions = "; ".join(f"{p.describe()}: {p.why}" for p in mode.permissions)
        self.intro.setText(f"Mode: {mode.label}.<br>The app gets {permissions}."
                           + ("" if mode.app_only else "<br>Afterwards the mailbox owner signs in once (that may be "
                              "you).") + ("<br>It may send as every mailbox of the tenant until Exchange limits it; "
                                          "the lines for that are shown at the end." if graph and mode.app_only
                                          else ""))
        self._build_checklist(steps_for(mode))
        if self.result is None:
            self.status.setText("Nothing has been created yet.")

    def _build_checklist(self, steps: list[str]) -> None:
        for label in self.step_labels.values():
            label.deleteLater()
        self.step_labels = {}
        for step in steps:
            label = QLabel(f"{PENDING}  {STEP_LABELS[step]}")
            label.setObjectName(f"m365Step-{step}")
            label.setAccessibleName(STEP_LABELS[step])
            label.setWordWrap(True)
            self.checklist_layout.addWidget(label)
            self.step_labels[step] = label

    def _mark(self, step: str, symbol: str, text: str = "") -> None:
        label = self.step_labels.get(step)
        if label is None:
            return
        if symbol == DONE:  # every earlier unfinished step is done too (a step ends as the next starts)
            for earlier in list(self.step_labels)[:list(self.step_labels).index(step)]:
                if self.step_labels[earlier].text().startswith(RUNNING):
                    self.step_labels[earlier].setText(f"{DONE}  {STEP_LABELS[earlier]}")
        label.setText(f"{symbol}  {STEP_LABELS[step]}" + (f" \u2014 {text}" if text else ""))

    def _on_step(self, step: str, text: str) -> None:
        first_line = text.splitlines()[0] if text else ""
        self.status.setText(first_line)
        self.countdown.hide()
        self.device_code.hide()
        running = text.endswith("\u2026")
        self._mark(step, RUNNING if running else DONE, "" if running else first_line)
        if step == "exchange" and "\n" in text:
            self._show_script(text.split("\n", 1)[1])

    def _show_script(self, script: str, caption: str = "") -> None:
        self.script_caption.setText(caption or EXCHANGE_CAPTION)
        self.check_again.setVisible(not caption)
        self.script.setPlainText(script)
        fit_to_lines(self.script)
        self.script_box.show()

    def _on_wait(self, tick: m365.WaitTick) -> None:
        minutes, seconds = divmod(max(tick.left_s, 0), 60)
        self.countdown.setText(f"Microsoft is still publishing the new app (\u201c{tick.reason[:120]}\u201d). "
                               f"Trying again in {tick.retry_in_s} s; giving up in {minutes}:{seconds:02d}.")
        self.countdown.show()

    def _show_code(self, code: DeviceCode) -> None:
        self.device_code.setText(f"Open {code.verification_uri} and enter the code {code.user_code}.")
        self.device_code.show()

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setVisible(busy)
        done = self.result is not None and self.result.ok
        self.start_button.setEnabled(not busy and not done)
        self.device_button.setEnabled(not busy and not done)
        self.check_again.setEnabled(not busy)
        self.completeChanged.emit()

    # --- running the set-up -----------------------------------------------------------------------------------------
    @async_slot()
    async def _on_start(self) -> None:
        await self.tasks.run(self.run_setup(device=False))

    @async_slot()
    async def _on_device(self) -> None:
        await self.tasks.run(self.run_setup(device=True))

    @async_slot()
    async def _on_check_again(self) -> None:
        await self.tasks.run(self.check_again_now())

    def _progress(self) -> m365.Progress:
        from wizard.services import m365

        return m365.Progress(on_step=self._on_step, on_wait=self._on_wait, on_device_code=self._show_code)

    def request(self, *, device: bool) -> m365.SetupRequest:
        from wizard.services import m365

        s = self.state
        d = s.draft
        endpoints = m365.Endpoints(d.tenant, d.authority, d.graph_endpoint, d.ca_file)
        profile = s.profile()
        return m365.SetupRequest(profile.name, profile.from_address, self.mode(), endpoints,
                                 admin_client_id=s.m365_admin_client_id, device=device, base=profile,
                                 wait=self.wait_policy or m365.WaitPolicy())

    wait_policy: m365.WaitPolicy | None = None  # tests shorten the replication wait

    async def run_setup(self, *, device: bool) -> None:
        from wizard.services import m365

        self.diagnosis.show_diagnosis(None)
        self.script_box.hide()
        request = self.request(device=device)
        problem = m365.validate_request(request)
        if problem:
            self.status.setText(problem)
            return
        await self._finish(m365.set_up(request, self._progress()))

    async def check_again_now(self) -> None:
        from wizard.services import m365

        registration = m365.registration(self.state.profile().name)
        if registration is None:
            return
        profile = self.store.load().profile(registration.profile)
        await self._finish(m365.finish(profile, registration, self.wait_policy or m365.WaitPolicy(),
                                       self._progress()))

    async def _finish(self, work: Coroutine[Any, Any, m365.SetupResult]) -> None:
        from wizard.services import m365
        from wizard.services.oauth import OAuthError, SignInCancelledError

        try:
            result = await work
        except asyncio.CancelledError:
            self.status.setText("Cancelled. Whatever was already created is listed under Accounts; run the set-up "
                                "again or remove it with \u201cmailwright m365 teardown\u201d.")
            return
        except SignInCancelledError as exc:
            self.status.setText(str(exc))
            return
        except (m365.M365Error, OAuthError) as exc:
            self._failed(exc.diagnosis)
            return
        self.result = result
        self._show_result(result)

    def _failed(self, diagnosis: Diagnosis) -> None:
        for step, label in self.step_labels.items():
            if label.text().startswith(RUNNING):
                self._mark(step, FAILED)
        self.countdown.hide()
        self.status.setText("The set-up stopped. Go Back to choose \u201cI'll register the app myself\u201d for the "
                            "manual guide.")
        self.diagnosis.show_diagnosis(diagnosis)

    def _show_result(self, result: m365.SetupResult) -> None:
        from wizard.services import m365

        registration = result.registration
        s = self.state
        profile = result.profile
        # set_up saved the profile (the app's ids, the certificate, its secrets in the keyring): from here the
        # wizard edits that saved profile, and checks and sends read its secrets from the keyring
        s.load_profile(profile)
        s.has_app_registration = True
        lines = [f"Created: {registration.display_name}", f"Client id {registration.app_id}",
                 *(f"Granted: {g.permission}" for g in registration.grants)]
        if registration.thumbprint:
            lines.append(f"Certificate {registration.thumbprint}, valid until {_long_date(registration.not_after)}; "
                         "renewed automatically 30 days before.")
        self.created.setText("\n".join(lines))
        self.created.show()
        if result.ok:
            self.status.setText("Done: the profile is saved and the check passed.")
            self.diagnosis.show_diagnosis(None)
            if self.mode() is m365.SetupMode.GRAPH_APP:
                self._offer_scoping(registration)
        else:
            diagnosis = result.report.diagnosis if result.report else None
            if "exchange" in registration.pending:
                diagnosis = m365.M365Error("exchange_step_pending", profile=registration.profile,
                                           detail=diagnosis.detail if diagnosis else "").diagnosis
                self._show_script(registration.exchange_script)
            self._mark("check", FAILED)
            self.status.setText("One step is still pending; see below.")
            self.diagnosis.show_diagnosis(diagnosis)
        self._busy(self.tasks.busy)

    def _offer_scoping(self, registration: m365.Registration) -> None:
        """Graph app-only works now for every mailbox; offer Exchange's scoping to the sender (optional)."""
        from wizard.services.m365 import exchange

        self._show_script(exchange.graph_scope_script(registration.app_id, registration.service_principal_id,
                                                      registration.display_name, registration.sender,
                                                      f"Mailwright {registration.profile}"), SCOPING_CAPTION)

    @override
    def isComplete(self) -> bool:
        return self.result is not None and self.result.ok and not self.tasks.busy

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()


def _long_date(iso: str) -> str:
    from PySide6.QtCore import QDate, QLocale

    date = QDate.fromString(iso[:10], "yyyy-MM-dd")
    return QLocale().toString(date, QLocale.FormatType.LongFormat) if date.isValid() else iso[:10]
