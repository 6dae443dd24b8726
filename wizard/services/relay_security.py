"""What a relay on a network address needs before it may listen: a TLS certificate and AUTH users from the config.

`[relay] tls_certificate`, `tls_key` (PEM; the key may be in the certificate file) and `tls_mode`
(`starttls`, port 587 style, or `implicit`, port 465 style) build the TLS context; `[relay] users` names
the accounts, whose passwords are only in the keyring (`mailwright relay user add NAME`). Anything
missing, unreadable or out of date raises `RelaySecurityError` naming the setting or command that fixes it.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from wizard.services.config import Config
from wizard.services.settings import RelaySettings

log = logging.getLogger(__name__)

# A certificate this close to its end still starts the relay, with a warning in the log.
EXPIRY_WARNING_DAYS = 30
MAX_TRACKED_ADDRESSES = 1024
ATTEMPT_TIMEOUT_S = 60.0  # an AUTH that started but never got a verdict (client gone) stops counting


class RelaySecurityError(Exception):
    """The settings a remote relay needs are missing or unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class RelayTls:
    context: ssl.SSLContext
    implicit: bool  # TLS from the first byte (port 465 style) rather than STARTTLS
    not_after: datetime.datetime


def load_relay_tls(settings: RelaySettings, *, now: datetime.datetime | None = None) -> RelayTls:
    """The server TLS context from `relay.tls_certificate` / `relay.tls_key`, refusing an expired certificate."""
    if not settings.tls_certificate:
        raise RelaySecurityError(
            "A relay on a network address needs a TLS certificate: set relay.tls_certificate (and relay.tls_key "
            "if the key is in its own file), e.g. `mailwright config set relay.tls_certificate /path/cert.pem`.")
    certificate = Path(settings.tls_certificate)
    key = Path(settings.tls_key) if settings.tls_key else None
    for setting, path in (("relay.tls_certificate", certificate), ("relay.tls_key", key)):
        if path is not None and not path.is_file():
            raise RelaySecurityError(f"{setting}: the file {path} does not exist.")
    not_after = _check_validity(certificate, now or datetime.datetime.now(datetime.UTC))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, key)
    except ssl.SSLError as exc:
        where = "relay.tls_key" if key is not None else "relay.tls_certificate (no relay.tls_key is set)"
        raise RelaySecurityError(
            f"The relay's certificate and private key do not load ({exc.reason or exc}): check {where} — it must "
            "be the unencrypted PEM private key that belongs to relay.tls_certificate.") from None
    except OSError as exc:
        raise RelaySecurityError(f"relay.tls_certificate / relay.tls_key could not be read: {exc.strerror}.") from None
    return RelayTls(context, settings.tls_mode == "implicit", not_after)


