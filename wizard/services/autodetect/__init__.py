"""Autodetection: from a sender address to ranked proposals (catalogue, MX, autoconfig, SMTP probe)."""

from wizard.services.autodetect.detect import detect
from wizard.services.autodetect.model import ConnectTo, Detection, Proposal, Source, SourceReport, SourceStatus

__all__ = ["ConnectTo", "Detection", "Proposal", "Source", "SourceReport", "SourceStatus", "detect"]
