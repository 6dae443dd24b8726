"""Run the sources in parallel under one deadline and rank what they propose.

The catalogue answers at once; MX and autoconfig start together. The probe only matters where
nothing else matches, so it starts once MX and autoconfig have both come back empty, or after
`probe_delay_s` if they are still busy, and is cancelled as soon as another source finds the
provider. Once one source has found the provider, the others get `settle_s` more to confirm or
add to it; whatever is still running then is cancelled and reported as `SKIPPED`. Whatever is
still running at the overall deadline is cancelled and reported as `TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from wizard.services.autodetect.autoconfig import detect_autoconfig
from wizard.services.autodetect.catalogue import detect_by_catalogue, provider_for_smtp_host
from wizard.services.autodetect.model import (
    ConnectTo,
    Detection,
    Proposal,
    Source,
    SourceOutcome,
    SourceReport,
    SourceStatus,
    ranked,
)
from wizard.services.autodetect.mx import detect_by_mx
from wizard.services.autodetect.probe import detect_by_probe
from wizard.services.dns_health.resolver import parse_nameserver
from wizard.services.validation import InvalidInputError, reject_header_injection, validate_host

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0  # per probed endpoint; a submission server greets and answers EHLO within a second or two
_ORDER = (Source.CATALOGUE, Source.MX, Source.AUTOCONFIG, Source.PROBE)


def split_address(value: str) -> tuple[str, str]:
    """(address, domain). Lenient on purpose: only the domain matters here, and reserved test domains
    (example.test) must work with a local DNS server, which email-validator's full check refuses."""
    reject_header_injection("address", value)
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise InvalidInputError("address", "Enter an e-mail address, e.g. support@example.com.")
    domain = validate_host(domain, "address")
    if "." not in domain or ":" in domain or domain.replace(".", "").isdigit():  # no IP literals
        raise InvalidInputError("address", f"'{address}': the part after @ must be a domain name.")
    return f"{local}@{domain}", domain


async def detect(address: str, *, nameserver: str | None = None, timeout_s: float = 6.0,
                 http_ca_file: str | None = None, smtp_ca_file: str | None = None,
                 probe_ports: Sequence[int] = (587, 465), probe_delay_s: float | None = None,
                 settle_s: float = 1.5, connect_to: ConnectTo | None = None) -> Detection:
    """Propose how to send as `address`. `InvalidInputError` for a bad address or name server.

    `nameserver` is IP[:PORT] (as for `mailwright dns`); the CA files replace the trust store for
    autoconfig (HTTPS) and probe (SMTP) connections; `connect_to` maps (host, port) to the address
    to connect to instead (tests), with TLS still verified against the original host name.
    Once a source has found the provider, the others get `settle_s` more to confirm or add to it.
    """
    address, domain = split_address(address)
    if nameserver is not None:
        parse_nameserver(nameserver)  # bad input is a usage error now, not a failed source later
    if timeout_s <= 0:
        raise InvalidInputError("timeout", "The detection timeout must be positive.")
    run = _DetectionRun(address, domain, timeout_s=timeout_s, settle_s=settle_s,
                        probe_delay_s=timeout_s / 3 if probe_delay_s is None else probe_delay_s)
    connect_to = connect_to or {}
    run.start(Source.MX, detect_by_mx(address, domain, nameserver=nameserver, timeout_s=timeout_s))
    run.start(Source.AUTOCONFIG, detect_autoconfig(address, domain, ca_file=http_ca_file, timeout_s=timeout_s,
                                                   connect_to=connect_to, provider_for_host=provider_for_smtp_host))

    def probe() -> Coroutine[Any, Any, SourceOutcome]:
        return detect_by_probe(address, domain, ports=probe_ports, ca_file=smtp_ca_file, connect_to=connect_to,
                               timeout_s=max(0.1, min(PROBE_TIMEOUT_S, run.deadline - run.loop.time())))

    try:
        await run.until_done(probe)
    finally:
        await run.cancel_running()
    return run.detection()


class _DetectionRun:
    """The state of one detect() call: reports so far, proposals so far, sources still running."""

    def __init__(self, address: str, domain: str, *, timeout_s: float, settle_s: float, probe_delay_s: float) -> None:
        self.address, self.domain = address, domain
        self.loop = asyncio.get_running_loop()
        started = self.loop.time()
        self.timeout_s, self.settle_s = timeout_s, settle_s
        self.deadline = started + timeout_s
        self.probe_at = started + probe_delay_s
        self.found_at: float | None = None
        self.running: dict[asyncio.Task[SourceOutcome], Source] = {}
        self.reports: dict[Source, SourceReport] = {}
        self.proposals: list[Proposal] = []
        self._record(Source.CATALOGUE, detect_by_catalogue(address, domain))

    def start(self, source: Source, work: Coroutine[Any, Any, SourceOutcome]) -> None:
        self.running[asyncio.create_task(work, name=f"autodetect-{source.value}")] = source

    def _record(self, source: Source, outcome: SourceOutcome) -> None:
        self.reports[source] = outcome.report(source)
        self.proposals.extend(outcome.proposals)
        if self.found_at is None and outcome.proposals and source is not Source.PROBE:
            self.found_at = self.loop.time()

    @property
    def stop_at(self) -> float:
        return self.deadline if self.found_at is None else min(self.deadline, self.found_at + self.settle_s)

    async def _skip_probe(self) -> None:
        for task, source in list(self.running.items()):
            if source is Source.PROBE:
                del self.running[task]
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.reports[Source.PROBE] = SourceReport(Source.PROBE, SourceStatus.SKIPPED,
                                                  "Not needed: another source found the provider")

    async def until_done(self, probe: Callable[[], Coroutine[Any, Any, SourceOutcome]]) -> None:
        while True:
            probe_waiting = Source.PROBE not in self.reports and Source.PROBE not in self.running.values()
            if self.found_at is not None and Source.PROBE not in self.reports:
                await self._skip_probe()
            elif probe_waiting and (self.loop.time() >= self.probe_at or not self.running):
                self.start(Source.PROBE, probe())
                probe_waiting = False
            now = self.loop.time()
            if not self.running or now >= self.stop_at:
                return
            wake = min(self.stop_at, self.probe_at) if probe_waiting and self.probe_at > now else self.stop_at
            done, _ = await asyncio.wait(self.running, timeout=wake - now, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                source = self.running.pop(task)
                try:
                    outcome = task.result()
                except Exception as exc:
                    # A bug or an unforeseen library error in one source must not hide what the others found.
                    logger.exception("autodetect source %s failed", source.value)
                    self.reports[source] = SourceReport(source, SourceStatus.ERROR,
                                                        f"Unexpected error: {type(exc).__name__}: {exc}")
                else:
                    self._record(source, outcome)

    async def cancel_running(self) -> None:
        """Cancel what is still running and wait for it: no task outlives detect()."""
        for task in self.running:
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)

    def detection(self) -> Detection:
        settled = self.found_at is not None and self.loop.time() < self.deadline
        for source in (*self.running.values(), Source.PROBE):
            if settled:
                detail = f"Stopped waiting {self.settle_s:g} s after another source found the provider"
                self.reports.setdefault(source, SourceReport(source, SourceStatus.SKIPPED, detail))
            else:
                detail = f"No answer within the {self.timeout_s:g} s detection timeout"
                self.reports.setdefault(source, SourceReport(source, SourceStatus.TIMEOUT, detail))
        return Detection(address=self.address, domain=self.domain, proposals=ranked(self.proposals),
                         reports=tuple(self.reports[s] for s in _ORDER if s in self.reports))
