"""Dialogs opened from the wizard (send a test mail, error report)."""
