"""Each profile's health at a glance: ok, warning, failing, paused (auth) or disabled, and why.

Pure assessment over what is already known (the outbox's per-profile stats, the sender's paused
profiles, the last connection check, the last DNS run, the recorded secret expiry), so the main
window, the tray, the alerts and a future `mailwright status` all tell the same story.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.services import diagnostics
from wizard.services.config import Config, data_home
from wizard.services.diagnostics import Diagnosis
from wizard.services.home import has_m365_records
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.outbox import MessageState, Outbox, ProfilePause
from wizard.services.outbox_stats import ProfileStats, read_profile_stats
from wizard.services.private_files import write_private_text
from wizard.services.wording import plural

if TYPE_CHECKING:
    from wizard.services.m365.record import Registration

DNS_VERDICTS_FILE = "dns-verdicts.json"
SECRET_WARNING_DAYS = 14
CERTIFICATE_WARNING_DAYS = 30  # Microsoft 365 app certificates are renewed on their own from 30 days before expiry
# Messages retried this often after temporary errors (4xx, timeouts) make the profile "failing".
REPEATED_TEMPORARY_FAILURES = 3


class HealthState(StrEnum):
    OK = "ok"
    DISABLED = "disabled"  # sending switched off by the admin: mail still queues
    WARNING = "warning"
    FAILING = "failing"
    PAUSED = "paused"  # the account broke (auth/config): its mail is held until it is fixed and resumed


SEVERITY = {HealthState.OK: 0, HealthState.DISABLED: 1, HealthState.WARNING: 2, HealthState.FAILING: 3,
            HealthState.PAUSED: 4}

STATE_LABELS = {
    HealthState.OK: "OK",
    HealthState.DISABLED: "Sending switched off",
    HealthState.WARNING: "Needs attention",
    HealthState.FAILING: "Failing",
    HealthState.PAUSED: "Paused: sign-in failed",
}


PROVIDER_LABELS = {
    ProviderKind.SMTP: "SMTP server",
    ProviderKind.GMAIL: "Gmail / Google Workspace",
    ProviderKind.M365_SMTP: "Microsoft 365 (SMTP)",
    ProviderKind.GRAPH: "Microsoft Graph",
}


class Issue(StrEnum):
    """Why a profile is not plainly OK; the alerts fire when one of these appears."""

    PAUSED = "paused"
    HELD = "held"
    REPEATED_TEMPORARY_FAILURES = "repeated_temporary_failures"
    RETRYING = "retrying"
    LAST_MESSAGE_FAILED = "last_message_failed"
    CHECK_FAILED = "check_failed"
    SECRET_EXPIRING = "secret_expiring"
    SECRET_EXPIRED = "secret_expired"
    NOT_SIGNED_IN = "not_signed_in"
    SENDING_DISABLED = "sending_disabled"
    CERTIFICATE_RENEWAL_FAILED = "certificate_renewal_failed"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    CERTIFICATE_EXPIRED = "certificate_expired"
    # An event, not a state: mail from a sender outside the profile's policy was queued (unauthorized = alert).
    # Raised by the submission rules through the alerts dispatcher; never part of a health snapshot.
    UNAUTHORIZED_SENDER = "unauthorized_sender"


@dataclass(frozen=True)
class DnsVerdict:
    domain: str
    ok: bool
    summary: str
    checked_at: float


@dataclass(frozen=True)
class ProfileHealth:
    name: str
    provider: ProviderKind
    from_address: str
    is_default: bool
    state: HealthState
    issues: tuple[Issue, ...] = ()
    reasons: tuple[str, ...] = ()  # plain-language lines, most important first
    diagnosis_code: str = ""
    counts: Mapping[MessageState, int] = field(default_factory=dict)
    last_success_at: float | None = None
    secret_expires: date | None = None
    dns: DnsVerdict | None = None
    certificate_expires: date | None = None  # Microsoft 365 app certificate (one-sign-in set-up)
    certificate_renewed: date | None = None  # its last successful renewal

    @property
    def held(self) -> int:
        return self.counts.get(MessageState.HELD, 0)

    @property
    def label(self) -> str:
        if self.state is HealthState.PAUSED and self.held:
            return f"{STATE_LABELS[self.state]} ({self.held} held)"
        return STATE_LABELS[self.state]

    def to_json(self) -> dict[str, object]:
        return {"profile": self.name, "state": self.state.value, "issues": [i.value for i in self.issues],
                "reasons": list(self.reasons), "diagnosis_code": self.diagnosis_code,
                "counts": {s.value: self.counts.get(s, 0) for s in MessageState},
                "last_success_at": self.last_success_at,
                "secret_expires": self.secret_expires.isoformat() if self.secret_expires else None,
                "certificate_expires": self.certificate_expires.isoformat() if self.certificate_expires else None,
                "dns": None if self.dns is None else {"domain": self.dns.domain, "ok": self.dns.ok,
                                                      "summary": self.dns.summary}}


def secret_expiry(profile: Profile) -> date | None:
    """The recorded client-secret expiry date (ISO), or None when there is none or it is not a date."""
    if profile.auth is not AuthMode.CLIENT_SECRET or not profile.client_secret_expires:
        return None
    try:
        return date.fromisoformat(profile.client_secret_expires.strip()[:10])
    except ValueError:
        return None


def _certificate_issues(name: str, registration: Registration | None,
                        today: date) -> list[tuple[HealthState, Issue, str, str]]:
    """A failed renewal (with its diagnosis), or a certificate close to or past its expiry without a renewal."""
    expires = registration.expires if registration is not None else None
    if registration is None or expires is None:
        return []
    days = (expires.date() - today).days
    renewal = registration.renewal
    if days < 0:
        return [(HealthState.FAILING, Issue.CERTIFICATE_EXPIRED,
                 f"The app's certificate expired on {expires.date().isoformat()}: only an administrator can add a new "
                 f"one (mailwright m365 setup {name} again, or a certificate uploaded in the Entra admin center).",
                 "rotation_failed")]
    if renewal is not None and not renewal.ok:
        words = " ".join(part for part in (renewal.explanation, renewal.fix) if part)
        return [(HealthState.WARNING, Issue.CERTIFICATE_RENEWAL_FAILED,
                 f"Certificate renewal failed on {renewal.when:%Y-%m-%d %H:%M} UTC: {renewal.title}. {words} "
                 f"The certificate expires on {expires.date().isoformat()}; sending works until then. "
                 f"Retry: mailwright m365 rotate {name}.", renewal.code)]
    if days <= CERTIFICATE_WARNING_DAYS:
        return [(HealthState.WARNING, Issue.CERTIFICATE_EXPIRING,
                 f"The app's certificate expires in {plural(days, 'day')} ({expires.date().isoformat()}) and has "
                 f"not been renewed yet: it is renewed on its own while Mailwright runs, or now with "
                 f"mailwright m365 rotate {name}.", "")]
    return []


def _day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def format_time(epoch: float | None, now: float) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', or the date for anything older than a day."""
    if epoch is None:
        return "never"
    age = max(0.0, now - epoch)
    if age < 60:
        return "just now"
    if age < 3600:
        return f"{int(age // 60)} min ago"
    if age < 86400:
        return f"{int(age // 3600)} h ago"
    return _day(epoch).isoformat()


