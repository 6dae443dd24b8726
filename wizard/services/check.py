"""The step-by-step connection check: stops at the first failing step and says why.

resolve -> connect -> TLS -> EHLO -> AUTH -> sender accepted (MAIL FROM, then RSET/QUIT:
nothing is sent). Each step is reported as it starts and ends through `on_step`, so the
wizard can show progress and the CLI can print a line per step.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wizard.services.diagnostics import Diagnosis
from wizard.services.errors import DiagnosisCode, describe
from wizard.services.model import Profile, ProviderKind, Security
from wizard.services.secret_source import KEYRING, SecretSource
from wizard.services.transports.base import Credential, Scope, TokenCredential, TransportError
from wizard.services.transports.smtp import SmtpSettings, SmtpTransport, translate

if TYPE_CHECKING:
    from wizard.services.oauth import TokenService


class StepStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


STEP_TITLES = {
    "resolve": "Find the server (DNS)",
    "connect": "Connect",
    "tls": "Encrypt the connection (TLS)",
    "ehlo": "Greet the server (EHLO)",
    "auth": "Sign in (AUTH)",
    "sender": "Sender address accepted",
}
# Microsoft Graph's steps (graph_check.py), kept apart so SMTP step lists stay SMTP's.
GRAPH_STEP_TITLES = {
    "token": "Get an access token",
    "mailbox": "Reach the mailbox through Microsoft Graph",
    "permissions": "Permissions granted",
}


@dataclass(frozen=True)
class Step:
    name: str
    status: StepStatus
    detail: str = ""
    elapsed_ms: int = 0

    @property
    def title(self) -> str:
        return STEP_TITLES.get(self.name) or GRAPH_STEP_TITLES.get(self.name, self.name)

    @property
    def ok(self) -> bool:
        return self.status is StepStatus.PASSED

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "status": self.status.value, "detail": self.detail,
                "elapsed_ms": self.elapsed_ms}


@dataclass(frozen=True)
class CheckReport:
    steps: list[Step] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    capabilities: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.diagnosis is None and all(s.ok or s.status is StepStatus.SKIPPED for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": self.ok, "steps": [s.to_json() for s in self.steps],
                                   "capabilities": self.capabilities}
        if self.diagnosis is not None:
            payload["diagnosis"] = self.diagnosis.to_json()
        return payload


StepCallback = Callable[[Step], None]
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _port_answers(host: str, port: int, timeout_s: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def suggest_port(host: str, failed_port: int, timeout_s: float = 3.0) -> str:
    """When a port refuses, look whether the usual submission ports answer and say which."""
    candidates = [p for p in (587, 465) if p != failed_port]
    answers = await asyncio.gather(*(_port_answers(host, p, timeout_s) for p in candidates))
    working = [p for p, ok in zip(candidates, answers, strict=True) if ok]
    if not working:
        return ""
    port = working[0]
    mode = "STARTTLS" if port == 587 else "implicit TLS"
    return f" Port {port} answers on {host}: try {mode} on port {port}."


class StepRunner:
    """Runs named steps in order, reporting each as running, then passed or failed (with its duration)."""

    def __init__(self, on_step: StepCallback | None) -> None:
        self.on_step = on_step
        self.steps: list[Step] = []

    async def run(self, name: str, action: Callable[[], Awaitable[str]]) -> str:
        started = time.monotonic()
        self._emit(Step(name, StepStatus.RUNNING))
        try:
            detail = await action()
        except TransportError as exc:
            failed = Step(name, StepStatus.FAILED, describe(exc).title, int((time.monotonic() - started) * 1000))
            self._record(failed)
            raise
        done = Step(name, StepStatus.PASSED, detail, int((time.monotonic() - started) * 1000))
        self._record(done)
        return detail

    def _emit(self, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(step)

    def _record(self, step: Step) -> None:
        self.steps.append(step)
        self._emit(step)


async def check_smtp(profile: Profile, credential: Credential, *, on_step: StepCallback | None = None,
                     resolver: Resolver = resolve_host) -> CheckReport:
    """Run the SMTP steps against the profile's server; never raises for a server-side failure."""
    settings = SmtpSettings.from_profile(profile)
    runner = StepRunner(on_step)
    transport = SmtpTransport(settings, credential)
    capabilities: list[str] = []

    async def resolve() -> str:
        try:
            addresses = await asyncio.wait_for(resolver(settings.host, settings.port), settings.timeout_s)
        except socket.gaierror as exc:
            reason = exc.strerror or str(exc)
            raise TransportError(DiagnosisCode.DNS_FAILED, Scope.ACCOUNT, detail=reason,
                                 facts={"host": settings.host, "reason": reason}) from exc
        except TimeoutError as exc:
            reason = f"Resolving {settings.host} took longer than {settings.timeout_s:g} seconds."
            raise TransportError(DiagnosisCode.TIMEOUT, Scope.ACCOUNT, facts={"reason": reason}) from exc
        return ", ".join(addresses)

    async def with_port_suggestion(action: Callable[[], Awaitable[str]]) -> str:
        try:
            return await action()
        except TransportError as exc:
            if exc.code != DiagnosisCode.CONNECT_FAILED:
                raise
            suggestion = await suggest_port(settings.host, settings.port, min(3.0, settings.timeout_s))
            raise TransportError(DiagnosisCode.CONNECT_FAILED, exc.scope, stage=exc.stage, detail=exc.detail,
                                 facts={**exc.facts, "host": settings.host, "port": settings.port,
                                        "suggestion": suggestion}) from exc

    async def tcp_probe() -> str:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(settings.host, settings.port),
                                               settings.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise translate(exc, settings) from exc
        peer = writer.get_extra_info("peername")
        writer.close()
        await writer.wait_closed()
        return f"TCP connection to {peer[0]} port {peer[1]}" if peer else "connected"

    async def connect() -> str:
        if settings.security is Security.TLS:
            # Implicit TLS: prove TCP first, so a certificate problem is reported as the TLS step.
            return await with_port_suggestion(tcp_probe)
        return await with_port_suggestion(transport.connect)

    async def tls() -> str:
        if settings.security is Security.TLS:
            await transport.connect()
        return await transport.start_tls()

    async def ehlo() -> str:
        capabilities.extend(transport.capabilities())
        return ", ".join(capabilities) or "no extensions"

    async def auth() -> str:
        return await transport.authenticate()

    async def sender() -> str:
        return await transport.check_sender(profile.from_address)

    async def token() -> str:
        assert isinstance(credential, TokenCredential)
        await credential.token_source(False)
        return f"access token for {credential.username}"

    steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("resolve", resolve), ("connect", connect), ("tls", tls), ("ehlo", ehlo), ("auth", auth),
        ("sender", sender)]
    if isinstance(credential, TokenCredential):
        steps.insert(0, ("token", token))  # OAuth: a token problem is reported before any connection is made
    diagnosis: Diagnosis | None = None
    try:
        for name, action in steps:
            await runner.run(name, action)
    except TransportError as exc:
        diagnosis = describe(exc)
        done = {s.name for s in runner.steps}
        runner.steps.extend(Step(name, StepStatus.SKIPPED) for name, _ in steps if name not in done)
    finally:
        await transport.close()
    return CheckReport(runner.steps, diagnosis, capabilities)


