"""POST /emails through uvicorn on the embedded default, beside a bare Starlette endpoint.

Prints JSON: requests/s and p50/p99 latency for both, at 32 connections (wrk), and the ratio.
Usage: python bench/send.py [--seconds 10] [--connections 32] [--postgres URL [--redis URL]] [--worker]
       [--accept-only] [--synchronous full|normal]

--synchronous: SQLite's durability (AUTORELAY_SQLITE_SYNCHRONOUS), full (the default: each 200 is on
the disk first) or normal, to measure what durability costs.

After the run it waits for the backlog to drain (every accepted email written by the log mailer)
and reports how long that took after the burst, and the accepted-to-written rate over the whole
time. With --worker, one `autorelay worker` process delivers beside `serve`.

With --postgres, AutoRelay runs on that database (in a fresh schema, dropped afterwards) instead of
SQLite; with --redis too, its queue and rate limits live in Redis: the production profile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
from cpu import children, cpu_seconds, postgres_cpu  # noqa: E402 - needs the path set above
from wrk import run_wrk  # noqa: E402

from tests.backends import with_search_path  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402

BODY = {
    "to": "you@example.com",
    "from": "AutoRelay <hello@bench.test>",
    "subject": "Hello from AutoRelay",
    "html": "<p>It works.</p>",
}


def wait_up(url: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def prepare(command: list[str], env: dict) -> None:
    """What an operator of a busy project would do: raise its send limit and verify its domain.
    Every policy still runs on every request (rate limit, idempotency check, account status, quota)."""
    cli = command[: command.index("serve")]
    for args in (["limits", "set", "POST /api/v1/emails", "100000000/min"], ["domains", "verify", "bench.test"]):
        subprocess.run([*cli, *args], env=env, check=True, capture_output=True)


def queued(base: str, key: str) -> int:
    response = httpx.get(
        f"{base}/api/v1/emails", params={"status": "queued", "limit": 1}, headers={"Authorization": key}
    )
    return response.json()["total"]


def measure(command: list[str], env: dict, port: int, auth: str, args: argparse.Namespace, log: Path) -> dict:
    """wrk against one server. For AutoRelay (no `auth` given: the printed live key is used) also
    how much was delivered during the run and how long the backlog took to drain afterwards:
    in-process deliveries yield to requests while the loop is busy, then catch up."""
    # BENCH_WRAP: a command to run AutoRelay's server under, e.g. "py-spy record --nonblocking
    # --format raw -o FILE --" for where its time goes.
    wrap = shlex.split(os.environ.get("BENCH_WRAP", "")) if not auth else []
    with log.open("w") as out:
        process = subprocess.Popen(
            [*wrap, *command], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    worker = None
    try:
        wait_up(f"{base}/healthz", process)
        time.sleep(0.5)
        key = auth or "Bearer " + re.search(r"live key: (ak_\w+)", log.read_text()).group(1)
        if not auth:
            prepare(command, env)
            if args.worker:
                cli = command[: command.index("serve")]
                with (log.parent / "worker.log").open("w") as out:
                    worker = subprocess.Popen([*cli, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"{base}/api/v1/emails"
        run_wrk(url, BODY, key, connections=args.connections, seconds=2)  # warm-up
        cpu, database = cpu_seconds(process.pid), postgres_cpu() if args.postgres else 0.0
        worker_cpu = cpu_seconds(worker.pid) if worker is not None else 0.0
        # serve's own delivery worker (AUTORELAY_DELIVERY_PROCESS), counted apart from serve
        own = children(process.pid) if not auth else []
        own_cpu = sum(cpu_seconds(pid) for pid in own)
        figures = run_wrk(url, BODY, key, connections=args.connections, seconds=args.seconds)
        # The server's CPU for each request it answered (with, inside `serve`, the deliveries it
        # made meanwhile), and PostgreSQL's when it runs on this machine too.
        answered = figures["requests_per_s"] * args.seconds
        figures["server_cpu_us_per_request"] = round((cpu_seconds(process.pid) - cpu) / answered * 1e6)
        if args.postgres and not auth:
            figures["postgres_cpu_us_per_request"] = round((postgres_cpu() - database) / answered * 1e6)
        if not auth:
            figures["queued_at_end"] = queued(base, key)
            if args.accept_only and worker is None:  # nothing delivers: there is no drain to wait for
                return figures
            started = time.monotonic()
            while queued(base, key) and time.monotonic() - started < 600:
                time.sleep(0.5)
            drained = time.monotonic() - started
            figures["backlog_drained_s"] = round(drained, 1)
            if own:
                spent = sum(cpu_seconds(pid) for pid in own) - own_cpu
                figures["delivery_process_cpu_us_per_email"] = round(spent / answered * 1e6)
            figures["accepted_to_written_per_s"] = round(answered / (args.seconds + drained))
            if worker is not None and args.accept_only:  # the worker delivered every one of them
                figures["worker_cpu_us_per_email"] = round((cpu_seconds(worker.pid) - worker_cpu) / answered * 1e6)
        return figures
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        os.killpg(process.pid, signal.SIGINT)  # the group (a wrapper may not pass it on), as Ctrl-C would
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="PostgreSQL URL to run on instead of SQLite")
    parser.add_argument("--redis", help="Redis URL for the queue and rate limits")
    parser.add_argument("--worker", action="store_true", help="one `autorelay worker` beside serve")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full", help="SQLite's durability")
    parser.add_argument(
        "--delivery-process",
        choices=("auto", "on", "off"),
        default="auto",
        help="AUTORELAY_DELIVERY_PROCESS: serve delivers in a worker process of its own (auto: on 2+ cores)",
    )
    parser.add_argument(
        "--accept-only",
        action="store_true",
        help="serve delivers nothing itself (AUTORELAY_EMBEDDED_WORKERS=0): with --worker, the CPU an email"
        " costs to accept and to deliver, apart; without, nothing is delivered (what accepting alone costs)",
    )
    args = parser.parse_args()
    schema = None
    try:
        _run(args, schema := _new_schema(args.postgres) if args.postgres else None)
    finally:
        if schema:
            _drop_schema(args.postgres, schema)


def _new_schema(url: str) -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _run(args: argparse.Namespace, schema: str | None) -> None:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")}
        env |= {
            "AUTORELAY_DATA_DIR": str(Path(tmp) / "data"),
            "AUTORELAY_LOG_LEVEL": "WARNING",
            "AUTORELAY_MONTHLY_QUOTA": "100000000",
            "AUTORELAY_SQLITE_SYNCHRONOUS": args.synchronous,
            "AUTORELAY_DELIVERY_PROCESS": args.delivery_process,
        }
        env["PYTHONPATH"] = str(root)
        # serve delivers in its threads, or in a worker process of its own (AUTORELAY_DELIVERY_PROCESS)
        inside = (
            "in-process consumer" if args.delivery_process == "off" else f"delivery process {args.delivery_process}"
        )
        profile = "embedded default (SQLite, in-process consumer)"
        if schema:
            env["AUTORELAY_DATABASE_URL"] = with_search_path(args.postgres, schema)
            env["AUTORELAY_SECRET_KEY"] = uuid.uuid4().hex * 2
            profile = "PostgreSQL, in-process consumer"
        if args.redis:
            env |= {"AUTORELAY_REDIS_URL": args.redis, "AUTORELAY_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}"}
            profile = profile.replace("in-process consumer", "Redis queue and limits, in-process consumer")
        if args.worker:
            profile = profile.replace("in-process consumer", "in-process consumer and one worker")
        if args.accept_only:
            env["AUTORELAY_EMBEDDED_WORKERS"] = "0"
            profile = profile.replace("in-process consumer and ", "").replace(", in-process consumer", "")
        profile = profile.replace("in-process consumer", inside)
        bare_port, app_port = free_port(), free_port()
        bare = measure(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--app-dir",
                str(root / "bench"),
            ],
            env,
            bare_port,
            "Bearer none",
            args,
            Path(tmp) / "bare.log",
        )
        autorelay = measure(
            [sys.executable, "-m", "composition.cli", "serve", "--port", str(app_port)],
            env,
            app_port,
            "",
            args,
            Path(tmp) / "autorelay.log",
        )
    print(
        json.dumps(
            {
                "benchmark": f"POST /api/v1/emails, {profile}, log mailer",
                "connections": args.connections,
                "seconds": args.seconds,
                "autorelay": autorelay,
                "bare_starlette": bare,
                "ratio": round(autorelay["requests_per_s"] / bare["requests_per_s"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
