"""Alerts: when a profile starts failing, say so once, by mail through another profile and/or a webhook.

Settings live in config.toml under `[alerts]` (all optional; nothing is sent without them; checked by the
settings registry and read with the rest of the configuration, `Config.alerts`):

    [alerts]
    email_to = "it@example.com"      # who gets alert mails
    via_profile = "backup"           # the profile that sends them (never the failing one)
    webhook_url = "https://hooks.example.com/mailwright"   # receives the alert as JSON (POST); https only

An alert fires when a profile gains an alerting issue (paused after an auth failure, held mail,
repeated temporary failures, a failed check, a client secret expiring within 14 days or expired, an OAuth
account no longer signed in, a Microsoft 365 certificate whose automatic renewal failed or that expired)
and not again until that issue has cleared. The issues already alerted are remembered in the data
home, so restarting the app does not repeat them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx

from wizard.services.config import Config
from wizard.services.health import Issue, ProfileHealth
from wizard.services.message import sender_header
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.private_files import write_private_text
from wizard.services.settings import AlertSettings
from wizard.services.validation import InvalidInputError

log = logging.getLogger(__name__)

ALERT_STATE_FILE = "alerts-state.json"
ALERT_PRIORITY = 1
WEBHOOK_TIMEOUT_S = 10.0
ALERTING_ISSUES = frozenset({Issue.PAUSED, Issue.HELD, Issue.REPEATED_TEMPORARY_FAILURES, Issue.CHECK_FAILED,
                             Issue.SECRET_EXPIRING, Issue.SECRET_EXPIRED, Issue.NOT_SIGNED_IN,
                             Issue.CERTIFICATE_RENEWAL_FAILED, Issue.CERTIFICATE_EXPIRED})


@dataclass(frozen=True)
class Alert:
    profile: str
    state: str
    label: str
    issues: tuple[Issue, ...]  # the issues that are new with this alert
    reasons: tuple[str, ...]
    raised_at: float

    @property
    def subject(self) -> str:
        return f"[Mailwright] {self.profile}: {self.label}"

    @property
    def text(self) -> str:
        lines = [f"Mailwright profile '{self.profile}' needs attention: {self.label}.", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        lines += ["", "Open Mailwright to check the account; held mail is kept and is sent once you resume."]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {"profile": self.profile, "state": self.state, "label": self.label,
                "issues": [i.value for i in self.issues], "reasons": list(self.reasons),
                "raised_at": self.raised_at, "text": self.text}


class AlertTracker:
    """Turns successive health snapshots into alerts: once when an alerting issue appears, not while it lasts."""

    def __init__(self, state_path: Path | None = None) -> None:
        self.state_path = state_path
        self.active: dict[str, set[Issue]] = self._load()

    def _load(self) -> dict[str, set[Issue]]:
        if self.state_path is None:
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return {name: {Issue(i) for i in issues if i in Issue._value2member_map_} for name, issues in data.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def _save(self) -> None:
        if self.state_path is None:
            return
        tmp = self.state_path.with_suffix(".tmp")
        write_private_text(tmp, json.dumps({n: sorted(i.value for i in s) for n, s in self.active.items() if s}))
        os.replace(tmp, self.state_path)

    def update(self, healths: Sequence[ProfileHealth], now: float | None = None) -> list[Alert]:
        raised_at = time.time() if now is None else now
        alerts: list[Alert] = []
        before = {name: set(issues) for name, issues in self.active.items()}
        for health in healths:
            current = {i for i in health.issues if i in ALERTING_ISSUES}
            new = current - self.active.get(health.name, set())
            self.active[health.name] = current
            if new:
                alerts.append(Alert(health.name, health.state.value, health.label,
                                    tuple(i for i in health.issues if i in new), health.reasons, raised_at))
        for gone in set(self.active) - {h.name for h in healths}:
            del self.active[gone]
        if self.active != before:
            self._save()
        return alerts


@dataclass(frozen=True)
class AlertDelivery:
    alert: Alert
    channel: str  # "email" or "webhook"
    ok: bool
    detail: str


def alert_message(alert: Alert, via: Profile, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_header(via.from_address, via.display_name or "Mailwright alerts")
    message["To"] = to
    message["Subject"] = alert.subject
    message.set_content(alert.text)
    return message


def alert_profile(config: Config, settings: AlertSettings, failing: str) -> Profile | None:
    """The profile alert mail goes through: `via_profile`, else the default; never the failing profile."""
    name = settings.via_profile or config.default_profile
    if not name or name == failing or name not in config.profiles:
        return None
    return config.profiles[name]


async def send_alert_mail(alert: Alert, settings: AlertSettings, config: Config, outbox: Outbox) -> AlertDelivery:
    via = alert_profile(config, settings, alert.profile)
    if via is None:
        return AlertDelivery(alert, "email", False,
                             f"No other profile to send the alert through (alerts.via_profile = "
                             f"'{settings.via_profile}'; the failing profile cannot send its own alert).")
    stored = await outbox.aenqueue(alert_message(alert, via, settings.email_to), profile=via.name,
                                   priority=ALERT_PRIORITY)
    return AlertDelivery(alert, "email", True, f"queued as {stored.id} through profile '{via.name}'")


async def post_webhook(alert: Alert, url: str, client: httpx.AsyncClient | None = None) -> AlertDelivery:
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as own:
                response = await own.post(url, json=alert.to_json())
        else:
            response = await client.post(url, json=alert.to_json())
    except httpx.HTTPError as exc:
        return AlertDelivery(alert, "webhook", False, f"{type(exc).__name__}: {exc}")
    ok = response.is_success
    return AlertDelivery(alert, "webhook", ok, f"HTTP {response.status_code}")


class AlertDispatcher:
    """Health snapshots in, alert mails and webhook calls out; failures are reported, never raised."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config],
                 tracker: AlertTracker | None = None, enabled: bool = True) -> None:
        self.enabled = enabled  # False: a preview (screenshot) that must neither alert nor remember
        self.outbox = outbox
        self.load_config = load_config
        self.tracker = tracker or AlertTracker()
        self.deliveries: list[AlertDelivery] = []

    async def process(self, healths: Sequence[ProfileHealth]) -> list[Alert]:
        if not self.enabled:
            return []
        alerts = self.tracker.update(healths)
        if not alerts:
            return alerts
        try:
            config = self.load_config()
        except (InvalidInputError, ValueError, OSError) as exc:
            log.warning("Alerts are not sent: %s", exc)
            return alerts
        settings = config.alerts
        for alert in alerts:
            log.warning("Alert for profile %s: %s", alert.profile, "; ".join(alert.reasons))
            if settings.email_to:
                self._record(await send_alert_mail(alert, settings, config, self.outbox))
            if settings.webhook_url:
                self._record(await post_webhook(alert, settings.webhook_url))
        return alerts

    def _record(self, delivery: AlertDelivery) -> None:
        self.deliveries.append(delivery)
        if not delivery.ok:
            log.warning("Alert %s for %s not delivered: %s", delivery.channel, delivery.alert.profile, delivery.detail)