def _failed_before_connecting(name: str, diagnosis: Diagnosis) -> CheckReport:
    return CheckReport([Step(name, StepStatus.FAILED, diagnosis.title)], diagnosis)


async def check_profile(profile: Profile, *, on_step: StepCallback | None = None,
                        secrets: SecretSource = KEYRING, tokens: TokenService | None = None) -> CheckReport:
    """The check of a profile: fetch its credential from `secrets` (the keyring for a saved profile, the wizard's
    draft for unsaved settings), then run the provider's steps. `tokens`: the running Mailwright's OAuth sessions
    (app_services.Services.tokens_for), else a session for this check only."""
    from wizard.services import accounts
    from wizard.services.secrets import KeyringUnavailableError

    try:
        credential = await accounts.credential_for(profile, secrets, tokens)
    except accounts.MissingSecretError as exc:
        return _failed_before_connecting("auth", describe(exc))
    except KeyringUnavailableError as exc:
        return _failed_before_connecting("auth", describe(TransportError(DiagnosisCode.KEYRING_UNAVAILABLE,
                                                                          Scope.ACCOUNT, facts={"reason": str(exc)})))
    except TransportError as exc:
        return _failed_before_connecting("token", describe(exc))
    if profile.provider is ProviderKind.GRAPH:
        from wizard.services.graph_check import check_graph

        return await check_graph(profile, credential, on_step=on_step)
    return await check_smtp(profile, credential, on_step=on_step)
