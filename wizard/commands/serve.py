"""`mailwright serve [--relay HOST:PORT] [--allow-remote]`: the headless background sender (+ loopback relay).

Headless on purpose: no Qt import, starts fast, and a SIGKILL at any moment loses nothing (the outbox
lease makes an interrupted send due again on the next start). One sender per outbox: when another
Mailwright (the app or a second `serve`) is delivering, `serve` exits with 1, or with `--wait` waits for
it to stop (the relay, if asked for, accepts mail meanwhile). It logs to the data home's logs/ (rotated) and
problems also to stderr, both through the secret-redacting filter (logs.serve_logging).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from wizard.commands.output import EXIT_FAILED, EXIT_OK, usage_error

if TYPE_CHECKING:
    from wizard.services.config import Config
    from wizard.services.metrics import MetricsServer
    from wizard.services.outbox import Outbox
    from wizard.services.sender import Sender

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the background sender (and optionally the loopback relay)")
    parser.add_argument("--relay", metavar="HOST:PORT", help="also accept mail over SMTP, e.g. 127.0.0.1:2525")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback relay address (e.g. 0.0.0.0:587); it then requires TLS "
                        "(relay.tls_certificate, relay.tls_key, relay.tls_mode) and AUTH by a user from "
                        "`mailwright relay user add NAME`, and refuses to start without them")
    parser.add_argument("--wait", action="store_true",
                        help="if another Mailwright is delivering this outbox, wait and take over when it stops "
                        "(default: exit with status 1)")
    parser.add_argument("--metrics", metavar="HOST:PORT",
                        help="serve Prometheus metrics at /metrics and a health check at /healthz, e.g. "
                        "127.0.0.1:9464 (a non-loopback address needs --allow-remote)")
    parser.add_argument("--poll-s", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.services.app_services import Services
    from wizard.services.config import data_home
    from wizard.services.idle_connections import KEEP_IDLE_S
    from wizard.services.logs import serve_logging
    from wizard.services.metrics import MeteredOutbox
    from wizard.services.outbox import OUTBOX_FILE
    from wizard.services.outbox_open import OPEN_WAIT_S, open_outbox
    from wizard.services.relay import is_loopback
    from wizard.services.relay_process import RelayProcess, RelaySpec, RelayStartError
    from wizard.services.sender import SenderBusyError
    from wizard.services.sender_state import SenderStatePublisher
    from wizard.services.settings import parse_host_port
    from wizard.services.systemd_notify import keep_watchdog_fed, notify

    try:
        relay_address = parse_host_port(args.relay) if args.relay else None
    except ValueError as exc:
        return usage_error(f"--relay: {exc}")
    metrics = args.metrics or _configured_metrics()  # --metrics, else [service] metrics
    try:
        metrics_address = parse_host_port(metrics) if metrics else None
    except ValueError as exc:
        return usage_error(f"--metrics: {exc}")
    if metrics_address and not args.allow_remote and not is_loopback(metrics_address[0]):
        return usage_error(f"--metrics {metrics}: metrics are served on loopback only unless --allow-remote "
                           "is given (they name your profiles and accounts' health).")

    async def serve() -> None:
        # The composition root of this process: the outbox, the OAuth sessions and Graph's limits live here.
        # Another program holding the outbox locked at start (a database browser, a backup): wait, saying so.
        # Its loop runs no window: results are committed on it when the write lock is free (commit_on_loop).
        services = await open_outbox(lambda: Services.open(outbox_class=MeteredOutbox if metrics_address else None,
                                                           commit_on_loop=True, open_wait_s=OPEN_WAIT_S),
                                     data_home() / OUTBOX_FILE, on_wait=lambda text: print(text, flush=True))
        outbox, load_config = services.outbox, services.load_config
        sender = services.sender(keep_idle_s=KEEP_IDLE_S)
        if not args.wait and not await sender.take_over():
            raise sender.lock.busy()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        relay = None
        metrics = None
        renewal = None
        publishing: asyncio.Task[None] | None = None
        running = asyncio.Event()
        watchdog = asyncio.create_task(keep_watchdog_fed(lambda: running.is_set() and sender.lock.held))
        try:
            if metrics_address:
                metrics = _start_metrics(metrics_address, outbox, load_config, sender, running)
                print(f"metrics on http://{metrics_address[0]}:{metrics.port}/metrics", flush=True)
            if relay_address:
                spec = RelaySpec.for_outbox(*relay_address, outbox.path, allow_remote=args.allow_remote)
                metered = outbox if isinstance(outbox, MeteredOutbox) else None
                relay = RelayProcess(replace(spec, events=metered is not None), on_queued=sender.wake,
                                     on_event=metered.relay_event if metered is not None else None)
                await relay.start()
                print(f"relay listening on {relay_address[0]}:{relay_address[1]}", flush=True)
                log.info("serve: relay listening on %s:%d", *relay_address)
            if not sender.lock.held:
                print(f"{sender.lock.busy()} Waiting for it to stop.", flush=True)
                if not await sender.wait_to_take_over(stop, args.poll_s):
                    return
            print("sender running", flush=True)
            from wizard.services.certificate_renewal import CertificateRenewal

            renewal = CertificateRenewal()  # Microsoft 365 app certificates renewed 30 days before they expire
            renewal.start()
            running.set()
            notify("READY=1", "STATUS=Delivering mail" + (f"; relay on {args.relay}" if relay_address else ""))
            log.info("serve: sender running (pid %d)", os.getpid())
            # What the sender meets, for `queue status` and the app's window (other processes): sender_state.py.
            publishing = asyncio.create_task(SenderStatePublisher(sender).run(stop))
            await sender.run(stop, poll_s=args.poll_s)
        finally:
            if publishing is not None:
                publishing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publishing  # removes this sender's state file
            running.clear()
            notify("STOPPING=1")
            watchdog.cancel()
            if metrics is not None:
                metrics.stop()
            if renewal is not None:
                await renewal.stop()
            sender.give_up()  # also when the relay could not start
            if relay is not None:
                await relay.stop()

    try:
        with serve_logging(stderr=sys.stderr):
            asyncio.run(serve())
    except RelayStartError as exc:
        if exc.config_error:
            return usage_error(str(exc))
        print(f"The relay could not listen on {args.relay}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SenderBusyError as exc:
        print(f"{exc} Not starting a second sender: stop it first, or use `mailwright serve --wait`.",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _configured_metrics() -> str:
    from wizard.services.config import ConfigStore

    try:
        return ConfigStore().load().service.metrics
    except (OSError, ValueError):  # a damaged config.toml: the sender reports it; metrics stay off
        return ""


def _start_metrics(address: tuple[str, int], outbox: Outbox, load_config: Callable[[], Config], sender: Sender,
                   running: asyncio.Event) -> MetricsServer:
    from wizard.services.metrics import MeteredOutbox, MetricsServer, build_registry
    from wizard.services.outbox_stats import write_probe

    assert isinstance(outbox, MeteredOutbox)

    def health() -> str:
        if not running.is_set() or not sender.lock.held:
            return "the sender is not running (starting, stopping, or another Mailwright holds this outbox)"
        return write_probe(outbox.path)

    server = MetricsServer(*address, build_registry(outbox, load_config), health)
    server.start()
    return server
