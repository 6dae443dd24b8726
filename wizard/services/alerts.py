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

Events are alerts too: mail from a sender outside a profile's policy queued anyway (`unauthorized = "alert"`,
submission.py's step 3) is raised through `AlertDispatcher.sender_not_authorized` by every way in (the relay,
`mailwright send`, `wizard.submit`). An event alerts at most once per profile and kind in EVENT_QUIET_S; the
next one says how many were not alerted on their own. The times are kept in the data home under a file lock,
so the relay's process, the app and a CLI command share them.

Alert mails go through the submission rules (`submission.submit`, what `wizard.submit` runs) like any other
mail: the sending profile's policy, forced postmaster, display name, Date and Message-ID.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.services.config import Config
from wizard.services.file_lock import exclusive_lock
from wizard.services.health import Issue, ProfileHealth
from wizard.services.message import sender_header
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.private_files import write_private_text
from wizard.services.settings import AlertSettings
from wizard.services.submission import QueuedMessage, SubmissionError, submit
from wizard.services.validation import InvalidInputError, validate_https_url

if TYPE_CHECKING:
    import httpx  # loaded only when a webhook is posted (the relay's process imports this module)

log = logging.getLogger(__name__)

ALERT_STATE_FILE = "alerts-state.json"
ALERT_EVENTS_FILE = "alert-events.json"
EVENT_QUIET_S = 3600.0  # an event (an unauthorised sender) alerts at most once an hour per profile and kind
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
    try:  # the one way in: the sending profile's policy, postmaster, display name, Date and Message-ID apply
        queued = await asyncio.to_thread(submit, alert_message(alert, via, settings.email_to), config=config,
                                         outbox=outbox, profile=via.name, priority=ALERT_PRIORITY)
    except SubmissionError as exc:
        return AlertDelivery(alert, "email", False, f"refused by the rules of profile '{via.name}': {exc}")
    except Exception as exc:  # the outbox cannot store it (locked, disk full): reported like a webhook error
        return AlertDelivery(alert, "email", False, f"not queued: {type(exc).__name__}: {exc}")
    return AlertDelivery(alert, "email", True, f"queued as {queued.id} through profile '{via.name}'")


async def post_webhook(alert: Alert, url: str, client: httpx.AsyncClient | None = None) -> AlertDelivery:
    """POST the alert as JSON. https only, checked here too: the settings loader refuses http://, but a caller
    that built its settings another way must not send the alert (and a token in the URL) in clear."""
    try:
        validate_https_url("alerts.webhook_url", url)
    except InvalidInputError as exc:
        return AlertDelivery(alert, "webhook", False, str(exc))
    import httpx

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


def sender_policy_alert(queued: QueuedMessage, now: float | None = None) -> Alert:
    """The alert for mail queued although its sender is outside the profile's policy (unauthorized = alert)."""
    to = ", ".join(queued.recipients)
    return Alert(queued.profile, "alert", "Mail from an unauthorised sender was queued", (Issue.UNAUTHORIZED_SENDER,),
                 (*queued.alerts, f"Message {queued.message_id} to {to} was queued all the same: the profile lets "
                                  "other senders through with an alert. Add the sender to the authorised senders, "
                                  "or set unauthorised senders to block."),
                 time.time() if now is None else now)


class AlertEventLimiter:
    """When each profile last alerted each kind of event, kept in the data home under a file lock (the relay's
    process, the app and CLI commands share it): an event alerts at most once per `quiet_s`."""

    def __init__(self, state_path: Path | None = None, quiet_s: float = EVENT_QUIET_S) -> None:
        self.state_path = state_path
        self.quiet_s = quiet_s
        self._memory: dict[str, list[float]] = {}  # without a state file (tests, previews)
        self._lock = threading.Lock()

    def claim(self, profile: str, issue: Issue, now: float) -> int | None:
        """None: alerted within `quiet_s`, stay quiet (counted); else how many were kept quiet since the last one."""
        key = f"{profile}|{issue.value}"
        with self._lock:
            if self.state_path is None:
                return self._claim(self._memory, key, now)
            with exclusive_lock(self.state_path.with_name(self.state_path.name + ".lock")):
                try:
                    state = json.loads(self.state_path.read_text(encoding="utf-8"))
                    if not isinstance(state, dict):
                        state = {}
                except (OSError, ValueError):
                    state = {}
                result = self._claim(state, key, now)
                tmp = self.state_path.with_suffix(".tmp")
                write_private_text(tmp, json.dumps(state))
                os.replace(tmp, self.state_path)
                return result

    def _claim(self, state: dict[str, Any], key: str, now: float) -> int | None:
        last, quiet = (state.get(key) or [None, 0])[:2]
        if isinstance(last, int | float) and 0 <= now - last < self.quiet_s:
            state[key] = [last, int(quiet) + 1]
            return None
        state[key] = [now, 0]
        return int(quiet) if isinstance(quiet, int) else 0


