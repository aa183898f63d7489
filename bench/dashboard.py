"""The dashboard's email log at volume, on the embedded default (SQLite): prints JSON.

A project with 100,000 emails (stored through the storage adapter, as sends would store them); then
p50 and p95 of the server's own time (its Server-Timing header) for the log's first page, a deep
page (a cursor in the middle), the log filtered to test mode, to one recipient and to a day, and
one email's detail page, signed
in as the project's owner. Target: p95 <= 50 ms.

Usage: python bench/dashboard.py [--emails 100000] [--samples 100]
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
from autorelay_core.domain.emails import Email, Event, EventType  # noqa: E402
from autorelay_core.domain.users import Role  # noqa: E402
from autorelay_core.usecases import manage_keys, manage_users  # noqa: E402
from composition import Settings, build  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402

PASSWORD = "benchmark password"


async def fill(data_dir: Path, count: int) -> tuple[str, str]:
    """The project and its emails; returns (an email id from the middle, the owner's email)."""
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
    await deps.storage.close()
    return middle, owner.email


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
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp_name:
        data_dir = Path(tmp_name) / "data"
        started = time.perf_counter()
        middle, owner = asyncio.run(fill(data_dir, args.emails))
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
                    "email detail": server_ms(client, f"/app/emails/{middle}", args.samples),
                }
        finally:
            server.terminate()
            server.wait(20)
    print(
        json.dumps(
            {"emails": args.emails, "fill_seconds": round(filled, 1), "server_ms": results, "target_p95_ms": 50},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
