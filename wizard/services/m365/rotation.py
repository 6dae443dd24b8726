"""Renewing the app's certificate without an administrator (Graph addKey/removeKey with a proof of possession).

Graph: "An application does not need any specific permission to roll its own keys": the app signs in with its
current certificate, POSTs the new certificate to /applications/{id}/addKey with a proof JWT signed by the current
key (aud 00000002-0000-0000-c000-000000000000, iss the application's id, 10 minutes), proves the new key can sign
in (replication again), switches the profile to it, then removes the old key the same way. The new key is written
beside the old one (`.next`) and only replaces it once it works, so a failure leaves sending as it was.
Automatic: `rotate_due` renews every profile within 30 days of expiry (the app and `serve` call it daily).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import msal
import requests

from wizard.services import accounts
from wizard.services.config import ConfigStore, data_home
from wizard.services.diagnostics import Diagnosis
from wizard.services.m365 import keypair, record
from wizard.services.m365.diagnosis import M365Error
from wizard.services.m365.directory import Directory, DirectoryError
from wizard.services.m365.endpoints import Endpoints
from wizard.services.m365.probe import app_is_known
from wizard.services.m365.record import Registration
from wizard.services.m365.replication import ReplicationTimeoutError, WaitPolicy, wait_until_ready
from wizard.services.model import Profile
from wizard.services.oauth.errors import OAuthError
from wizard.services.oauth.microsoft import authority_for, http_session
from wizard.services.sender_lock import SenderLock

log = logging.getLogger(__name__)
StepCallback = Callable[[str], None]


def _endpoints(registration: Registration, profile: Profile) -> Endpoints:
    return Endpoints(registration.tenant_id, registration.authority, registration.graph_endpoint, profile.ca_file)


def _app_token(endpoints: Endpoints, client_id: str, pair: keypair.KeyPair) -> str:
    """A Graph token for the app itself, signed in with `pair` (blocking; a fresh msal app, nothing cached)."""
    from cryptography.hazmat.primitives import serialization

    profile = endpoints.profile()
    authority = authority_for(profile)
    options: dict[str, Any] = {"authority": authority.url, "http_client": http_session(profile)}
    if not authority.instance_discovery:
        options["instance_discovery"] = False
    key = pair.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()  # in memory only, for msal's signer
    certificate = pair.certificate.public_bytes(serialization.Encoding.PEM).decode()
    try:
        app = msal.ConfidentialClientApplication(client_id, client_credential={
            "private_key": key, "public_certificate": certificate}, **options)
        result: dict[str, Any] = app.acquire_token_for_client([f"{endpoints.graph_resource}/.default"])
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise M365Error("rotation_failed", detail=f"{type(exc).__name__}: {exc}") from None
    if "access_token" not in result:
        description = str(result.get("error_description", "")).split(" Trace ID:")[0]
        raise M365Error("rotation_failed", detail=f"The app could not sign in with its current certificate: "
                                                  f"{result.get('error')}: {description}")
    return str(result["access_token"])


async def _registration_with_certificate(name: str) -> Registration:
    """The profile's recorded set-up, if it has a certificate to renew (a delegated mode has none)."""
    registration = await asyncio.to_thread(record.load, name)
    if registration is None:
        raise M365Error("not_set_up", profile=name)
    if not registration.thumbprint:
        raise M365Error("rotation_failed", detail=f"Profile '{name}' signs in as its mailbox owner; it has no "
                                                  "certificate to renew.")
    return registration


