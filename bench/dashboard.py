"""The dashboard at volume, on the embedded default (SQLite): prints JSON.

A project with 100,000 emails and a list of 100,000 contacts (stored through the storage adapter,
as sends and imports would store them); then p50 and p95 of the server's own time (its
Server-Timing header) for the log's first page, a deep page (a cursor in the middle), the log
filtered to test mode, to one recipient and to a day, one email's detail page, and the contacts
table's first page, a deep page, a search and a status filter, the log's search (one match, every
email), signed in as the project's owner.
Target: p95 <= 50 ms.

Usage: python bench/dashboard.py [--emails 100000] [--contacts 100000] [--samples 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from autorelay_core.domain.callers import Caller  # noqa: E402
from autorelay_core.domain.contacts import Contact, ContactStatus  # noqa: E402
from autorelay_core.domain.emails import Email, Event, EventType  # noqa: E402
from autorelay_core.domain.users import Role  # noqa: E402
from autorelay_core.usecases import manage_contacts, manage_keys, manage_users  # noqa: E402
from composition import Settings, build  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402

PASSWORD = "benchmark password"


async def fill(data_dir: Path, count: int, contacts: int) -> tuple[str, str, str]:
    """The project, its emails and a list of contacts; returns (an email id from the middle, the
    owner's email, the list's id)."""
    services = build(Settings.from_env(data_dir=data_dir))
    deps = services.deps
    await deps.storage.migrate()
    await manage_keys.bootstrap(deps)
    project = await manage_keys.find_project(deps, "default")
    owner = await manage_users.create_user(deps, "owner@bench.test", project.id, Role.OWNER)
    await manage_users.set_password(deps, await manage_users.sign_in_link_token(deps, owner), PASSWORD)
    now = deps.clock.now()
    middle = ""
    for start in range(0, count, 5_000):
        emails = [
            Email(
                id=deps.ids.new("em"),
                project_id=project.id,
                message_id=f"<bench-{i}@bench.test>",
                sender="Bench <news@bench.test>",
                to=(f"reader{i}@example.com",),
                subject=f"Bench email {i}",
                html=f"<p>Hello reader {i}</p>",
                text=None,
                created_at=now,
                test=i % 10 == 0,
            )
            for i in range(start, min(count, start + 5_000))
        ]
        await deps.storage.emails.add_many(emails, [Event(EventType.QUEUED, now)])
        if start <= count // 2 < start + 5_000:
            middle = emails[count // 2 - start].id
    readers = await manage_contacts.create_list(deps, Caller.system(project.id), "Readers")
    statuses = (ContactStatus.SUBSCRIBED,) * 8 + (ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED)
    for start in range(0, contacts, 5_000):
        batch = [
            Contact(
                id=deps.ids.new("con"),
                project_id=project.id,
                list_id=readers.id,
                email=f"reader{i}@example.com",
                created_at=now,
                name=f"Reader {i}",
                status=statuses[i % len(statuses)],
            )
            for i in range(start, min(contacts, start + 5_000))
        ]
        await deps.storage.contacts.add_many(batch)
    await deps.storage.close()
    return middle, owner.email, readers.id


def server_ms(client: httpx.Client, path: str, samples: int) -> dict[str, float]:
    timings = []
    for _ in range(samples):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        timings.append(float(re.search(r"dur=([\d.]+)", response.headers["server-timing"]).group(1)))
    timings.sort()
    return {"p50": round(statistics.median(timings), 2), "p95": round(timings[int(len(timings) * 0.95) - 1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp_name:
        data_dir = Path(tmp_name) / "data"
        started = time.perf_counter()
        middle, owner, readers = asyncio.run(fill(data_dir, args.emails, args.contacts))
        filled = time.perf_counter() - started
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")}
        env |= {
            "AUTORELAY_DATA_DIR": str(data_dir),
            "AUTORELAY_LOG_LEVEL": "WARNING",
            "AUTORELAY_EMBEDDED_WORKERS": "0",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "composition.cli", "serve", "--port", str(port)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=30) as client:
                signed = client.post("/app/sign-in", data={"email": owner, "password": PASSWORD})
                assert signed.status_code == 303, signed.text
                results = {
                    "log first page": server_ms(client, "/app/emails", args.samples),
                    "log deep page": server_ms(client, f"/app/emails?after={middle}", args.samples),
                    "log test mode": server_ms(client, "/app/emails?mode=test", args.samples),
                    "log by recipient": server_ms(
                        client, f"/app/emails?to=reader{args.emails // 2}@example.com", args.samples
                    ),
                    "log by day": server_ms(
                        client, f"/app/emails?from={time.strftime('%Y-%m-%d', time.gmtime())}", args.samples
                    ),
                    "log search, one email": server_ms(client, f"/app/emails?q=email+{args.emails // 2}", args.samples),
                    "log search, every email": server_ms(client, "/app/emails?q=bench", args.samples),
                    "email detail": server_ms(client, f"/app/emails/{middle}", args.samples),
                    "contacts first page": server_ms(client, f"/app/contacts/lists/{readers}", args.samples),
                    "contacts deep page": server_ms(
                        client, f"/app/contacts/lists/{readers}?page={args.contacts // 100}", args.samples
                    ),
                    "contacts search": server_ms(
                        client, f"/app/contacts/lists/{readers}?q=reader{args.contacts // 2}", args.samples
                    ),
                    "contacts unsubscribed": server_ms(
                        client, f"/app/contacts/lists/{readers}?status=unsubscribed", args.samples
                    ),
                    "contact lists": server_ms(client, "/app/contacts", args.samples),
                }
        finally:
            server.terminate()
            server.wait(20)
    print(
        json.dumps(
            {
                "emails": args.emails,
                "contacts": args.contacts,
                "fill_seconds": round(filled, 1),
                "server_ms": results,
                "target_p95_ms": 50,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
