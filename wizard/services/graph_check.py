"""The connection check for Microsoft Graph profiles: token -> mailbox -> permissions. Nothing is sent.

Which call proves "this app may send as this mailbox" without sending? Read endpoints do not:
`GET /users/{id}` needs User.Read.All and `GET /users/{id}/mailFolders/sentitems` needs Mail.Read(Basic),
permissions a least-privilege Mail.Send app does not and should not have, so they would fail on a
correctly configured app (or push the admin to grant more). Instead the check posts
`sendMail` with a message that has *no recipients*. Exchange evaluates the token, the Mail.Send grant
(Entra role or RBAC for Applications scope), the application access policy and the mailbox (licence,
REST enabled) before it looks at the message, and then refuses it with 400 ErrorInvalidRecipients:
that refusal is the proof, and a message without recipients cannot be delivered to anyone.

Permissions are read from the token's `roles` (app-only) or `scp` (delegated) claims, decoded without
verification and only for display. They are reported, not enforced: an RBAC for Applications grant
lives in Exchange and never appears in the token, so the mailbox probe is the authority.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wizard.services.check import CheckReport, Step, StepCallback, StepRunner, StepStatus
from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import DiagnosisCode, describe
from wizard.services.graph_guide import needed_permissions
from wizard.services.model import Profile
from wizard.services.transports.base import Credential, Scope, TokenCredential, TransportError
from wizard.services.transports.graph import SENT_ITEMS_NOTE, GraphSettings, GraphTransport

GRAPH_STEPS = ("token", "mailbox", "permissions")  # titles: check.GRAPH_STEP_TITLES


def decode_claims(token: str) -> dict[str, Any]:
    """The JWT payload, NOT verified (Graph verifies it); {} for an opaque token. For display only."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True)
class TokenPermissions:
    app_only: bool
    granted: tuple[str, ...]
    audience: str = ""
    account: str = ""
    expires_in_s: int | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any], now: float | None = None) -> TokenPermissions:
        roles = claims.get("roles")
        scopes = str(claims.get("scp", "")).split()
        granted = tuple(str(r) for r in roles) if isinstance(roles, list) else tuple(scopes)
        account = str(claims.get("upn") or claims.get("preferred_username") or claims.get("app_displayname")
                      or claims.get("appid") or "")
        exp = claims.get("exp")
        expires = int(exp - (now if now is not None else time.time())) if isinstance(exp, (int, float)) else None
        return cls(app_only="scp" not in claims, granted=granted, audience=str(claims.get("aud", "")),
                   account=account, expires_in_s=expires)

    def summary(self) -> list[str]:
        kind = "roles (application permissions)" if self.app_only else "scp (delegated permissions)"
        lines = [f"{kind}: {', '.join(self.granted) or 'none'}"]
        if self.audience:
            lines.append(f"audience: {self.audience}")
        if self.account:
            lines.append(f"account: {self.account}")
        return lines


def permission_verdict(permissions: TokenPermissions, needed: tuple[str, ...], probe_passed: bool) -> str:
    """What the admin should know about the token's permissions versus what sending needs."""
    missing = [p for p in needed if p not in permissions.granted and not (p == "Mail.Send" and probe_passed)]
    notes = [f"needed: {', '.join(needed)}"]
    if "Mail.Send" in needed and "Mail.Send" not in permissions.granted:
        notes.append("Mail.Send is not in the token but the mailbox accepted the app, so it is granted in Exchange "
                     "(RBAC for Applications), scoped to mailboxes" if probe_passed else "Mail.Send is missing")
    if "Mail.ReadWrite" in missing:
        notes.append("Mail.ReadWrite is missing: messages over 4 MB (large attachments) will be refused until it is "
                     "granted")
    if "Mail.Send.Shared" in missing:
        notes.append("Mail.Send.Shared is missing: sending as a shared mailbox will be refused")
    return "; ".join(notes)


async def check_graph(profile: Profile, credential: Credential, *, on_step: StepCallback | None = None,
                      large_messages: bool = True) -> CheckReport:
    """Run the Graph steps; never raises for a server-side failure. `large_messages`: Mail.ReadWrite is wanted."""
    runner = StepRunner(on_step)
    settings = GraphSettings.from_profile(profile)
    transport = GraphTransport(settings, credential)
    capabilities: list[str] = []
    state: dict[str, TokenPermissions] = {}

    async def token() -> str:
        if not isinstance(credential, TokenCredential):
            reason = "Microsoft Graph needs an OAuth sign-in (client secret, certificate or delegated consent)."
            raise TransportError(DiagnosisCode.INVALID_INPUT, Scope.ACCOUNT, detail=reason, facts={"reason": reason})
        permissions = TokenPermissions.from_claims(decode_claims(await credential.token_source(False)))
        state["permissions"] = permissions
        capabilities.extend(permissions.summary())
        kind = "app-only" if settings.app_only else "delegated"
        expiry = f", valid for {permissions.expires_in_s // 60} more minutes" if permissions.expires_in_s else ""
        return f"{kind} token for {permissions.account or credential.username}{expiry}"

    async def mailbox() -> str:
        return await transport.probe_mailbox()

    async def permissions() -> str:
        shared = (not settings.app_only and bool(state["permissions"].account)
                  and state["permissions"].account.lower() != settings.mailbox.lower())
        needed = needed_permissions(settings.app_only, large_messages, shared_mailbox=shared)
        verdict = permission_verdict(state["permissions"], needed, probe_passed=True)
        if not profile.save_to_sent_items:
            verdict += f". {SENT_ITEMS_NOTE}"
        return verdict

    steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("token", token), ("mailbox", mailbox), ("permissions", permissions)]
    diagnosis: Diagnosis | None = None
    try:
        for name, action in steps:
            await runner.run(name, action)
    except TransportError as exc:
        diagnosis = describe(exc)
        if "permissions" in state:
            verdict = permission_verdict(state["permissions"],
                                         needed_permissions(settings.app_only, large_messages), probe_passed=False)
            capabilities.append(verdict)
        done = {s.name for s in runner.steps}
        runner.steps.extend(Step(name, StepStatus.SKIPPED) for name, _ in steps if name not in done)
    finally:
        await transport.close()
    return CheckReport(runner.steps, diagnosis, capabilities)
