"""GET /metrics from a real server: the counters move with sends and deliveries, a delivery that
fails over SMTP shows in the log line, the email's events and the metrics, and the page answers a
client at another address only with the token."""

from __future__ import annotations

import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import Server, free_port, wait_for

pytestmark = pytest.mark.e2e


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    page = httpx.get(f"{base}/metrics")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_gauges_follow_sends_and_deliveries(server, live):
    before = scrape(server.base)
    assert ("autorelay_outbox_due", ()) in before and ("autorelay_webhook_backlog", ()) in before
    ids = []
    for n in range(3):
        sent = live.post(
            "/emails", json={"to": f"m{n}@example.com", "from": "news@acme.test", "subject": "m", "html": "<p>m</p>"}
        )
        ids.append(sent.json()["id"])
    assert wait_for(lambda: all(live.get(f"/emails/{i}").json()["email"]["status"] == "sent" for i in ids), 15)
    after = scrape(server.base)
    assert (
        value(after, "autorelay_emails_accepted_total", mode="live")
        - value(before, "autorelay_emails_accepted_total", mode="live")
        == 3
    )
    assert (
        value(after, "autorelay_emails_finished_total", outcome="sent", mailer="log")
        - value(before, "autorelay_emails_finished_total", outcome="sent", mailer="log")
        >= 3
    )
    assert (
        value(after, "autorelay_delivery_latency_seconds_count")
        - value(before, "autorelay_delivery_latency_seconds_count")
        >= 3
    )
    route = {"route": "POST /api/v1/emails", "method": "POST", "status": "200"}
    assert (
        value(after, "autorelay_http_requests_total", **route) - value(before, "autorelay_http_requests_total", **route)
        == 3
    )
    assert value(after, "autorelay_http_request_duration_seconds_count", route="POST /api/v1/emails") >= 3


def test_another_address_needs_the_token(tmp_path):
    elsewhere = {"transport": httpx.HTTPTransport(local_address="127.0.0.2")}
    server = Server(tmp_path / "open", {"AUTORELAY_METRICS_ALLOW": "127.0.0.1"}).start(lift=False)
    try:
        with httpx.Client(**elsewhere) as http:
            refused = http.get(f"{server.base}/metrics")
        assert refused.status_code == 403 and "AUTORELAY_METRICS_TOKEN" in refused.text
        assert httpx.get(f"{server.base}/metrics").status_code == 200  # from 127.0.0.1
    finally:
        server.stop()
    server = Server(tmp_path / "token", {"AUTORELAY_METRICS_TOKEN": "scrape-me-please"}).start(lift=False)
    try:
        with httpx.Client(**elsewhere) as http:
            assert http.get(f"{server.base}/metrics").status_code == 401
            wrong = http.get(f"{server.base}/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            right = http.get(f"{server.base}/metrics", headers={"Authorization": "Bearer scrape-me-please"})
            assert right.status_code == 200 and "autorelay_outbox_due" in right.text
        assert httpx.get(f"{server.base}/metrics").status_code == 401, "with a token, loopback needs it too"
    finally:
        server.stop()


def test_a_delivery_failure_over_smtp_shows_in_the_log_the_events_and_the_metrics(tmp_path):
    down = free_port()  # nothing listens here: the SMTP server is down
    settings = {
        "AUTORELAY_MAILER": "smtp",
        "AUTORELAY_SMTP_HOST": "127.0.0.1",
        "AUTORELAY_SMTP_PORT": str(down),
        "AUTORELAY_SMTP_SECURITY": "none",
        "AUTORELAY_LOG_LEVEL": "WARNING",
    }
    server = Server(tmp_path / "down", settings).start()
    try:
        with server.client(server.keys["live"]) as api:
            sent = api.post(
                "/emails", json={"to": "a@example.com", "from": "news@acme.test", "subject": "s", "html": "<p>s</p>"}
            )
            email_id = sent.json()["id"]

            def deferred():
                events = api.get(f"/emails/{email_id}").json()["events"]
                return [e for e in events if e["type"] == "deferred"]

            found = wait_for(deferred, 15)
            assert found, api.get(f"/emails/{email_id}").json()
            assert found[0]["reason"] and found[0]["nextAttempt"]
            assert api.get(f"/emails/{email_id}").json()["email"]["status"] == "queued"
        line = wait_for(
            lambda: next((ln for ln in server.log.read_text().splitlines() if email_id in ln and "failed" in ln), None),
            5,
        )
        assert line and "through the smtp mailer" in line and "next attempt at" in line
        samples = scrape(server.base)
        assert value(samples, "autorelay_emails_finished_total", outcome="deferred", mailer="smtp") >= 1
        # The first start prints the keys once (to the operator); no log record carries one, nor a body.
        records = [
            ln
            for ln in server.log.read_text().splitlines()
            if re.match(r"\d{4}-\d\d-\d\d .* (INFO|WARNING|ERROR) ", ln)
        ]
        assert records and not [ln for ln in records if server.keys["live"] in ln or "<p>s</p>" in ln]
    finally:
        server.stop()


def test_a_workers_deliveries_count_in_the_servers_metrics(tmp_path):
    """serve takes the sends, a separate worker delivers them; with one AUTORELAY_METRICS_DIR the
    worker's counters show in serve's /metrics (prometheus-client's multiprocess mode)."""
    from tests.e2e.server import Worker

    shared = {"AUTORELAY_EMBEDDED_WORKERS": "0", "AUTORELAY_METRICS_DIR": str(tmp_path / "metrics")}
    server = Server(tmp_path / "split", shared).start()
    worker = Worker(tmp_path / "split", shared).start()
    try:
        with server.client(server.keys["live"]) as api:
            ids = [
                api.post(
                    "/emails",
                    json={"to": f"w{n}@example.com", "from": "news@acme.test", "subject": "w", "html": "<p>w</p>"},
                ).json()["id"]
                for n in range(4)
            ]
            assert wait_for(lambda: all(api.get(f"/emails/{i}").json()["email"]["status"] == "sent" for i in ids), 20)
        # A process starting up makes its file empty before sizing it; a scrape in between answered 500.
        (tmp_path / "metrics" / "counter_99999.db").touch()
        samples = scrape(server.base)
        assert value(samples, "autorelay_emails_accepted_total", mode="live") == 4  # counted by serve
        assert value(samples, "autorelay_emails_finished_total", outcome="sent", mailer="log") == 4  # by the worker
    finally:
        worker.stop()
        server.stop()
