"""Responsiveness: the longest Qt event-loop stall while the connection check, DNS health and autodetect run.

The app's own loop (QApplication + qasync, the app's main-thread garbage collector) runs a QTimer every
5 ms; a stall is how much later than 5 ms the next tick came. In that loop, one after the other (the
wizard's order):

- idle:       nothing but the timer (the baseline);
- autodetect: services/autodetect `detect` against a local DNS server (the tests' dnslib server,
              tests/dns/server.py): no MX, an HTTPS autoconfig server that has no document (404 after a
              real TLS handshake), then the EHLO probe of smtp.<domain>:587, mapped to the SMTP server below;
- check:      services/check.py `check_smtp` against a local aiosmtpd server with STARTTLS + AUTH
              (trustme certificate, the CA file as the profile's ca_file);
- dns:        services/dns_health `check_domain` (provider m365, DKIM selectors, submission TLS check
              against the same SMTP server) against the same DNS server;
- all:        the three at once.

The servers run in other threads, so only the client side is on the measured loop. The first round
imports each service the way the app does (FIRST_IMPORT) and sets up TLS contexts; later rounds are warm.
With --preload, every service (and anyio's asyncio backend) is first imported in a worker thread (a
"preload" row), as the app could do right after its first paint; with --freeze, gc.freeze() runs before
measuring, so the app's main-thread garbage collector (wizard/app.py) no longer scans the long-lived heap
in its full collections. Target: every stall <= 50 ms.

    .venv/bin/python benchmarks/responsiveness.py [--rounds 5] [--preload] [--freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import gc
import importlib
import logging
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Time the app as installed (from bytecode) even where PYTHONDONTWRITEBYTECODE=1: otherwise every first-use
# import in the first round would also compile its sources. The cache lives under build/ (git-ignored).
sys.dont_write_bytecode = False
sys.pycache_prefix = str(ROOT / "build" / "pycache")
# benchmarks/dns.py must not shadow dnspython's `dns` package: drop this folder from the path
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402
import trustme  # noqa: E402
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session  # noqa: E402
from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402

from tests.dns.server import dns_server  # noqa: E402
from tests.dns.zones import DKIM_2048  # noqa: E402
from tests.fixtures.https_server import LoopbackHttpsServer, serving  # noqa: E402
from tests.fixtures.smtp_servers import ClosingController, free_port  # noqa: E402
from wizard.app import MainThreadGarbageCollector, application  # noqa: E402

TICK_MS = 5
TARGET_MS = 50.0
USER, PASSWORD = "app@bench.test", "correct horse battery staple"
DOMAIN = "bench.test"  # the DNS health domain
DETECT_DOMAIN = "probe.bench.test"  # autodetect: no MX, no autoconfig document; the probe finds the server
ZONE = {
    DOMAIN: [("TXT", "v=spf1 include:spf.protection.outlook.com -all", 300), ("MX", "0 mx.bench.test", 300)],
    "spf.protection.outlook.com": [("TXT", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all", 300)],
    "mx.bench.test": [("A", "127.0.0.1", 300)],
    "_dmarc.bench.test": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test", 300)],
    "selector1._domainkey.bench.test": [("TXT", DKIM_2048, 300)],
    "selector2._domainkey.bench.test": [("TXT", DKIM_2048, 300)],
    DETECT_DOMAIN: [("TXT", "v=spf1 -all", 300)],
}


# --- servers (other threads) -----------------------------------------------------------------------

class _Sink:
    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        envelope.mail_from = address
        return "250 2.1.0 Sender OK"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    if isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode()):
        return AuthResult(success=True, auth_data=data)
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")


@contextmanager
def smtp_server(ca: trustme.CA) -> Iterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", f"smtp.{DETECT_DOMAIN}").configure_cert(context)
    port = free_port()
    controller = ClosingController(_Sink(), hostname="127.0.0.1", port=port, tls_context=context,
                                    authenticator=_authenticate, auth_require_tls=True, ready_timeout=5.0)
    controller.start()
    try:
        yield port
    finally:
        controller.stop(no_assert=True)


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def autoconfig_server(ca: trustme.CA) -> Iterator[int]:
    """HTTPS on loopback that answers 404 for every autoconfig URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(DETECT_DOMAIN, f"autoconfig.{DETECT_DOMAIN}").configure_cert(context)
    with serving(LoopbackHttpsServer(_NotFound, context), "autoconfig") as server:
        yield server.port


