"""Mailwright: connect an application's outbound e-mail to your own mail account."""

__version__ = "0.1.0"
