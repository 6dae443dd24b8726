"""The sender address (and display name, profile name); Mailwright looks up the provider behind it.

Autodetection (provider catalogue, MX records, the domain's autoconfig document, an SMTP probe) runs as an
asyncio task with a progress bar and Cancel; the page shows what was proposed and where the idea came
from. The proposal lands in `state.detection`; the provider page preselects it and the admin can override.
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.qt_async import TaskTracker, async_slot
from wizard.services.model import PROFILE_NAME_RULE, ProviderKind, is_profile_name
from wizard.services.validation import InvalidInputError, validate_address, validate_display_name
from wizard.widgets.colours import problem_style

if TYPE_CHECKING:
    from wizard.services.autodetect import Detection, Proposal

IDLE_HINT = ("Mailwright compares the domain with its provider list, reads the domain's MX records and autoconfig "
             "document and, if nothing matches, asks the domain's mail server what it offers. Nothing is sent. "
             "You can also skip this and choose the provider yourself.")
_SOURCE_TITLES = {"catalogue": "Provider catalogue", "mx": "DNS MX records", "autoconfig": "Autoconfig document",
                  "probe": "SMTP probe"}
_STATUS_WORDS = {"found": "found", "nothing": "nothing", "error": "failed", "timeout": "no answer in time",
                 "skipped": "not needed"}
_KIND_TITLES = {ProviderKind.M365_SMTP: "Microsoft 365", ProviderKind.GMAIL: "Gmail / Google Workspace",
                ProviderKind.GRAPH: "Microsoft Graph", ProviderKind.SMTP: "SMTP server"}


def describe_proposal(proposal: Proposal) -> str:
    """'Microsoft 365 (smtp.office365.com port 587)' for the page and the provider page's banner."""
    title = _KIND_TITLES[proposal.provider_kind]
    if proposal.catalogue_id and proposal.provider_kind is ProviderKind.SMTP:
        from wizard.services import providers

        title = providers.get(proposal.catalogue_id).name
    return f"{title} ({proposal.host} port {proposal.port})" if proposal.host else title


def describe_sources(detection: Detection) -> str:
    lines = []
    for report in detection.reports:
        title = _SOURCE_TITLES.get(report.source.value, report.source.value)
        status = _STATUS_WORDS.get(report.status.value, report.status.value)
        lines.append(f"{title}: {status}" + (f" ({report.detail})" if report.detail else ""))
    return "\n".join(lines)


