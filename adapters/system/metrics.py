"""Prometheus metrics (prometheus-client): counters and histograms the core and the HTTP layer
feed as things happen, and gauges read from the database at each scrape (the outbox's backlog and
the age of its oldest due email, the webhook backlog, running campaigns' progress).

Several processes (serve and workers): with AUTORELAY_METRICS_DIR set, every process writes its
counters there (prometheus-client's multiprocess mode) and `serve`'s /metrics adds them up; the
gauges come from the shared database, so any process's scrape is right.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class PrometheusMetrics:
    def __init__(self) -> None:
        self.shared = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self.registry = CollectorRegistry()
        made: dict[str, Any] = {"registry": None if self.shared else self.registry}
        self.accepted = Counter("autorelay_emails_accepted", "Emails accepted into the outbox", ["mode"], **made)
        self.finished = Counter(
            "autorelay_emails_finished", "Delivery attempts by outcome and mailer", ["outcome", "mailer"], **made
        )
        self.latency = Histogram(
            "autorelay_delivery_latency_seconds",
            "From accepted (or the scheduled time) to handed over to the mailer",
            buckets=LATENCY_BUCKETS,
            **made,
        )
        self.refused = Counter("autorelay_rate_limited", "Requests refused by a rate limit", ["endpoint"], **made)
        self.webhooks = Counter("autorelay_webhook_attempts", "Webhook posts by result", ["result"], **made)
        self.ignored = Counter(
            "autorelay_report_recipients_ignored",
            "Addresses a bounce or complaint report named that were not recipients of its email",
            **made,
        )
        self.requests = Counter(
            "autorelay_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            **made,
        )
        self.durations = Histogram(
            "autorelay_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=REQUEST_BUCKETS,
            **made,
        )

    # The core's Metrics port
    def email_accepted(self, *, test: bool, count: int = 1) -> None:
        self.accepted.labels("test" if test else "live").inc(count)

    def email_finished(self, outcome: str, *, mailer: str, latency: float | None = None) -> None:
        self.finished.labels(outcome, mailer).inc()
        if latency is not None:
            self.latency.observe(max(0.0, latency))

    def rate_limited(self, endpoint: str) -> None:
        self.refused.labels(endpoint).inc()

    def webhook_attempt(self, *, ok: bool) -> None:
        self.webhooks.labels("ok" if ok else "failed").inc()

    def report_ignored(self, count: int) -> None:
        self.ignored.inc(count)

    # The HTTP layer
    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.durations.labels(route).observe(seconds)

    async def render(self, deps: Any) -> bytes:
        if self.shared:
            counted = CollectorRegistry()
            counted.register(_BornFiles(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        else:
            counted = self.registry
        return generate_latest(counted) + (await _live(deps)).encode()


class _BornFiles(Collector):
    """prometheus-client's multiprocess collection, leaving out the files a process is creating.

    A process makes its file empty and then sizes it; a scrape that read it in between failed on
    the empty file (struct.error) and /metrics answered 500. A file under the 8 bytes of its header
    holds no value yet, so leaving it out loses nothing."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self):  # merge() returns the Metric list the registry asks for
        return MultiProcessCollector.merge(
            [name for name in glob.glob(os.path.join(self.path, "*.db")) if _size(name) >= 8], accumulate=True
        )


def _size(name: str) -> int:
    try:
        return os.path.getsize(name)
    except FileNotFoundError:  # a dead process's live gauge, removed since the glob
        return 0


async def _live(deps: Any) -> str:
    """Gauges read from the shared database at each scrape (written as text: in multiprocess mode
    prometheus-client would keep gauge values in per-process files, and these belong to no process)."""
    now = deps.clock.now()
    due, oldest = await deps.storage.outbox.backlog(now)
    lines = [
        _gauge("autorelay_outbox_due", "Emails due and waiting for a worker", due),
        _gauge(
            "autorelay_outbox_oldest_due_seconds",
            "How long the oldest due email has waited",
            (now - oldest).total_seconds() if oldest else 0,
        ),
        _gauge(
            "autorelay_webhook_backlog", "Webhook deliveries due and waiting", await deps.storage.webhooks.backlog(now)
        ),
    ]
    running = await deps.storage.campaigns.running()
    for name, text, value in (
        ("autorelay_campaign_recipients", "Recipients of each running campaign", lambda c: c.total),
        (
            "autorelay_campaign_handled",
            "Recipients handled (sent or failed) of each running campaign",
            lambda c: c.sent + c.failed,
        ),
    ):
        rows = [f'{name}{{campaign="{c.id}"}} {value(c)}' for c in running]
        lines.append("\n".join([f"# HELP {name} {text}", f"# TYPE {name} gauge", *rows]))
    return "\n".join(lines) + "\n"


def _gauge(name: str, text: str, value: float) -> str:
    return f"# HELP {name} {text}\n# TYPE {name} gauge\n{name} {float(value)}"