async def rotate(name: str, *, months: int = keypair.DEFAULT_MONTHS, wait: WaitPolicy | None = None,
                 on_step: StepCallback | None = None, now: datetime.datetime | None = None) -> Registration:
    say = on_step or (lambda _text: None)
    registration = await _registration_with_certificate(name)
    profile = ConfigStore().load().profile(name)
    try:
        current = await asyncio.to_thread(keypair.load, name)
    except (OSError, ValueError) as exc:
        raise M365Error("rotation_failed", detail=f"The current key cannot be read: {exc}") from None
    now = now or datetime.datetime.now(datetime.UTC)
    if current.not_after <= now:
        raise M365Error("rotation_failed", detail=f"The current certificate expired on {current.not_after:%Y-%m-%d}, "
                                                  "so the app can no longer prove it owns its key.")
    endpoints = _endpoints(registration, profile)
    say("Making a new key and certificate on this computer…")
    fresh = await asyncio.to_thread(keypair.generate, registration.display_name, months)
    await asyncio.to_thread(keypair.save, name, fresh, ".next")
    say(f"Adding certificate {fresh.thumbprint} to the app (proof signed by the current key)…")
    token = await asyncio.to_thread(_app_token, endpoints, registration.app_id, current)
    try:
        async with Directory(endpoints, token) as directory:
            key_id = await directory.add_key(registration.application_id,
                                             fresh.key_credential(f"Mailwright {name}"),
                                             current.proof(registration.application_id))
    except DirectoryError as exc:
        await asyncio.to_thread(keypair.key_path(name, ".next").unlink, True)
        raise M365Error("rotation_failed", detail=f"{exc.step}: {exc.status} {exc.code}: {exc.message}") from None
    trial = replace(profile, certificate_path=str(keypair.key_path(name, ".next")))
    say("Waiting until the new certificate can sign in…")
    try:
        # Entra replicates a new key like a new app (AADSTS700027 for a while): the old key stays until the new
        # one has signed in.
        await wait_until_ready(lambda: app_is_known(trial), wait or WaitPolicy())
    except asyncio.CancelledError:
        # Stopped (the app quits, Cancel): this computer keeps using the old key; the unused new key on the app is
        # harmless and expires on its own (taking it back would need the network while being cancelled).
        keypair.key_path(name, ".next").unlink(missing_ok=True)
        raise
    except (ReplicationTimeoutError, OAuthError) as exc:
        reason = exc.reason if isinstance(exc, ReplicationTimeoutError) else exc.diagnosis.detail or exc.diagnosis.title
        withdrawn = await _withdraw(endpoints, registration, current, key_id)
        await asyncio.to_thread(keypair.key_path(name, ".next").unlink, True)
        raise M365Error("rotation_failed", detail=f"The new certificate was added but could not sign in ({reason}); "
                                                  f"the old one stays in use{withdrawn}.") from None
    await asyncio.to_thread(os.replace, keypair.key_path(name, ".next"), keypair.key_path(name))
    # Read again: the wait may have taken minutes, and the profile may have been edited meanwhile.
    latest = await asyncio.to_thread(lambda: ConfigStore().load().profile(name))
    switched = replace(latest, certificate_thumbprint=fresh.thumbprint)
    await asyncio.to_thread(accounts.save_profile, switched)
    stamp = now.isoformat(timespec="seconds")
    updated = registration.with_key(key_id, fresh.thumbprint, fresh.not_after.isoformat(), stamp)
    await asyncio.to_thread(record.save, updated)
    say(f"Switched to the new certificate (valid until {fresh.not_after:%Y-%m-%d}); removing the old one…")
    try:
        token = await asyncio.to_thread(_app_token, endpoints, registration.app_id, fresh)
        async with Directory(endpoints, token) as directory:
            await directory.remove_key(registration.application_id, registration.key_id,
                                       fresh.proof(registration.application_id))
    except (DirectoryError, M365Error) as exc:
        # Sending already uses the new key; the old one simply expires. Say so, do not fail the rotation.
        log.warning("m365 rotation: the old key of %s could not be removed: %s", name, exc)
        say(f"The old certificate could not be removed ({exc}); it expires on its own.")
    else:
        say("The old certificate was removed.")
    return updated


async def _withdraw(endpoints: Endpoints, registration: Registration, current: keypair.KeyPair, key_id: str) -> str:
    """Takes back a new key that never worked (proof signed by the current key), so the app is left as it was.
    Returns words to add to the failure ('' when it was taken back)."""
    try:
        token = await asyncio.to_thread(_app_token, endpoints, registration.app_id, current)
        async with Directory(endpoints, token) as directory:
            await directory.remove_key(registration.application_id, key_id, current.proof(registration.application_id))
    except (DirectoryError, M365Error) as exc:
        log.warning("m365 rotation: the unused new key of %s could not be removed: %s", registration.profile, exc)
        return f"; the unused new certificate could not be removed from the app ({exc}) and expires on its own"
    return ""


