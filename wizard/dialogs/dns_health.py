"""A saved account's DNS health, opened from its card in the main window: the wizard's DNS panel (a row per
check with details and fix, the records to publish with copy buttons, the letter for the DNS admin), and the
verdict recorded for the overview. The check is a cancellable asyncio task; closing the dialog cancels it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget
from typing_extensions import override

from wizard.services.health import DnsVerdictStore, sender_domain
from wizard.services.model import Profile
from wizard.widgets.dns_health_panel import ALWAYS_RUN, DnsCheckPlan, DnsHealthPanel, ProgressCallback
from wizard.widgets.profile_card import run_dns_check

if TYPE_CHECKING:
    from wizard.services.dns_health import HealthReport


class DnsHealthDialog(QDialog):
    verdict_recorded = Signal(object)  # DnsVerdict, after a check that ran to the end

    def __init__(self, profile: Profile, store: DnsVerdictStore, nameserver: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.store = store
        self.nameserver = nameserver
        self.setObjectName("dnsHealthDialog")
        self.setWindowTitle(f"DNS health: {profile.name}")
        self.panel = DnsHealthPanel(self._plan, can_continue=False)
        # what the profile card and the tests read
        self.tasks, self.start_check = self.panel.tasks, self.panel.start_check
        self.target, self.status, self.results = self.panel.target, self.panel.status, self.panel.results
        self.records, self.letter = self.panel.records, self.panel.letter
        self.copy_letter_button = self.panel.copy_letter_button
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setObjectName("dnsDialogButtons")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addWidget(buttons)
        self.resize(760, 560)

    @property
    def report(self) -> HealthReport | None:
        return self.panel.report

    def _plan(self) -> DnsCheckPlan:
        domain = sender_domain(self.profile)
        self.target.setText(f"Domain <b>{domain}</b> of account <b>{self.profile.name}</b> "
                            f"({self.profile.from_address}).")
        return DnsCheckPlan(domain, ALWAYS_RUN, self._run)

    async def _run(self, on_progress: ProgressCallback) -> HealthReport:
        report, verdict = await run_dns_check(self.profile, self.store, self.nameserver, on_progress)
        self.verdict_recorded.emit(verdict)
        return report

    @override
    def done(self, result: int) -> None:
        self.tasks.cancel()
        super().done(result)

    @override
    def closeEvent(self, event: QCloseEvent) -> None:
        self.tasks.cancel()
        super().closeEvent(event)