def retrying_reason(stats: ProfileStats) -> str:
    """What the account's card and `queue status` say of its mail waiting for a retry ('' when none is)."""
    if not stats.retrying:
        return ""
    return (f"{plural(stats.retrying, 'message')} waiting to be retried (tried {plural(stats.most_attempts, 'time')}): "
            f"{stats.retry_reply or stats.retry_code}")


def assess_profile(profile: Profile, stats: ProfileStats | None, *, now: float, is_default: bool = False,
                   delivery_enabled: bool = True, paused: ProfilePause | None = None,
                   failed_check: Diagnosis | None = None, dns: DnsVerdict | None = None,
                   needs_sign_in: bool = False, m365: Registration | None = None) -> ProfileHealth:
    """One profile's state: the worst of what the outbox, the sender, the check, the secret and the Microsoft 365
    certificate (`m365`: the record of the one-sign-in set-up, its expiry and last renewal) say."""
    stats = stats or ProfileStats(counts={})
    found: list[tuple[HealthState, Issue, str, str]] = []  # state, issue, reason, diagnosis code
    held = stats.counts.get(MessageState.HELD, 0)
    if paused is not None:
        title = diagnostics.make(paused.code or "unknown", detail=paused.reply).title
        found.append((HealthState.PAUSED, Issue.PAUSED,
                      f"{title} ({paused.reply or paused.code}). {plural(held, 'message')} held until the account is "
                      "fixed and resumed.", paused.code))
    elif held and stats.held_code:
        found.append((HealthState.PAUSED, Issue.PAUSED,
                      f"{plural(held, 'message')} held after: {stats.held_reply or stats.held_code}. Fix the account, "
                      "then resume.", stats.held_code))
    elif held:
        found.append((HealthState.WARNING, Issue.HELD,
                      f"{plural(held, 'message')} held at startup: release them in the Outbox.", ""))
    if failed_check is not None:
        found.append((HealthState.FAILING, Issue.CHECK_FAILED, f"Connection check failed: {failed_check.title}.",
                      failed_check.code))
    if stats.retrying:
        repeated = stats.most_attempts >= REPEATED_TEMPORARY_FAILURES
        found.append((HealthState.FAILING if repeated else HealthState.WARNING,
                      Issue.REPEATED_TEMPORARY_FAILURES if repeated else Issue.RETRYING,
                      retrying_reason(stats), stats.retry_code))
    if stats.last_failed_at is not None and (stats.last_sent_at is None or stats.last_failed_at > stats.last_sent_at):
        found.append((HealthState.WARNING, Issue.LAST_MESSAGE_FAILED,
                      f"The last message failed: {stats.last_failure_reply or stats.last_failure_code}",
                      stats.last_failure_code))
    expires = secret_expiry(profile)
    if expires is not None:
        days = (expires - _day(now)).days
        if days < 0:
            found.append((HealthState.FAILING, Issue.SECRET_EXPIRED,
                          f"The client secret expired on {expires.isoformat()}: create a new one.",
                          "client_secret_expired"))
        elif days <= SECRET_WARNING_DAYS:
            found.append((HealthState.WARNING, Issue.SECRET_EXPIRING,
                          f"The client secret expires in {plural(days, 'day')} ({expires.isoformat()}): "
                          "create a new one before then.", ""))
    found.extend(_certificate_issues(profile.name, m365, _day(now)))
    if needs_sign_in:
        found.append((HealthState.WARNING, Issue.NOT_SIGNED_IN,
                      "Not signed in: mail cannot be sent until someone signs in (Fix… on the account in the "
                      f"main window, or mailwright oauth login --profile {profile.name}).",
                      "not_signed_in"))
    if not delivery_enabled:
        found.append((HealthState.DISABLED, Issue.SENDING_DISABLED,
                      "Sending is switched off (delivery.enabled = false): mail is queued, not sent.", ""))
    found.sort(key=lambda item: SEVERITY[item[0]], reverse=True)
    state = found[0][0] if found else HealthState.OK
    code = next((c for _, _, _, c in found if c), "")
    return ProfileHealth(
        name=profile.name, provider=profile.provider, from_address=profile.from_address, is_default=is_default,
        state=state, issues=tuple(i for _, i, _, _ in found), reasons=tuple(r for _, _, r, _ in found),
        diagnosis_code=code, counts=dict(stats.counts), last_success_at=stats.last_sent_at,
        secret_expires=expires, dns=dns,
        certificate_expires=m365.expires.date() if m365 is not None and m365.expires is not None else None,
        certificate_renewed=_renewed_on(m365))


