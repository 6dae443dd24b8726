"""Shows a `Diagnosis`: what went wrong in plain words, how to fix it, and what the server said."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QStyle, QVBoxLayout, QWidget

from wizard.services.diagnostics import Diagnosis
from wizard.widgets.form_widgets import selectable_text


class DiagnosisBox(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Diagnosis", parent)
        self.setObjectName("diagnosisBox")
        self.setAccessibleName("Diagnosis")
        self.title_label = selectable_text("diagnosisTitle", "Diagnosis title")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.icon = QLabel()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.icon.setPixmap(icon.pixmap(24, 24))
        self.explanation = selectable_text("diagnosisExplanation", "What happened")
        self.fix = selectable_text("diagnosisFix", "How to fix it")
        self.reply = selectable_text("diagnosisReply", "Server reply")
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.addRow(self.icon, self.title_label)
        form.addRow("What happened:", self.explanation)
        form.addRow("How to fix it:", self.fix)
        self._reply_caption = QLabel("Server said:")
        form.addRow(self._reply_caption, self.reply)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.hide()

    def show_diagnosis(self, diagnosis: Diagnosis | None) -> None:
        if diagnosis is None:
            self.hide()
            return
        self.title_label.setText(diagnosis.title)
        self.explanation.setText(diagnosis.explanation)
        self.fix.setText(diagnosis.fix)
        show_reply = bool(diagnosis.detail) and diagnosis.detail not in diagnosis.explanation
        self.reply.setText(diagnosis.detail)
        from_server = diagnosis.detail[:3].isdigit()  # an SMTP reply, not a local error text
        self._reply_caption.setText("Server said:" if from_server else "Details:")
        self.reply.setVisible(show_reply)
        self._reply_caption.setVisible(show_reply)
        self.show()
