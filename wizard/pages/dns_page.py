"""DNS health of the sender's domain for the chosen provider: a traffic light per check, records, the letter.

The admin can name the DKIM selector(s) their service signs with and the expected messages a day (the bulk-sender
rules start at 5000): the same inputs as `mailwright dns --selector S --volume N`, so both say the same.
The check never blocks the window (an asyncio task; Cancel really cancels) and never blocks the wizard:
a domain that is not green yet is a warning, the account still works for most receivers meanwhile.
`wizard.services.dns_health` (dnspython) is imported only when a check starts, in a worker thread.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLineEdit, QSpinBox, QVBoxLayout, QWidget, QWizardPage
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.services import providers
from wizard.services.model import ProviderKind
from wizard.services.providers import Provider
from wizard.widgets.dns_health_panel import ALWAYS_RUN, DnsCheckPlan, DnsHealthPanel, ProgressCallback

if TYPE_CHECKING:
    from wizard.services.dns_health import HealthReport


def sending_domain(state: WizardState) -> str:
    """The domain receivers see in From: the postmaster's when the postmaster is forced as sender."""
    draft = state.draft
    address = draft.postmaster if draft.force_postmaster_sender and draft.postmaster.strip() else draft.from_address
    return address.strip().rpartition("@")[2].lower()


def chosen_provider(state: WizardState) -> Provider | None:
    try:
        return providers.for_profile_provider(state.draft.provider.value, state.draft.preset)
    except KeyError:
        return None


class DnsHealthPage(QWizardPage):
    check_finished = Signal(bool)  # True: nothing failed; False: problems, lookup errors, or cancelled

    def __init__(self, state: WizardState, parent: QWidget | None = None, *, nameserver: str | None = None,
                 autostart: bool = True, timeout_s: float | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.nameserver = nameserver  # "IP[:PORT]"; None = the system's resolver
        self.autostart = autostart
        self.timeout_s = timeout_s
        self._checked_for: tuple[object, ...] | None = None
        self.setTitle("DNS health of your domain")
        self.setSubTitle("Receivers such as Gmail and Outlook.com check SPF, DKIM and DMARC. Problems here do not "
                         "stop the account from working; fix them to keep your mail out of spam.")
        self.selectors = QLineEdit()
        self.selectors.setObjectName("dkimSelector")
        self.selectors.setAccessibleName("DKIM selector")
        self.selectors.setPlaceholderText("optional: the s= tag of a sent message's DKIM-Signature, e.g. s1")
        self.selectors.setToolTip("The name your mail service signs with (its DKIM selector). Mailwright tries the "
                                  "usual names; enter yours when it is not found. Several: separate with commas.")
        self.daily_volume = QSpinBox()
        self.daily_volume.setObjectName("dailyVolume")
        self.daily_volume.setAccessibleName("Messages a day")
        self.daily_volume.setRange(0, 10_000_000)
        self.daily_volume.setSingleStep(100)
        self.daily_volume.setSpecialValueText("not sure")
        self.daily_volume.lineEdit().setObjectName("dailyVolumeText")
        self.daily_volume.lineEdit().setAccessibleName("Messages a day")
        self.daily_volume.setToolTip("About how many messages a day you send to Gmail, Yahoo or Outlook.com users: "
                                     "from 5000 a day their stricter rules for bulk senders apply.")
        inputs = QFormLayout()
        inputs.addRow("DKIM selector:", self.selectors)
        inputs.addRow("Messages a day:", self.daily_volume)
        self.panel = DnsHealthPanel(self._plan)
        self.panel.target.setAccessibleName("Domain and provider checked")
        self.panel.finished.connect(self._on_check_finished)
        # what the wizard, its driver and the tests read
        self.tasks, self.target, self.status = self.panel.tasks, self.panel.target, self.panel.status
        self.progress, self.save_letter = self.panel.progress, self.panel.save_letter
        layout = QVBoxLayout(self)
        layout.addLayout(inputs)
        layout.addWidget(self.panel)
        # Enter in either field checks again with the new value; a change says how to apply it.
        self.selectors.returnPressed.connect(self._on_inputs_entered)
        self.daily_volume.lineEdit().returnPressed.connect(self._on_inputs_entered)
        self.selectors.textEdited.connect(self._on_inputs_edited)
        self.daily_volume.valueChanged.connect(self._on_inputs_edited)

    @property
    def report(self) -> HealthReport | None:
        return self.panel.report

    def selector_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name in self.selectors.text().replace(",", " ").split()))

    def volume(self) -> int | None:
        return self.daily_volume.value() or None

    def _target_key(self) -> tuple[object, ...]:
        provider = chosen_provider(self.state)
        return (sending_domain(self.state), provider.id if provider else "", self.state.draft.host.strip(),
                self.selector_names(), self.volume())

    def _on_inputs_edited(self) -> None:
        if not self.tasks.busy and self._checked_for != self._target_key():
            self.status.setText("Press Enter or click “Check now” to check with the new value.")

    def _on_inputs_entered(self) -> None:
        self.panel.start_check()

    @override
    def initializePage(self) -> None:
        domain, provider = sending_domain(self.state), chosen_provider(self.state)
        via = provider.name if provider else "your SMTP server"
        self.target.setText(f"Domain <b>{domain or '(no sender address)'}</b>, sending through <b>{via}</b>.")
        if self.report is not None and self._checked_for == self._target_key():
            return
        self.status.setText("Not checked yet.")
        if self.autostart:
            self.panel.start_check()

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()

    @override
    def validatePage(self) -> bool:
        self.tasks.cancel()  # moving on with a check still running: stop it, do not hold the user up
        return True

    @override
    def isComplete(self) -> bool:
        return True  # DNS problems are warnings: the account works, receivers may junk its mail until fixed

    def _smtp_host(self) -> str:
        return "" if self.state.draft.provider is ProviderKind.GRAPH else self.state.draft.host.strip()

    def _plan(self) -> DnsCheckPlan | str:
        domain = sending_domain(self.state)
        if not domain:
            return "There is no sender address to check yet: go Back and enter one."
        expected = list(ALWAYS_RUN)
        if self._smtp_host():
            expected.insert(5, "submission_tls")
        return DnsCheckPlan(domain, expected, lambda on_progress: self._run(domain, on_progress))

    async def _run(self, domain: str, on_progress: ProgressCallback) -> HealthReport:
        dns_health = await asyncio.to_thread(importlib.import_module, "wizard.services.dns_health")
        options = {} if self.timeout_s is None else {"timeout_s": self.timeout_s}
        report: HealthReport = await dns_health.check_domain(
            domain, provider=chosen_provider(self.state), selectors=self.selector_names(),
            daily_volume=self.volume(), nameserver=self.nameserver,
            smtp_host=self._smtp_host() or None, smtp_port=self.state.draft.port,
            smtp_security=self.state.draft.security.value,
            ca_file=self.state.draft.ca_file.strip() or None, on_progress=on_progress, **options)
        return report

    def _on_check_finished(self, report: HealthReport | None) -> None:
        if report is not None:
            self._checked_for = self._target_key()
        self.check_finished.emit(report is not None and report.ok)