def _renewed_on(registration: Registration | None) -> date | None:
    renewal = registration.renewal if registration is not None else None
    return renewal.when.date() if renewal is not None and renewal.ok else None


def assess(config: Config, stats: Mapping[str, ProfileStats], *, now: float,
           paused: Mapping[str, ProfilePause] | None = None, failed_checks: Mapping[str, Diagnosis] | None = None,
           dns: Mapping[str, DnsVerdict] | None = None, needs_sign_in: Set[str] = frozenset(),
           m365: Mapping[str, Registration] | None = None) -> list[ProfileHealth]:
    """Every configured profile's health, in configuration order."""
    paused, failed_checks, dns, m365 = paused or {}, failed_checks or {}, dns or {}, m365 or {}
    return [assess_profile(profile, stats.get(name), now=now, is_default=name == config.default_profile,
                           delivery_enabled=config.delivery.enabled, paused=paused.get(name),
                           failed_check=failed_checks.get(name), dns=dns.get(sender_domain(profile)),
                           needs_sign_in=name in needs_sign_in, m365=m365.get(name))
            for name, profile in config.profiles.items()]


def _m365_registrations() -> dict[str, Registration]:
    # imported here, on the worker thread, and only when a record exists (as the certificate renewal does): the
    # m365 package brings msal and the OAuth code (~150 ms, first time)
    if not has_m365_records():
        return {}
    from wizard.services.m365.record import readable_registrations

    return readable_registrations()


async def load_health(config: Config, outbox: Outbox, *, failed_checks: Mapping[str, Diagnosis] | None = None,
                      dns_store: DnsVerdictStore | None = None, now: float | None = None,
                      needs_sign_in: Set[str] = frozenset()) -> list[ProfileHealth]:
    """Read the outbox (stats, paused profiles), the DNS verdicts and the Microsoft 365 records off the event loop,
    then assess."""
    stats = await asyncio.to_thread(read_profile_stats, outbox.path)
    paused = await outbox.run_async(outbox.paused_profiles)
    verdicts = await asyncio.to_thread((dns_store or DnsVerdictStore()).load)
    registrations = await asyncio.to_thread(_m365_registrations)
    return assess(config, stats, now=time.time() if now is None else now, paused=paused,
                  failed_checks=failed_checks, dns=verdicts, needs_sign_in=needs_sign_in, m365=registrations)