def _line_edit(name: str, accessible: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setPlaceholderText(placeholder)
    return edit


class SenderAddressPage(QWizardPage):
    detection_finished = Signal(bool)  # True: something was proposed; False: nothing, failed or cancelled

    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tasks = TaskTracker(self)
        # Passed to autodetect.detect(): tests point it at a local DNS server (nameserver, connect_to, CA files).
        self.detect_options: dict[str, Any] = {}
        self.setTitle("Who sends the mail?")
        self.setSubTitle("Enter the address your application sends as. Mailwright looks up the provider behind it.")

        self.from_address = _line_edit("senderAddress", "Sender address", "support@example.com")
        self.display_name = _line_edit("senderDisplayName", "Display name", "Example Support (optional)")
        self.profile_name = _line_edit("senderProfileName", "Profile name")
        self.profile_name.setMaxLength(64)
        self.profile_name.setToolTip("The account's name on this computer; the command line uses it: "
                                     "mailwright check --profile NAME")
        form = QFormLayout()
        form.addRow("Sender address*:", self.from_address)
        form.addRow("Display name:", self.display_name)
        form.addRow("Profile name*:", self.profile_name)

        self.detect_button = QPushButton("Find my provider")
        self.detect_button.setObjectName("detectProvider")
        self.detect_button.setAccessibleName("Find the provider for this address")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelDetect")
        self.cancel_button.setAccessibleName("Cancel the provider lookup")
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("detectProgress")
        self.progress.setAccessibleName("Provider lookup in progress")
        self.progress.setRange(0, 0)  # the sources run in parallel: no meaningful percentage
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.progress.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.detect_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 3)
        buttons.addStretch(1)

        self.result = QLabel()
        self.result.setObjectName("detectResult")
        self.result.setAccessibleName("Proposed provider")
        self.result.setWordWrap(True)
        self.sources = QLabel()
        self.sources.setObjectName("detectSources")
        self.sources.setAccessibleName("Where the proposal came from")
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.PlainText)
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sources.setStyleSheet("color: palette(placeholder-text)")
        self.problem = QLabel()
        self.problem.setObjectName("senderProblem")
        self.problem.setAccessibleName("Problem with the sender")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(problem_style())

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(self.sources)
        layout.addStretch(1)

        self.from_address.textChanged.connect(self._on_changed)
        self.display_name.textChanged.connect(self._on_changed)
        self.profile_name.textChanged.connect(self._on_changed)
        self.detect_button.clicked.connect(self._on_detect_clicked)
        self.cancel_button.clicked.connect(self.tasks.cancel)
        self.tasks.busy_changed.connect(self._on_busy_changed)
        self._loading = False

    @override
    def initializePage(self) -> None:
        self._loading = True
        self.from_address.setText(self.state.draft.from_address)
        self.display_name.setText(self.state.draft.display_name)
        self.profile_name.setText(self.state.draft.name)
        self._loading = False
        self._show_detection(self.state.detection)
        self._on_changed()

    def problems(self) -> list[str]:
        found = []
        address = self.from_address.text().strip()
        if address:
            try:
                validate_address(address, "sender address")
            except InvalidInputError as exc:
                found.append(str(exc))
        try:
            validate_display_name(self.display_name.text(), "Display name")
        except InvalidInputError as exc:
            found.append(str(exc))
        if self.profile_name.text().strip() and not is_profile_name(self.profile_name.text().strip()):
            found.append(PROFILE_NAME_RULE)
        return found

    def _on_changed(self) -> None:
        if self._loading:
            return
        s = self.state
        s.draft = replace(s.draft, from_address=self.from_address.text(), display_name=self.display_name.text(),
                          name=self.profile_name.text())
        if s.detection is not None and s.detection.address.lower() != s.draft.from_address.strip().lower():
            s.detection = None  # a proposal for another address must not preselect the provider
            self._show_detection(None)
        problems = self.problems()
        self.problem.setText("\n".join(problems))
        self.problem.setVisible(bool(problems))
        self.detect_button.setEnabled(self._address_valid() and not self.tasks.busy)
        self.completeChanged.emit()

    def _address_valid(self) -> bool:
        try:
            validate_address(self.from_address.text(), "sender address")
        except InvalidInputError:
            return False
        return True

    @override
    def isComplete(self) -> bool:
        return (self._address_valid() and bool(self.profile_name.text().strip()) and not self.problems()
                and not self.tasks.busy)

    @async_slot()
    async def _on_detect_clicked(self) -> None:
        if self._address_valid() and not self.tasks.busy:
            await self.tasks.run(self.detect_provider())

    async def detect_provider(self) -> None:
        address = self.from_address.text().strip()
        domain = address.rpartition("@")[2]
        self._show_detection(None)
        self.result.setText(f"Looking up {domain}: provider catalogue, MX records, autoconfig document…")
        try:
            # dnspython and httpx: imported only when a lookup runs, in a thread (~100 ms the loop must not stall)
            autodetect = await asyncio.to_thread(importlib.import_module, "wizard.services.autodetect")
            detection = await autodetect.detect(address, **self.detect_options)
        except asyncio.CancelledError:
            self.result.setText("Lookup cancelled. Choose the provider yourself on the next page.")
            self.detection_finished.emit(False)
            raise
        except InvalidInputError as exc:
            self.result.setText(str(exc))
            self.detection_finished.emit(False)
            return
        self.state.detection = detection
        self._show_detection(detection)
        self.detection_finished.emit(detection.best is not None)

    def _show_detection(self, detection: Detection | None) -> None:
        if detection is None:
            self.result.setText(IDLE_HINT)
            self.sources.setText("")
            return
        best = detection.best
        if best is None:
            self.result.setText(f"No provider found for {detection.domain}. Choose it yourself on the next page.")
        else:
            self.result.setText(f"<b>Proposed: {describe_proposal(best)}</b><br>Because: {best.evidence}")
        self.sources.setText(describe_sources(detection))

    def _on_busy_changed(self, busy: bool) -> None:
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)
        self.detect_button.setEnabled(not busy and self._address_valid())
        self.completeChanged.emit()

    @override
    def cleanupPage(self) -> None:
        self.tasks.cancel()