# --- the measuring loop ------------------------------------------------------------------------------

@dataclass
class StallMeter:
    """Ticks every TICK_MS on the Qt loop; `phase()` records the longest lateness of a tick while it runs."""

    clock: QElapsedTimer = field(default_factory=QElapsedTimer)
    timer: QTimer = field(default_factory=QTimer)
    last_ns: int = 0
    worst_ms: float = 0.0
    ticks: int = 0
    gc_started_ns: int = 0
    worst_gc_ms: float = 0.0  # the longest garbage collection in the phase: a stall that is nobody's call

    def on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self.gc_started_ns = time.perf_counter_ns()
        else:
            self.worst_gc_ms = max(self.worst_gc_ms, (time.perf_counter_ns() - self.gc_started_ns) / 1e6)

    def start(self) -> None:
        gc.callbacks.append(self.on_gc)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.clock.start()
        self.last_ns = self.clock.nsecsElapsed()
        self.timer.start()

    def tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.worst_ms = max(self.worst_ms, (now - self.last_ns) / 1e6 - TICK_MS)
        self.last_ns = now
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()
        gc.callbacks.remove(self.on_gc)

    async def phase(self, work: Callable[[], Awaitable[object]]) -> Phase:
        """The longest stall while `work` runs; a tick that was due during it counts too."""
        await asyncio.sleep(0.02)  # let the previous phase's tail (closing transports) go by
        self.worst_ms, self.worst_gc_ms, self.ticks = 0.0, 0.0, 0
        self.last_ns = self.clock.nsecsElapsed()
        started, cpu = time.perf_counter(), time.thread_time()
        await work()
        elapsed = time.perf_counter() - started
        await asyncio.sleep(2 * TICK_MS / 1000)  # the tick after the last blocking call shows its stall
        return Phase(self.worst_ms, elapsed, self.worst_gc_ms, (time.thread_time() - cpu) * 1000)


@dataclass(frozen=True)
class Phase:
    stall_ms: float
    wall_s: float
    gc_ms: float
    cpu_ms: float = 0.0  # CPU time of the loop's own thread: a stall without it is the machine's, not the app's


@dataclass
class Setup:
    nameserver: str
    smtp_port: int
    https_port: int
    ca_file: str


# How the app loads each service the first time when the warm-up after the first paint (wizard/app.py
# `warm_up`, modelled by --preload) has not done it yet, so the first round measures what the app does:
# the check with its page, in the loop, when Next first reaches it (wizard/pages/wizard.py builds pages on
# demand; wizard/pages/check.py imports it), dns_health and autodetect in a worker thread
# (wizard/pages/dns_page.py, wizard/pages/sender_address.py).
FIRST_IMPORT = {"check": ("loop", "wizard.services.check"), "dns": ("thread", "wizard.services.dns_health"),
                "autodetect": ("thread", "wizard.services.autodetect")}


async def load(operation: str) -> ModuleType:
    how, name = FIRST_IMPORT[operation]
    if how == "thread" and name not in sys.modules:
        return await asyncio.to_thread(importlib.import_module, name)
    return importlib.import_module(name)