def _check_validity(path: Path, now: datetime.datetime) -> datetime.datetime:
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError):
        raise RelaySecurityError(f"relay.tls_certificate: {path} is not a PEM certificate "
                                 "(-----BEGIN CERTIFICATE-----).") from None
    if now > certificate.not_valid_after_utc:
        raise RelaySecurityError(
            f"relay.tls_certificate: the certificate in {path} expired on "
            f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; clients would refuse it. Renew it and set "
            "relay.tls_certificate to the new file.")
    if now < certificate.not_valid_before_utc:
        raise RelaySecurityError(
            f"relay.tls_certificate: the certificate in {path} is not valid before "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (check this computer's clock).")
    if certificate.not_valid_after_utc - now < datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        log.warning("The relay's certificate %s expires on %s UTC: renew it soon.", path,
                    f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M}")
    return certificate.not_valid_after_utc


class RelayAuthenticator:
    """aiosmtpd authenticator for the relay's users, with a brake on password guessing.

    aiosmtpd calls authenticators synchronously on the event loop, so the passwords are read from the keyring
    beforehand, in a thread: `refresh()` at start, and `before_auth()` (the handler's AUTH hook) again when
    `[relay] users` changed or the passwords are older than `password_ttl_s` (a keyring read costs about 16 ms
    per user), so `relay user add/remove` applies without a restart. After `free_failures` failed
    attempts from one address each further attempt waits `delay_s` more (up to `max_delay_s`); after
    `lockout_failures` within `window_s` the address gets 454 until the window passes.
    """

    def __init__(self, load_config: Callable[[], Config], *, free_failures: int = 4, delay_s: float = 1.0,
                 max_delay_s: float = 5.0, lockout_failures: int = 20, window_s: float = 900.0,
                 password_ttl_s: float = 30.0) -> None:
        self.load_config = load_config
        self.password_ttl_s = password_ttl_s
        self._loaded_users: tuple[str, ...] | None = None
        self._password_times: dict[str, float] = {}
        self._loaded_at = 0.0
        self.free_failures = free_failures
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self.lockout_failures = lockout_failures
        self.window_s = window_s
        self._passwords: dict[str, bytes] = {}
        self._failures: dict[str, deque[float]] = {}
        self._attempts: dict[str, deque[float]] = {}

    def refresh(self) -> list[str]:
        """Blocking (keyring): reload users and passwords; returns the configured users without a password."""
        from wizard.services.secrets import load_relay_password

        passwords: dict[str, bytes] = {}
        missing: list[str] = []
        config = self.load_config()
        users = config.relay.users
        for user in users:
            password = load_relay_password(user)
            if password:
                passwords[user] = password.encode("utf-8")
            else:
                missing.append(user)
        self._passwords = passwords
        self._loaded_users, self._loaded_at = users, time.monotonic()
        self._password_times = _password_times(config)
        return missing

    def refresh_if_stale(self) -> None:
        """Blocking: `refresh()` when the configured users changed or the passwords are older than the TTL."""
        stale = time.monotonic() - self._loaded_at > self.password_ttl_s
        config = self.load_config()
        if stale or config.relay.users != self._loaded_users or _password_times(config) != self._password_times:
            self.refresh()

    @property
    def users(self) -> list[str]:
        return sorted(self._passwords)

    def _recent_failures(self, peer: str) -> deque[float]:
        cutoff = time.monotonic() - self.window_s
        if len(self._failures) > MAX_TRACKED_ADDRESSES:  # many addresses guessing: forget the ones gone quiet
            self._failures = {p: f for p, f in self._failures.items() if f and f[-1] >= cutoff}
        failures = self._failures.setdefault(peer, deque())
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def _attempts_in_flight(self, peer: str) -> deque[float]:
        # Attempts that passed the brake and have no verdict yet; one abandoned mid-AUTH expires.
        attempts = self._attempts.setdefault(peer, deque())
        cutoff = time.monotonic() - ATTEMPT_TIMEOUT_S
        while attempts and attempts[0] < cutoff:
            attempts.popleft()
        return attempts

    async def before_auth(self, peer: str) -> str | None:
        """None to go on with the attempt, or the reply that refuses it."""
        attempts = self._attempts_in_flight(peer)
        # Attempts still in flight count as failures: otherwise parallel connections from one address would
        # all pass the brake before the first wrong password is counted.
        failures = len(self._recent_failures(peer)) + len(attempts)
        if failures >= self.lockout_failures:
            log.warning("Relay: AUTH from %s refused: %d failed attempts in the last %.0f s", peer, failures,
                        self.window_s)
            return "454 4.7.0 Too many failed authentication attempts; try again later"
        attempts.append(time.monotonic())
        if failures >= self.free_failures:
            await asyncio.sleep(min(self.delay_s * (failures - self.free_failures + 1), self.max_delay_s))
        from wizard.services.secrets import KeyringUnavailableError

        try:
            await asyncio.to_thread(self.refresh_if_stale)
        except KeyringUnavailableError as exc:
            self._finish_attempt(peer)
            log.error("Relay: cannot check passwords: %s", exc)
            return "454 4.7.0 Temporary authentication failure"
        return None

    def _finish_attempt(self, peer: str) -> None:
        attempts = self._attempts.get(peer)
        if attempts:
            attempts.popleft()
        if len(self._attempts) > MAX_TRACKED_ADDRESSES:
            self._attempts = {p: a for p, a in self._attempts.items() if a}

    def __call__(self, server: Any, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        peer = peer_host(session)
        self._finish_attempt(peer)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        expected = self._passwords.get(user)
        attributes = self.load_config().relay_users.get(user)
        if attributes is not None and not attributes.active:
            expected = None  # an inactive user is refused like a wrong password (535), without saying which
        # Compared even for an unknown user, so the reply time does not tell which user names exist.
        matches = hmac.compare_digest(expected if expected is not None else b"\0" * 32, auth_data.password)
        if expected is None or not matches:
            self._recent_failures(peer).append(time.monotonic())
            log.warning("Relay: failed AUTH %s for user %r from %s", mechanism, user, peer)
            return AuthResult(success=False, handled=False)
        self._failures.pop(peer, None)
        log.info("Relay: %s signed in from %s", user, peer)
        # Only the user name goes into the session: aiosmtpd logs the result (with auth_data) at debug level.
        return AuthResult(success=True, auth_data=user)


def _password_times(config: Config) -> dict[str, float]:
    return {name: user.password_set_at for name, user in config.relay_users.items()}


def peer_host(session: Session) -> str:
    """The client's address without the port (failures are counted per address, not per connection)."""
    peer: object = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


@dataclass(frozen=True)
class RelaySecurity:
    tls: RelayTls
    authenticator: RelayAuthenticator


async def loopback_authenticator(load_config: Callable[[], Config]) -> RelayAuthenticator:
    """The authenticator for a loopback relay with `relay.require_auth`; `RelaySecurityError` without users."""
    from wizard.services.secrets import KeyringUnavailableError

    authenticator = RelayAuthenticator(load_config)
    try:
        await asyncio.to_thread(authenticator.refresh)
    except KeyringUnavailableError as exc:
        raise RelaySecurityError(f"The relay users' passwords cannot be read: {exc}") from None
    if not authenticator.users:
        raise RelaySecurityError("relay.require_auth is on, but no relay user has a password: add one with "
                                 "`mailwright relay user add NAME` (or switch the sign-in off).")
    return authenticator


async def relay_security_from_config(load_config: Callable[[], Config]) -> RelaySecurity:
    """TLS and AUTH for a relay on a network address from `[relay]` and the keyring, or `RelaySecurityError`."""
    settings = load_config().relay
    tls = load_relay_tls(settings)
    if not settings.users:
        raise RelaySecurityError("A relay on a network address accepts mail only from signed-in users, and none "
                                 "is set up: add a user with `mailwright relay user add NAME`.")
    authenticator = RelayAuthenticator(load_config)
    from wizard.services.secrets import KeyringUnavailableError

    try:
        missing = await asyncio.to_thread(authenticator.refresh)
    except KeyringUnavailableError as exc:
        raise RelaySecurityError(f"The relay users' passwords cannot be read: {exc}") from None
    if not authenticator.users:
        raise RelaySecurityError(f"The keyring has no password for the relay user(s) {', '.join(missing)}: set one "
                                 "with `mailwright relay user add NAME`.")
    if missing:
        log.warning("Relay users without a password in the keyring cannot sign in: %s", ", ".join(missing))
    return RelaySecurity(tls, authenticator)

