"""A campaign on the production profile (PostgreSQL + Redis) delivered by several `autorelay worker`
processes to Postfix's smtp-sink: prints JSON with the rate, each worker's share, and the checks
that every recipient got exactly one message:

- from the copies each worker kept of what the server accepted (one log per process: the shares),
  every email id once, none twice;
- from the database: one email per recipient, each `sent`, each with exactly one `sent` event.

Usage: python bench/fleet.py --postgres URL --redis URL [--recipients 100000] [--workers 2]
Needs `smtp-sink` (Debian: apt-get install postfix). Runs in a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from campaign import prepare, smtp_env, start_sink  # noqa: E402 - needs the path set above
from cpu import cpu_seconds, postgres_cpu  # noqa: E402
from send import _drop_schema, _new_schema  # noqa: E402

from tests.backends import with_search_path  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402


def sent(url: str, campaign: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM emails WHERE campaign_id = %s AND status = 'sent'", (campaign,)
        ).fetchone()[0]


def any_queued(url: str, campaign: str) -> bool:
    """Whether any email of the campaign waits still: an index probe, where counting what was sent
    (every 0.5 s, over 100,000 rows) cost the database a tenth of a core during the run it measured."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT EXISTS (SELECT 1 FROM emails WHERE campaign_id = %s AND status = 'queued')", (campaign,)
        ).fetchone()[0]


def database_checks(url: str, campaign: str) -> dict:
    with psycopg.connect(url) as conn:
        emails, recipients, sent_status = conn.execute(
            "SELECT count(*), count(DISTINCT first_to), count(*) FILTER (WHERE status = 'sent')"
            " FROM emails WHERE campaign_id = %s",
            (campaign,),
        ).fetchone()
        events = Counter(
            n
            for (n,) in conn.execute(
                "SELECT count(e.email_id) FROM emails m LEFT JOIN email_events e"
                " ON e.email_id = m.id AND e.type = 'sent' WHERE m.campaign_id = %s GROUP BY m.id",
                (campaign,),
            )
        )
    return {
        "emails": emails,
        "distinct_recipients": recipients,
        "status_sent": sent_status,
        "emails_by_sent_event_count": {str(k): v for k, v in sorted(events.items())},
    }


def kept_copies(data_dir: Path) -> dict[str, list[str]]:
    """Email ids per worker process, from each process's index of the copies it kept."""
    by_process: dict[str, list[str]] = {}
    for index in (data_dir / "messages").glob("*/*.idx"):
        ids = [line.split(" ")[0] for line in index.read_text().splitlines() if line]
        by_process.setdefault(index.stem.split("-")[0], []).extend(ids)
    return by_process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8, help="SMTP connections per worker")
    args = parser.parse_args()
    schema = _new_schema(args.postgres)
    url = with_search_path(args.postgres, schema)
    sink = start_sink(sink_port := free_port())
    workers: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            env = smtp_env(data_dir, sink_port, args.connections) | {
                "AUTORELAY_DATABASE_URL": url,
                "AUTORELAY_REDIS_URL": args.redis,
                "AUTORELAY_QUEUE_NAME": f"fleet-{uuid.uuid4().hex[:8]}",
            }
            prepared = time.perf_counter()
            campaign = prepare(env, free_port(), args.recipients)
            prepare_s = time.perf_counter() - prepared
            for n in range(args.workers):
                log = (data_dir / f"worker{n}.log").open("wb")
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "composition.cli", "worker"],
                        env=env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            started = time.perf_counter()
            while (first := sent(url, campaign)) == 0:
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a worker exited: " + (data_dir / "worker0.log").read_text()[-2000:])
                time.sleep(0.05)
            first_at = time.perf_counter()
            workers_cpu, database_cpu = sum(cpu_seconds(w.pid) for w in workers), postgres_cpu()
            while any_queued(url, campaign):
                if time.perf_counter() - started > 3600:
                    raise SystemExit(f"only {sent(url, campaign)} of {args.recipients} sent after an hour")
                time.sleep(0.2)
            seconds = time.perf_counter() - first_at
            spent = (sum(cpu_seconds(w.pid) for w in workers) - workers_cpu, postgres_cpu() - database_cpu)
            if (done := sent(url, campaign)) < args.recipients:
                raise SystemExit(f"{done} of {args.recipients} sent, none queued: see the workers' logs in {data_dir}")
            for worker in workers:
                worker.send_signal(signal.SIGINT)  # they flush their kept copies on the way out
            for worker in workers:
                worker.wait(60)
            copies = kept_copies(data_dir)
            every = Counter(i for ids in copies.values() for i in ids)
            checks = database_checks(url, campaign)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        sink.terminate()
        sink.wait(10)
        _drop_schema(args.postgres, schema)
    print(
        json.dumps(
            {
                "recipients": args.recipients,
                "workers": args.workers,
                "connections_per_worker": args.connections,
                "prepare_s": round(prepare_s, 1),
                "first_sent_after_start_s": round(first_at - started, 1),
                "messages_per_s": round((args.recipients - first) / seconds),
                "seconds": round(seconds, 1),
                # CPU per message after the first was sent: the workers', and PostgreSQL's (on this machine)
                "workers_cpu_us_per_message": round(spent[0] / (args.recipients - first) * 1e6),
                "postgres_cpu_us_per_message": round(spent[1] / (args.recipients - first) * 1e6),
                "shares": {pid: len(ids) for pid, ids in sorted(copies.items())},
                "kept_copies": sum(every.values()),
                "kept_distinct_ids": len(every),
                "kept_ids_seen_twice_or_more": sum(1 for n in every.values() if n > 1),
                "database": checks,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