def operations(setup: Setup) -> dict[str, Callable[[], Awaitable[object]]]:
    from wizard.services.model import Profile, Security
    from wizard.services.transports.base import PasswordCredential

    async def check() -> object:
        service = await load("check")
        profile = Profile(name="bench", host="127.0.0.1", port=setup.smtp_port, security=Security.STARTTLS,
                          ca_file=setup.ca_file, username=USER, from_address=USER, timeout_s=5.0)
        report = await service.check_smtp(profile, PasswordCredential(USER, PASSWORD))
        if not report.ok:
            raise RuntimeError(f"connection check failed: {report.diagnosis}")
        return report

    async def dns() -> object:
        service = await load("dns")
        report = await service.check_domain(DOMAIN, provider="m365", selectors=("selector1", "selector2"),
                                            nameserver=setup.nameserver, smtp_host="127.0.0.1",
                                            smtp_port=setup.smtp_port, timeout_s=5, ca_file=setup.ca_file)
        if report.check("spf").status.value != "pass":
            raise RuntimeError(f"DNS health: {report.check('spf')}")
        return report

    async def autodetect() -> object:
        service = await load("autodetect")
        nowhere = free_port()
        connect_to = {
            (DETECT_DOMAIN, 443): ("127.0.0.1", setup.https_port),
            (f"autoconfig.{DETECT_DOMAIN}", 443): ("127.0.0.1", setup.https_port),
            (f"smtp.{DETECT_DOMAIN}", 587): ("127.0.0.1", setup.smtp_port),
            (f"smtp.{DETECT_DOMAIN}", 465): ("127.0.0.1", nowhere),
            (f"mail.{DETECT_DOMAIN}", 587): ("127.0.0.1", nowhere),
            (f"mail.{DETECT_DOMAIN}", 465): ("127.0.0.1", nowhere),
        }
        detection = await service.detect(f"ann@{DETECT_DOMAIN}", nameserver=setup.nameserver, timeout_s=5.0,
                                 http_ca_file=setup.ca_file, smtp_ca_file=setup.ca_file, probe_delay_s=0.0,
                                 settle_s=0.2, connect_to=connect_to)
        if not detection.proposals:
            raise RuntimeError(f"autodetect found nothing: {detection}")
        return detection

    async def together() -> object:
        return await asyncio.gather(check(), dns(), autodetect())

    # the wizard's order: the sender page runs autodetect, the check page comes later, the DNS page last
    return {"autodetect": autodetect, "check": check, "dns": dns, "all": together}


# What the operations import on first use, beyond what the app imported at startup (autodetect's https_get
# brings anyio's asyncio backend along, which httpcore would otherwise import in the loop on first use).
SERVICE_MODULES = tuple(name for _how, name in FIRST_IMPORT.values())


