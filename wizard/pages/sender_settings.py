"""Sender settings: priority, the postmaster, and who may send through the account.

The sender address and display name are entered on the sender page; this page shows them read-only.

The policy semantics are services/policy.py's (MailUp SMTP+ and Akuiteo): empty lists allow everyone;
an authorised domain covers itself and the domains under it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from typing_extensions import override

from wizard.pages.state import WizardState
from wizard.services.policy import normalise_authorized_domain, normalise_authorized_sender
from wizard.services.validation import InvalidInputError, validate_address
from wizard.widgets.editable_list import EditableList
from wizard.widgets.form_widgets import hint_label, line_edit, problem_label

PRIORITY_LABELS = {1: "1 (very high)", 2: "2 (high)", 3: "3 (normal)", 4: "4 (low)", 5: "5 (very low)"}


class SenderSettingsPage(QWizardPage):
    def __init__(self, state: WizardState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setTitle("Sender settings")
        self.setSubTitle("Who may send through this account, the address used when the provider accepts only its "
                         "own, and which mail goes first. The defaults suit most setups.")

        self.sender_label = QLabel()
        self.sender_label.setObjectName("settingsSender")
        self.sender_label.setAccessibleName("Sender (entered on the sender page)")
        self.sender_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sender_label.setWordWrap(True)
        self.priority = QComboBox()
        self.priority.setObjectName("accountPriority")
        self.priority.setAccessibleName("Account priority")
        for value, label in PRIORITY_LABELS.items():
            self.priority.addItem(label, value)
        self.priority.setToolTip("When several messages wait, higher priority is sent first. A message's own "
                                 "priority counts if it is higher than the account's.")
        self.postmaster = line_edit("postmaster", "Postmaster address", "postmaster@example.com (optional)")
        self.force_postmaster = QCheckBox("Always send as the postmaster")
        self.force_postmaster.setObjectName("forcePostmasterSender")
        self.force_postmaster.setAccessibleName("Always send as the postmaster")
        force_hint = hint_label("From is replaced by the postmaster address; the original From goes into Reply-To, so "
                           "replies still reach the author. Use it when the provider only lets this account send as "
                           "itself.")

        priority_row = QHBoxLayout()
        priority_row.addWidget(self.priority)
        priority_row.addWidget(hint_label("Higher priority is sent first."), 1)
        force_hint.setContentsMargins(22, 0, 0, 0)  # under the check box's text, not its box
        form = QGridLayout()  # not QFormLayout: it mis-sizes word-wrapped rows (the hint) and leaves gaps
        form.setColumnStretch(1, 1)
        rows: tuple[tuple[str, QWidget | QHBoxLayout], ...] = (
            ("Sends as:", self.sender_label), ("Priority:", priority_row), ("Postmaster:", self.postmaster),
            ("", self.force_postmaster), ("", force_hint))
        for row, (caption, field) in enumerate(rows):
            form.addWidget(QLabel(caption), row, 0)
            if isinstance(field, QWidget):
                form.addWidget(field, row, 1)
            else:
                form.addLayout(field, row, 1)

        self.domains = EditableList("authorizedDomains", "Authorised domains", normalise_authorized_domain,
                                    "example.com")
        self.senders = EditableList("authorizedSenders", "Authorised senders", normalise_authorized_sender,
                                    "app@example.com")
        self.block = QRadioButton("Refuse the message")
        self.block.setObjectName("actionBlock")
        self.block.setAccessibleName("Refuse mail from senders that are not authorised")
        self.alert = QRadioButton("Send it, and raise an alert")
        self.alert.setObjectName("actionAlert")
        self.alert.setAccessibleName("Send mail from senders that are not authorised and raise an alert")
        self.action = QButtonGroup(self)
        self.action.addButton(self.block)
        self.action.addButton(self.alert)
        policy = QGroupBox("Who may send through this account")
        grid = QGridLayout(policy)
        grid.addWidget(QLabel("Authorised domains:"), 0, 0)
        grid.addWidget(QLabel("Authorised senders:"), 0, 1)
        grid.addWidget(self.domains, 1, 0)
        grid.addWidget(self.senders, 1, 1)
        grid.addWidget(hint_label("Leave both empty to allow every sender. example.com also covers news.example.com; "
                             "news.example.com covers only itself."), 2, 0, 1, 2)
        self.action_label = QLabel("Other senders:")
        action_row = QGridLayout()
        action_row.addWidget(self.action_label, 0, 0)
        action_row.addWidget(self.block, 0, 1)
        action_row.addWidget(self.alert, 0, 2)
        action_row.setColumnStretch(3, 1)
        grid.addLayout(action_row, 3, 0, 1, 2)

        self.messages = problem_label("senderValidation", "Problems with the sender settings")
        self.messages.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(policy, 1)
        layout.addWidget(self.messages)

        self._loading = False
        self.postmaster.textChanged.connect(self._on_changed)
        self.force_postmaster.toggled.connect(self._on_changed)
        self.priority.currentIndexChanged.connect(self._on_changed)
        self.block.toggled.connect(self._on_changed)
        self.domains.changed.connect(self._on_changed)
        self.senders.changed.connect(self._on_changed)

    @override
    def initializePage(self) -> None:
        s = self.state
        self._loading = True
        address = s.draft.from_address.strip()
        name = s.draft.display_name.strip()
        self.sender_label.setText(f"{name} <{address}>" if name else address)
        self.priority.setCurrentIndex(max(0, self.priority.findData(s.draft.priority)))
        self.postmaster.setText(s.draft.postmaster)
        self.force_postmaster.setChecked(s.draft.force_postmaster_sender)
        self.domains.set_values(s.draft.authorized_domains)
        self.senders.set_values(s.draft.authorized_senders)
        (self.alert if s.draft.unauthorized_action == "alert" else self.block).setChecked(True)
        self._loading = False
        self._on_changed()

    def problems(self) -> list[str]:
        found: list[str] = []
        postmaster = self.postmaster.text().strip()
        if postmaster:
            try:
                validate_address(postmaster, "postmaster")
            except InvalidInputError as exc:
                found.append(f"Postmaster: {exc}")
        elif self.force_postmaster.isChecked():
            found.append("Enter the postmaster address, or untick “Always send as the postmaster”.")
        found.extend(p for p in (self.domains.problem(), self.senders.problem()) if p)
        return found

    def _store(self) -> None:
        s = self.state
        postmaster = self.postmaster.text().strip()
        try:
            postmaster = validate_address(postmaster, "postmaster") if postmaster else ""
        except InvalidInputError:
            pass  # kept as typed: problems() names it
        s.draft = replace(s.draft, priority=int(self.priority.currentData()), postmaster=postmaster,
                          force_postmaster_sender=self.force_postmaster.isChecked(),
                          authorized_domains=self.domains.values(), authorized_senders=self.senders.values(),
                          unauthorized_action="alert" if self.alert.isChecked() else "block")

    def _on_changed(self) -> None:
        if self._loading:
            return
        self._store()
        restricted = bool(self.state.draft.authorized_domains or self.state.draft.authorized_senders)
        for widget in (self.action_label, self.block, self.alert):
            widget.setEnabled(restricted)
        found = self.problems()
        self.messages.setText("\n".join(found))
        self.messages.setVisible(bool(found))
        self.completeChanged.emit()

    @override
    def isComplete(self) -> bool:
        return not self.problems()

    @override
    def validatePage(self) -> bool:
        """Entries typed but not added are added, so nothing the user typed is silently dropped."""
        ok = self.domains.add_pending() and self.senders.add_pending()
        self._on_changed()
        return ok and not self.problems()