@dataclass(frozen=True)
class RotationOutcome:
    profile: str
    registration: Registration | None
    diagnosis: Diagnosis | None

    @property
    def ok(self) -> bool:
        return self.diagnosis is None


async def rotate_due(now: datetime.datetime | None = None, wait: WaitPolicy | None = None) -> list[RotationOutcome]:
    """Renews every recorded certificate within 30 days of expiry; never raises (outcomes say what happened).
    One process at a time (the app and `serve` may both run): the other finds the lock taken and skips."""
    lock = SenderLock(data_home() / "m365" / "renewal.lock")
    if not await asyncio.to_thread(lock.try_acquire):
        return []
    try:
        return await _rotate_due(now, wait)
    finally:
        lock.release()


async def renew(name: str, *, months: int = keypair.DEFAULT_MONTHS, wait: WaitPolicy | None = None,
                on_step: StepCallback | None = None, now: datetime.datetime | None = None) -> RotationOutcome:
    """A renewal someone asked for (`m365 rotate`, the main window's Fix…): `rotate`, its failure recorded in the
    profile's record exactly like an automatic one's. Raises M365Error only when there is nothing to renew (no
    set-up, no certificate) or another process is renewing right now."""
    await _registration_with_certificate(name)  # nothing to renew: said before any lock is taken
    lock = SenderLock(data_home() / "m365" / "renewal.lock")
    if not await asyncio.to_thread(lock.try_acquire):
        raise M365Error("rotation_failed", detail="Another Mailwright process (the app or serve) is renewing "
                                                  "certificates right now; try again in a few minutes.")
    try:
        outcome = await _rotate_one(name, months, wait, on_step, now)
    finally:
        lock.release()
    if outcome.diagnosis is not None:
        await asyncio.to_thread(_record_failure, name, outcome.diagnosis, now)
    return outcome


async def _rotate_one(name: str, months: int, wait: WaitPolicy | None, on_step: StepCallback | None,
                      now: datetime.datetime | None) -> RotationOutcome:
    try:
        renewed = await rotate(name, months=months, wait=wait, on_step=on_step, now=now)
    except M365Error as exc:
        log.warning("m365 rotation of %s failed: %s", name, exc.diagnosis.title)
        return RotationOutcome(name, None, exc.diagnosis)
    except OAuthError as exc:
        return RotationOutcome(name, None, exc.diagnosis)
    except (KeyError, OSError, ValueError) as exc:
        return RotationOutcome(name, None, M365Error("rotation_failed", detail=str(exc)).diagnosis)
    log.info("m365 rotation of %s: new certificate %s", name, renewed.thumbprint)
    return RotationOutcome(name, renewed, None)


def _record_failure(name: str, diagnosis: Diagnosis, now: datetime.datetime | None) -> None:
    """Keeps a failed renewal in the record, so the main window and the alerts say so (not only the log)."""
    try:
        registration = record.load(name)
        if registration is None:
            return
        stamp = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
        record.save(registration.with_renewal(record.Renewal(stamp, False, diagnosis.code, diagnosis.title,
                                                             diagnosis.explanation, diagnosis.fix,
                                                             diagnosis.detail)))
    except (OSError, ValueError) as exc:
        log.warning("m365 rotation: the failure of %s could not be recorded: %s", name, exc)


async def _rotate_due(now: datetime.datetime | None, wait: WaitPolicy | None) -> list[RotationOutcome]:
    outcomes = await _rotate_each(now, wait)
    for outcome in outcomes:
        if outcome.diagnosis is not None:
            await asyncio.to_thread(_record_failure, outcome.profile, outcome.diagnosis, now)
    return outcomes


async def _rotate_each(now: datetime.datetime | None, wait: WaitPolicy | None) -> list[RotationOutcome]:
    outcomes = []
    for registration in await asyncio.to_thread(record.all_registrations):
        if registration.rotation_due(now):
            outcomes.append(await _rotate_one(registration.profile, keypair.DEFAULT_MONTHS, wait, None, now))
    return outcomes