async def measure(setup: Setup, rounds: int, preload: bool, freeze: bool) -> dict[str, list[Phase]]:
    meter = StallMeter()
    meter.start()

    async def idle() -> None:
        await asyncio.sleep(1.0)

    async def preload_in_thread() -> None:
        for name in SERVICE_MODULES:
            await asyncio.to_thread(importlib.import_module, name)

    results: dict[str, list[Phase]] = {"idle": []}
    if preload:
        results["preload"] = [await meter.phase(preload_in_thread)]
    if freeze:
        gc.collect()
        gc.freeze()  # what exists now lives as long as the app: later collections need not scan it
    ops = operations(setup)
    for _ in range(rounds):
        results["idle"].append(await meter.phase(idle))
        for name, work in ops.items():
            results.setdefault(name, []).append(await meter.phase(work))
    meter.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of idle, autodetect, check, dns, all")
    parser.add_argument("--preload", action="store_true",
                        help="first import the services in a worker thread (asyncio.to_thread), as the app could "
                             "after its first paint, instead of on first use in the loop")
    parser.add_argument("--freeze", action="store_true",
                        help="gc.freeze() before measuring (after --preload): full collections then skip the "
                             "objects that live as long as the app")
    parser.add_argument("--queued", type=int, default=0,
                        help="instead: open the main window and the outbox viewer on an outbox of N queued messages "
                             "that cannot be delivered (benchmarks/responsiveness_outbox.py)")
    parser.add_argument("--body-kb", type=int, default=4, help="with --queued: the size of each queued body")
    args = parser.parse_args()
    if args.queued:
        return outbox_viewer(args.queued, args.body_kb)

    compileall.compile_dir(ROOT / "wizard", quiet=1)  # an edited module must not be compiled inside a phase
    # aiosmtpd's own AUTH code reads its deprecated Session.login_data
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    ca = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="mailwright-responsiveness-") as tmp:
        ca_file = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        os.environ["MAILWRIGHT_HOME"] = str(Path(tmp) / "home")
        with dns_server(ZONE) as (nameserver, _resolver), smtp_server(ca) as smtp_port, \
                autoconfig_server(ca) as https_port:
            app = application()
            collector = MainThreadGarbageCollector(app)
            setup = Setup(nameserver, smtp_port, https_port, ca_file)
            try:
                results = qasync.run(measure(setup, args.rounds, args.preload, args.freeze))
            finally:
                collector.stop()

    worst_overall = 0.0
    idle_worst = max(phase.stall_ms for phase in results["idle"])
    print(f"event-loop stalls (tick every {TICK_MS} ms, lateness of the next tick), {args.rounds} rounds")
    print(f"{'':11} {'first round':>12} {'warm max':>9} {'warm median':>12} {'wall (warm)':>12} {'longest gc':>11}")
    for name, samples in results.items():
        first, warm = samples[0], samples[1:] or samples
        warm_stalls = sorted(phase.stall_ms for phase in warm)
        wall = statistics.median(phase.wall_s for phase in warm)
        gc_ms = max(phase.gc_ms for phase in samples)
        print(f"{name:11} {first.stall_ms:9.1f} ms {warm_stalls[-1]:6.1f} ms "
              f"{statistics.median(warm_stalls):9.1f} ms {wall * 1000:9.0f} ms {gc_ms:8.1f} ms")
        if name != "idle":
            worst_overall = max(worst_overall, first.stall_ms, warm_stalls[-1])
    verdict = "meets" if worst_overall <= TARGET_MS else "misses"
    print(f"longest stall overall: {worst_overall:.1f} ms vs idle baseline {idle_worst:.1f} ms "
          f"({verdict} the target <= {TARGET_MS:.0f} ms)")
    return 0 if worst_overall <= TARGET_MS else 1


def outbox_viewer(queued: int, body_kb: int) -> int:
    import importlib.util

    # loaded by path: putting benchmarks/ on sys.path would let benchmarks/dns.py shadow dnspython
    spec = importlib.util.spec_from_file_location("responsiveness_outbox", Path(__file__).with_name(
        "responsiveness_outbox.py"))
    assert spec is not None and spec.loader is not None
    viewer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(viewer)

    compileall.compile_dir(ROOT / "wizard", quiet=1)
    with tempfile.TemporaryDirectory(prefix="mailwright-outbox-viewer-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["MAILWRIGHT_HOME"] = str(home)
        viewer.prepare_home(home, free_port())  # nothing listens there: every attempt is refused
        fill_s = viewer.fill_in_child(home, queued, body_kb)
        print(f"filled {queued:,} queued messages of {body_kb} KB in {fill_s:.1f} s")
        app = application()
        app.setQuitOnLastWindowClosed(False)  # closing the windows at the end must not stop the loop early
        collector = MainThreadGarbageCollector(app)
        try:
            phases = qasync.run(viewer.measure(StallMeter(), home, collector))
        finally:
            collector.stop()
    idle = phases["idle"]
    print(f"idle     longest stall {idle.stall_ms:6.1f} ms  (wall {idle.wall_s:5.1f} s, loop thread CPU "
          f"{idle.cpu_ms:4.0f} ms; the baseline: nothing open)")
    worst = 0.0
    for name in ("open", "steady", "actions", "browse"):
        phase = phases[name]
        worst = max(worst, phase.stall_ms)
        print(f"{name:8} longest stall {phase.stall_ms:6.1f} ms  (wall {phase.wall_s:5.1f} s, loop thread CPU "
              f"{phase.cpu_ms:4.0f} ms, longest gc {phase.gc_ms:.1f} ms)")
    print(f"rows shown in the viewer: {phases['shown']}")
    print(f"longest stall: {worst:.0f} ms ({'meets' if worst <= TARGET_MS else 'misses'} the target <= "
          f"{TARGET_MS:.0f} ms, {queued:,} queued; idle baseline {idle.stall_ms:.0f} ms)")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
