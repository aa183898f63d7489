"""Journeys at scale: 100,000 contacts entering within a minute, then 100,000 timers due in the same
second, taken by two `autorelay worker` processes. Prints JSON: the entry rate, the rate and the
lag from the due time to the action (the wait passed, then the email queued) at p50 / p99 / max,
and the checks that no step was missed or passed twice and each contact got one email.

The contacts join a list whose journey is `wait 1 hour, send`: the entries go through the list
trigger (`journey_entry.joined`, in chunks of 1,000 as an import makes them); each run is moved to
its wait in-process; then every wait is made to end at one moment T (one UPDATE: the bench's only
shortcut) and the workers are started.

Usage: python bench/journeys.py [--contacts 100000] [--postgres URL --redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from send import _drop_schema, _new_schema  # noqa: E402

from autorelay_core.domain.callers import Caller  # noqa: E402
from autorelay_core.domain.contacts import Contact  # noqa: E402
from autorelay_core.domain.keys import KeyMode  # noqa: E402
from autorelay_core.usecases import manage_journeys  # noqa: E402
from autorelay_core.usecases.journey_entry import joined  # noqa: E402
from autorelay_core.usecases.journey_steps import advance_due  # noqa: E402
from autorelay_core.usecases.manage_contacts import create_list  # noqa: E402
from autorelay_core.usecases.manage_keys import create_project  # noqa: E402
from autorelay_core.usecases.manage_templates import TemplateInput, create_template  # noqa: E402
from composition.build import build  # noqa: E402
from composition.settings import Settings  # noqa: E402
from tests.backends import with_search_path  # noqa: E402

CHUNK = 1_000


class Quiet:
    """A queue that runs nothing: the setup moves runs itself, the workers do the rest."""

    def wake(self, eta: datetime | None = None) -> None:
        return None


async def prepare(env: dict[str, str], contacts: int) -> dict:
    services = build(Settings.from_env(env), queue=Quiet())
    deps = services.deps
    await services.migrate()
    project = await create_project(deps, f"bench-{uuid.uuid4().hex[:6]}")
    caller = Caller.system(project.id, KeyMode.TEST)  # test mode: the emails go to the test log
    people = await create_list(deps, caller, "Bench")
    template = await create_template(deps, caller, TemplateInput(name="t", subject="Hi {{ name }}", html="<p>Hi</p>"))
    definition = {
        "trigger": {"type": "list", "listId": people.id},
        "steps": [
            {"id": "timer", "type": "wait", "hours": 1},
            {"id": "mail", "type": "send", "templateId": template.id, "from": "Bench <bench@bench.test>"},
        ],
    }
    journey = await manage_journeys.create_journey(deps, caller, manage_journeys.JourneyInput("Bench", definition))
    await manage_journeys.enable_journey(deps, caller, journey.id)
    now = deps.clock.now()
    everyone = [
        Contact(deps.ids.new("con"), project.id, people.id, f"p{i}@example.com", now, f"P{i}") for i in range(contacts)
    ]
    stored = entering = 0.0
    for start in range(0, contacts, CHUNK):
        began = time.perf_counter()
        chunk = await deps.storage.contacts.add_many(everyone[start : start + CHUNK])
        between = time.perf_counter()
        await joined(deps, chunk)
        stored, entering = stored + between - began, entering + time.perf_counter() - between
    began = time.perf_counter()
    while await advance_due(deps, 500):
        pass
    arriving = time.perf_counter() - began
    await services.close_database()
    return {
        "journey": journey.id,
        "contacts_stored_s": round(stored, 1),
        "entries_s": round(entering, 1),
        "entries_per_s": round(contacts / entering),
        "arrivals_per_s": round(contacts / arriving),
    }


def set_due(env: dict[str, str], journey: str, at: datetime) -> None:
    """Every wait ends at `at`: 100,000 timers due in the same second."""
    if env.get("AUTORELAY_DATABASE_URL", "").startswith("postgresql"):
        import psycopg

        with psycopg.connect(env["AUTORELAY_DATABASE_URL"], autocommit=True) as conn:
            conn.execute("UPDATE journey_runs SET due_at = %s WHERE journey_id = %s", (at, journey))
        return
    import sqlite3

    with sqlite3.connect(Path(env["AUTORELAY_DATA_DIR"]) / "autorelay.db") as conn:
        conn.execute("UPDATE journey_runs SET due_at = ? WHERE journey_id = ?", (at.timestamp(), journey))


def query(env: dict[str, str], sql: str, args: tuple) -> list[tuple]:
    if env.get("AUTORELAY_DATABASE_URL", "").startswith("postgresql"):
        import psycopg

        with psycopg.connect(env["AUTORELAY_DATABASE_URL"]) as conn:
            return conn.execute(sql.replace("?", "%s"), args).fetchall()
    import sqlite3

    with sqlite3.connect(Path(env["AUTORELAY_DATA_DIR"]) / "autorelay.db", timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def moment(value: object) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)  # type: ignore[arg-type]


def lags(times: list[float], due: float) -> dict:
    ordered = sorted(t - due for t in times)
    return {
        "p50_s": round(statistics.median(ordered), 2),
        "p99_s": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_s": round(ordered[-1], 2),
    }


def run(env: dict[str, str], contacts: int, workers: int) -> dict:
    figures = asyncio.run(prepare(env, contacts))
    journey = figures["journey"]
    due = datetime.now(UTC) + timedelta(seconds=8)
    set_due(env, journey, due)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "composition.cli", "worker"],
            env=env,
            cwd=ROOT,
            stdout=(Path(env["AUTORELAY_DATA_DIR"]) / f"worker{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]
    try:
        deadline = time.monotonic() + 900
        while True:
            ((mailed,),) = query(
                env, "SELECT count(*) FROM journey_steps WHERE journey_id = ? AND step_id = 'mail'", (journey,)
            )
            if mailed >= contacts or time.monotonic() > deadline:
                break
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker exited: " + (Path(env["AUTORELAY_DATA_DIR"]) / "worker0.log").read_text())
            time.sleep(0.5)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
    steps = query(env, "SELECT step_id, at, email_id FROM journey_steps WHERE journey_id = ?", (journey,))
    timer = [moment(at) for step, at, _ in steps if step == "timer"]
    mail = [moment(at) for step, at, _ in steps if step == "mail"]
    ((runs, done),) = query(
        env,
        "SELECT count(*), count(*) FILTER (WHERE state = 'done') FROM journey_runs WHERE journey_id = ?",
        (journey,),
    )
    ((stored,),) = query(
        env,
        "SELECT count(*) FROM emails WHERE id IN (SELECT email_id FROM journey_steps"
        " WHERE journey_id = ? AND email_id IS NOT NULL)",
        (journey,),
    )
    people = len({to for (to,) in query(env, "SELECT first_to FROM emails WHERE test", ())})
    start = due.timestamp()
    return {
        **{k: v for k, v in figures.items() if k != "journey"},
        "workers": workers,
        "timers_due_at_once": len(timer),
        "timers_per_s": round(len(timer) / max(1e-9, max(timer) - start)),
        "wait_passed_lag": lags(timer, start),
        "email_queued_lag": lags(mail, start),
        "checks": {
            "runs": runs,
            "done": done,
            "timer_steps": len(timer),
            "mail_steps": len(mail),
            "emails": stored,
            "contacts_emailed": people,
            "missed": contacts - len(mail),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres")
    parser.add_argument("--redis")
    args = parser.parse_args()
    schema = _new_schema(args.postgres) if args.postgres else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")} | {
                "AUTORELAY_DATA_DIR": tmp,
                "AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2,
                "AUTORELAY_EMBEDDED_WORKERS": "0",
                "AUTORELAY_LOG_LEVEL": "WARNING",
                "AUTORELAY_MONTHLY_QUOTA": "100000000",
            }
            if args.postgres:
                env |= {
                    "AUTORELAY_DATABASE_URL": with_search_path(args.postgres, schema),
                    "AUTORELAY_REDIS_URL": args.redis or "redis://127.0.0.1:6379/14",
                    "AUTORELAY_QUEUE_NAME": f"journeys-{uuid.uuid4().hex[:8]}",
                }
            result = run(env, args.contacts, args.workers)
    finally:
        if schema:
            _drop_schema(args.postgres, schema)
    print(json.dumps({"backend": "postgres+redis" if args.postgres else "sqlite", **result}, indent=2))


if __name__ == "__main__":
    main()