class AlertDispatcher:
    """Health snapshots and events in, alert mails and webhook calls out; failures are reported, never raised."""

    def __init__(self, outbox: Outbox, load_config: Callable[[], Config],
                 tracker: AlertTracker | None = None, enabled: bool = True,
                 events: AlertEventLimiter | None = None, on_queued: Callable[[], None] | None = None) -> None:
        self.enabled = enabled  # False: a preview (screenshot) that must neither alert nor remember
        self.outbox = outbox
        self.load_config = load_config
        self.tracker = tracker or AlertTracker()
        self.events = events or AlertEventLimiter()
        self.on_queued = on_queued  # wakes the sender when an alert mail was queued
        self.deliveries: list[AlertDelivery] = []

    @classmethod
    def for_home(cls, home: Path, outbox: Outbox, load_config: Callable[[], Config], *,
                 on_queued: Callable[[], None] | None = None) -> AlertDispatcher:
        """The dispatcher of a data home: what was alerted is remembered there, across restarts and processes."""
        return cls(outbox, load_config, tracker=AlertTracker(home / ALERT_STATE_FILE),
                   events=AlertEventLimiter(home / ALERT_EVENTS_FILE), on_queued=on_queued)

    async def process(self, healths: Sequence[ProfileHealth]) -> list[Alert]:
        if not self.enabled:
            return []
        alerts = self.tracker.update(healths)
        if alerts:
            await self._send(alerts)
        return alerts

    async def sender_not_authorized(self, queued: QueuedMessage) -> Alert | None:
        """Raise the alert for a message the sender policy let through with an alert (`queued.alerts`); None
        when there is nothing to alert or the same profile alerted it within EVENT_QUIET_S."""
        if not queued.alerts:
            return None
        return await self.raise_event(sender_policy_alert(queued))

    def sender_not_authorized_soon(self, queued: QueuedMessage) -> threading.Thread | None:
        """`sender_not_authorized` without keeping the submitter waiting (`wizard.submit`, `mailwright send`, the
        app): on a loop of its own, in a thread of its own, which the caller may join. The message is queued
        already; a webhook that does not answer would otherwise hold the submission for its whole timeout. The
        thread is not a daemon, so a program that exits right after submitting still lets the alert go out."""
        if not queued.alerts:
            return None

        def run() -> None:
            try:
                asyncio.run(self.sender_not_authorized(queued))
            except Exception:  # the dispatcher reports its failures; this is only a last resort
                log.exception("The alert for an unauthorised sender failed")

        thread = threading.Thread(target=run, name="mailwright-alert")
        thread.start()
        return thread

    async def raise_event(self, alert: Alert) -> Alert | None:
        """An alert for something that happened (not a state that lasts): at most once per profile and kind in
        the limiter's quiet time; the one that goes out says how many were kept quiet before it."""
        if not self.enabled:
            return None
        kind = alert.issues[0] if alert.issues else Issue.UNAUTHORIZED_SENDER
        try:
            quiet = await asyncio.to_thread(self.events.claim, alert.profile, kind, alert.raised_at)
        except OSError as exc:  # the data home is not writable: alert rather than stay silent
            log.warning("Alert rate limit not readable (%s): alerting anyway", exc)
            quiet = 0
        if quiet is None:
            log.warning("Alert for profile %s not repeated within %.0f s: %s", alert.profile, self.events.quiet_s,
                        "; ".join(alert.reasons))
            return None
        if quiet:
            alert = Alert(alert.profile, alert.state, alert.label, alert.issues,
                          (*alert.reasons, f"{quiet} more like it since the last alert were not alerted on their own."),
                          alert.raised_at)
        await self._send([alert])
        return alert

    async def _send(self, alerts: Sequence[Alert]) -> None:
        try:
            config = self.load_config()
        except (InvalidInputError, ValueError, OSError) as exc:
            log.warning("Alerts are not sent: %s", exc)
            return
        settings = config.alerts
        for alert in alerts:
            log.warning("Alert for profile %s: %s", alert.profile, "; ".join(alert.reasons))
            if settings.email_to:
                delivery = await send_alert_mail(alert, settings, config, self.outbox)
                self._record(delivery)
                if delivery.ok and self.on_queued is not None:
                    self.on_queued()
            if settings.webhook_url:
                self._record(await post_webhook(alert, settings.webhook_url))

    def _record(self, delivery: AlertDelivery) -> None:
        self.deliveries.append(delivery)
        if not delivery.ok:
            log.warning("Alert %s for %s not delivered: %s", delivery.channel, delivery.alert.profile, delivery.detail)
