"""Prometheus metrics and a health check for `mailwright serve --metrics HOST:PORT`.

`/metrics` is read at scrape time from the outbox itself (counts per profile and state, the oldest queued
message, the last delivery) and from the profiles (secret and certificate expiry), so it is right after a
restart; the delivery counters count what this process recorded since it started, labelled with the outcome
and the diagnosis code. `/healthz` answers 200 when the sender holds the outbox and is running and the outbox
accepts a write, else 503 with the reason. Served from a thread: a scrape never waits for the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wizard.services.model import AuthMode
from wizard.services.outbox import Outbox, Outcome
from wizard.services.outbox_stats import oldest_waiting, read_profile_stats

if TYPE_CHECKING:
    from wizard.services.config import Config

HealthCheck = Callable[[], str]  # "" when healthy, else the reason


class MeteredOutbox(Outbox):
    """The outbox, counting every recorded delivery outcome (sent, failed, retried, held) by diagnosis code, and
    (`relay_event`) the relay child's connections and replies."""

    deliveries: Counter | None = None
    relay_connections: Counter | None = None
    relay_replies: Counter | None = None

    def relay_event(self, event: str) -> None:
        """An event the relay process sent: "connection" or "reply NNN"."""
        if event == "connection" and self.relay_connections is not None:
            self.relay_connections.inc()
        elif event.startswith("reply ") and event[6:].isdigit() and self.relay_replies is not None:
            self.relay_replies.labels(code=event[6:]).inc()

    def record(self, outcomes: Sequence[Outcome]) -> None:
        super().record(outcomes)
        if self.deliveries is not None:
            for outcome in outcomes:
                self.deliveries.labels(outcome=outcome.state.value, diagnosis=outcome.diagnosis_code or "none").inc()


class OutboxCollector(Collector):
    """Gauges read from the outbox file and the profiles at each scrape."""

    def __init__(self, outbox_path: Path, load_config: Callable[[], Config], clock: Callable[[], float]) -> None:
        self.outbox_path = outbox_path
        self.load_config = load_config
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        stats = read_profile_stats(self.outbox_path)
        messages = GaugeMetricFamily("mailwright_outbox_messages", "Messages in the outbox by profile and state",
                                     labels=["profile", "state"])
        last_sent = GaugeMetricFamily("mailwright_last_delivery_timestamp_seconds",
                                      "When the profile's newest sent message was delivered (Unix time)",
                                      labels=["profile"])
        for profile, item in sorted(stats.items()):
            for state, count in sorted(item.counts.items()):
                messages.add_metric([profile, state.value], count)
            if item.last_sent_at is not None:
                last_sent.add_metric([profile], item.last_sent_at)
        oldest = GaugeMetricFamily("mailwright_oldest_queued_age_seconds",
                                   "Age of the oldest message waiting to be sent, per profile", labels=["profile"])
        for profile, created in oldest_waiting(self.outbox_path):
            oldest.add_metric([profile], max(0.0, now - created))
        yield from (messages, last_sent, oldest, *self._expiries(now))

    def _expiries(self, now: float) -> Iterator[Metric]:
        secrets = GaugeMetricFamily("mailwright_client_secret_expiry_timestamp_seconds",
                                    "When the profile's client secret expires (Unix time)", labels=["profile"])
        certificates = GaugeMetricFamily("mailwright_certificate_expiry_timestamp_seconds",
                                         "When the profile's client certificate expires (Unix time)",
                                         labels=["profile"])
        try:
            profiles = self.load_config().profiles
        except (OSError, ValueError):
            profiles = {}
        for name, profile in sorted(profiles.items()):
            if profile.client_secret_expires:
                try:
                    expires = datetime.fromisoformat(profile.client_secret_expires)
                except ValueError:
                    pass
                else:
                    secrets.add_metric([name], (expires if expires.tzinfo else expires.replace(tzinfo=UTC))
                                       .timestamp())
            expiry = _certificate_expiry(profile.certificate_path)
            if expiry is not None:
                certificates.add_metric([name], expiry)
        tokens = GaugeMetricFamily("mailwright_token_expiry_timestamp_seconds",
                                   "When the profile's cached OAuth access token expires (Unix time); Mailwright "
                                   "refreshes it before then", labels=["profile"])
        for name, profile in sorted(profiles.items()):
            if profile.auth is not AuthMode.PASSWORD:
                expiry = _access_token_expiry(name)
                if expiry is not None:
                    tokens.add_metric([name], expiry)
        yield from (secrets, certificates, tokens)


def _access_token_expiry(profile: str) -> float | None:
    """The latest `expires_on` among the access tokens in the profile's msal cache (None: no cache or no token)."""
    import json

    from wizard.services.oauth import token_store

    try:
        blob = token_store.load_blob(profile)
        if blob is None:
            return None
        cache = json.loads(blob)
    except Exception:  # a metric must never break a scrape: no keyring, a Google blob, a damaged cache
        return None
    tokens = cache.get("AccessToken", {}) if isinstance(cache, dict) else {}
    expiries = [float(entry["expires_on"]) for entry in tokens.values()
                if isinstance(entry, dict) and str(entry.get("expires_on", "")).isdigit()]
    return max(expiries) if expiries else None


def _certificate_expiry(path: str) -> float | None:
    if not path or not path.lower().endswith((".pem", ".crt", ".cer")):
        return None
    try:
        from cryptography import x509

        certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return certificate.not_valid_after_utc.timestamp()


class MetricsServer:
    """`/metrics` and `/healthz` on HOST:PORT in a daemon thread."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: HealthCheck) -> None:
        metrics_app = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                reason = health()
                status = "200 OK" if not reason else "503 Service Unavailable"
                start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
                return [(reason or "ok").encode() + b"\n"]
            result: list[bytes] = metrics_app(environ, start_response)
            return result

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes every 15 s would flood the log."""

        self._server = make_server(host, port, app, handler_class=QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def build_registry(outbox: MeteredOutbox, load_config: Callable[[], Config],
                   clock: Callable[[], float] = time.time) -> CollectorRegistry:
    registry = CollectorRegistry()
    outbox.deliveries = Counter("mailwright_deliveries", "Delivery outcomes recorded by this process",
                                ["outcome", "diagnosis"], registry=registry)
    outbox.relay_connections = Counter("mailwright_relay_connections", "Connections the relay accepted",
                                       registry=registry)
    outbox.relay_replies = Counter("mailwright_relay_replies", "Replies the relay sent, by SMTP reply code",
                                   ["code"], registry=registry)
    registry.register(OutboxCollector(outbox.path, load_config, clock))
    return registry