# Mail in these states waits for its profile; once the profile is deleted nothing will ever send it.
_WAITING_STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.HELD)


@dataclass(frozen=True)
class OrphanedMail:
    """Messages queued or held for a profile that is no longer configured: the sender never picks them up."""

    profile: str
    count: int

    def advice(self) -> str:
        return (f"{plural(self.count, 'message')} of the deleted profile {self.profile!r} will not be sent: "
                f"re-create the profile (then `mailwright queue release {self.profile}` for held mail), or delete "
                f"them with `mailwright queue delete --profile {self.profile}`.")

    def to_json(self) -> dict[str, object]:
        return {"profile": self.profile, "count": self.count}


def orphaned_mail(profiles: Set[str], stats: Mapping[str, ProfileStats]) -> list[OrphanedMail]:
    """Waiting mail per outbox profile missing from `profiles`, by profile name."""
    found = ((name, sum(s.counts.get(state, 0) for state in _WAITING_STATES)) for name, s in stats.items()
             if name not in profiles)
    return [OrphanedMail(name, count) for name, count in sorted(found) if count]


async def load_orphaned_mail(config: Config, outbox: Outbox) -> list[OrphanedMail]:
    stats = await asyncio.to_thread(read_profile_stats, outbox.path)
    return orphaned_mail(set(config.profiles), stats)


def worst_state(healths: Sequence[ProfileHealth]) -> HealthState:
    return max((h.state for h in healths), key=SEVERITY.__getitem__, default=HealthState.OK)


def sender_domain(profile: Profile) -> str:
    return profile.from_address.rpartition("@")[2].lower()


class DnsVerdictStore:
    """The last DNS health verdict per sender domain (no secrets), so the main window can show it later."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_home() / DNS_VERDICTS_FILE

    def load(self) -> dict[str, DnsVerdict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        verdicts: dict[str, DnsVerdict] = {}
        for domain, item in data.items() if isinstance(data, dict) else ():
            try:
                verdicts[domain] = DnsVerdict(domain, bool(item["ok"]), str(item["summary"]), float(item["checked_at"]))
            except (KeyError, TypeError, ValueError):
                continue
        return verdicts

    def record(self, verdict: DnsVerdict) -> None:
        verdicts = self.load()
        verdicts[verdict.domain] = verdict
        payload = {d: {"ok": v.ok, "summary": v.summary, "checked_at": v.checked_at} for d, v in verdicts.items()}
        tmp = self.path.with_suffix(".tmp")
        write_private_text(tmp, json.dumps(payload, indent=2))
        os.replace(tmp, self.path)


DELEGATED_AUTH = (AuthMode.OAUTH_INTERACTIVE, AuthMode.OAUTH_DEVICE)


@dataclass(frozen=True)
class SignInView:
    """What the overview says about an OAuth profile's tokens; `needs_sign_in` makes the profile a warning."""

    text: str
    needs_sign_in: bool = False


async def sign_in_view(profile: Profile, now: float | None = None) -> SignInView:
    """OAuth profiles: who is signed in and until when; empty for password profiles. Reads the token cache lazily."""
    if profile.auth is AuthMode.PASSWORD:
        return SignInView("")
    from wizard.services import oauth
    from wizard.services.oauth import token_store
    from wizard.services.secrets import KeyringUnavailableError

    if await asyncio.to_thread(token_store.modified_at, profile.name) is None:
        # No token cache at all: say so without building an msal app (that contacts the identity provider).
        status = oauth.TokenStatus(False)
    else:
        try:
            status = await oauth.status(profile)
        except KeyringUnavailableError:
            return SignInView("Sign-in status unknown: the keyring is locked or unavailable")
        except Exception as exc:  # a broken token cache or an unreachable identity provider
            return SignInView(f"Sign-in status unknown ({type(exc).__name__})")
    if not status.signed_in:
        if profile.auth in DELEGATED_AUTH:
            return SignInView("Not signed in", needs_sign_in=True)
        return SignInView("A token is fetched with the app's credentials when needed")
    current = time.time() if now is None else now
    parts = [f"Signed in as {status.account}" if status.account else "Signed in"]
    if status.expires_at is not None:
        if status.expires_at > current:
            parts.append(f"access token valid for {int((status.expires_at - current) // 60)} min")
        else:
            parts.append("access token expired")
        if status.has_refresh_token:
            parts.append("renewed automatically")
    parts.extend(status.warnings)
    return SignInView("; ".join(parts))
