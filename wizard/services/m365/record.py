"""What Mailwright created in the tenant for a profile, kept beside the profile (no secrets, 0600 JSON).

`<data home>/m365/<profile>.json`: tenant, the application's and service principal's object ids, appId, the
grants, the certificate's key id / thumbprint / expiry. `show`, `rotate` and `teardown` read it; the wizard
and `m365 show` display it.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from wizard.services.config import data_home, profile_file
from wizard.services.home import M365_FOLDER

log = logging.getLogger(__name__)

ROTATE_BEFORE_DAYS = 30


@dataclass(frozen=True)
class Renewal:
    """The last automatic renewal's outcome: done, or failed with the diagnosis's words (no secrets in them)."""

    at: str  # ISO 8601 UTC
    ok: bool
    code: str = ""
    title: str = ""
    explanation: str = ""
    fix: str = ""
    detail: str = ""

    @property
    def when(self) -> datetime.datetime:
        return datetime.datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class Grant:
    permission: str  # "Microsoft Graph Mail.Send (application)"
    id: str  # appRoleAssignment id or oauth2PermissionGrant id


@dataclass(frozen=True)
class Registration:
    profile: str
    mode: str
    tenant_id: str
    display_name: str
    application_id: str  # object id (Graph /applications/{id})
    app_id: str  # the client id
    service_principal_id: str
    sender: str
    authority: str = ""
    graph_endpoint: str = ""
    grants: tuple[Grant, ...] = ()
    key_id: str = ""
    thumbprint: str = ""
    not_after: str = ""  # ISO 8601 UTC; '' for delegated modes (no certificate)
    created_at: str = ""
    rotated_at: str = ""
    exchange_script: str = ""
    pending: tuple[str, ...] = field(default_factory=tuple)  # steps still to do, in words
    renewal: Renewal | None = None  # the last renewal's outcome (None: never renewed)

    @property
    def expires(self) -> datetime.datetime | None:
        return datetime.datetime.fromisoformat(self.not_after) if self.not_after else None

    def rotation_due(self, now: datetime.datetime | None = None) -> bool:
        expires = self.expires
        if expires is None:
            return False
        now = now or datetime.datetime.now(datetime.UTC)
        return expires - now <= datetime.timedelta(days=ROTATE_BEFORE_DAYS)

    def with_key(self, key_id: str, thumbprint: str, not_after: str, rotated_at: str) -> Registration:
        return replace(self, key_id=key_id, thumbprint=thumbprint, not_after=not_after, rotated_at=rotated_at,
                       renewal=Renewal(rotated_at, True))

    def with_renewal(self, renewal: Renewal) -> Registration:
        return replace(self, renewal=renewal)

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["grants"] = [asdict(g) for g in self.grants]
        payload["pending"] = list(self.pending)
        return payload

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Registration:
        values = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        values["grants"] = tuple(Grant(**g) for g in payload.get("grants", []))
        values["pending"] = tuple(payload.get("pending", []))
        renewal = payload.get("renewal")
        values["renewal"] = Renewal(**renewal) if isinstance(renewal, dict) else None
        return cls(**values)


def record_path(profile: str) -> Path:
    return profile_file(M365_FOLDER, profile, ".json")  # a valid name, resolved inside the data home


def save(registration: Registration) -> None:
    path = record_path(registration.profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(registration.to_json(), file, indent=2)
    os.replace(tmp, path)


def load(profile: str) -> Registration | None:
    path = record_path(profile)
    try:
        return Registration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from exc


def delete(profile: str) -> bool:
    path = record_path(profile)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def readable_registrations() -> dict[str, Registration]:
    """Every record that can be read, by profile; a broken file is logged and left out (for the overview)."""
    folder = data_home() / M365_FOLDER
    found: dict[str, Registration] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            registration = load(path.stem)
        except ValueError as exc:
            log.warning("%s", exc)
            continue
        if registration is not None:
            found[registration.profile] = registration
    return found


def all_registrations() -> list[Registration]:
    folder = data_home() / M365_FOLDER
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        registration = load(path.stem)
        if registration is not None:
            found.append(registration)
    return found
