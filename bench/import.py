"""Contacts at volume, on the embedded default (SQLite): prints JSON.

- seconds to import 10,000 contacts through POST /contacts/import, beside a raw sqlite-utils
  `insert_all` of the same rows in the same run (target: ratio <= 3);
- p50 latency of GET /contacts page 1 and page 2,000 (pageSize 50) of a 100,000-contact list
  (target: the deep page within 2x of the first).

Usage: python bench/import.py [--samples 50]
"""

from __future__ import annotations

import argparse
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
import sqlite_utils

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from tests.e2e.server import free_port  # noqa: E402

ROWS = 10_000


def rows(start: int) -> list[dict]:
    return [{"email": f"user{i}@example.com", "name": f"User {i}"} for i in range(start, start + ROWS)]


def raw_insert_seconds(tmp: Path) -> float:
    db = sqlite_utils.Database(tmp / "raw.db")
    data = rows(0)
    started = time.perf_counter()
    db["contacts"].insert_all(data)
    return time.perf_counter() - started


def p50_ms(client: httpx.Client, params: dict, samples: int, path: str = "/contacts") -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(path, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return round(statistics.median(timings), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")}
        env |= {"AUTORELAY_DATA_DIR": str(tmp / "data"), "AUTORELAY_LOG_LEVEL": "WARNING", "PYTHONPATH": str(root)}
        port = free_port()
        cli = [sys.executable, "-m", "composition.cli"]
        log = (tmp / "server.log").open("w")
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            key = re.search(r"live key: (ak_\w+)", (tmp / "server.log").read_text()).group(1)
            for endpoint in ("POST /api/v1/contacts/import", "GET /api/v1/contacts"):  # as an operator would
                subprocess.run(
                    [*cli, "limits", "set", endpoint, "100000/min"], env=env, check=True, capture_output=True
                )
            with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
                timings = []
                for run in range(3):
                    target = c.post("/lists", json={"name": f"run {run}"}).json()["id"]
                    body = {"listId": target, "contacts": rows(0)}
                    started = time.perf_counter()
                    result = c.post("/contacts/import", json=body).json()
                    timings.append(time.perf_counter() - started)
                    assert result["importedCount"] == ROWS, result
                api_seconds = statistics.median(timings)
                raw_seconds = statistics.median(raw_insert_seconds(Path(tempfile.mkdtemp(dir=tmp))) for _ in range(3))

                big = c.post("/lists", json={"name": "100k"}).json()["id"]
                for chunk in range(10):
                    assert (
                        c.post("/contacts/import", json={"listId": big, "contacts": rows(chunk * ROWS)}).json()[
                            "importedCount"
                        ]
                        == ROWS
                    )
                first = p50_ms(c, {"listId": big, "page": 1, "pageSize": 50}, args.samples)
                deep = p50_ms(c, {"listId": big, "page": 2000, "pageSize": 50}, args.samples)
                small = c.post("/lists", json={"name": "small"}).json()["id"]
                c.post("/contacts/import", json={"listId": small, "contacts": rows(0)[:100]})
                baseline = p50_ms(c, {"listId": small, "page": 1, "pageSize": 50}, args.samples)
        finally:
            server.terminate()
            server.wait(30)
    print(
        json.dumps(
            {
                "benchmark": "contacts on the embedded default (SQLite)",
                "import_10000": {
                    "api_seconds": round(api_seconds, 3),
                    "raw_sqlite_utils_insert_all_seconds": round(raw_seconds, 3),
                    "ratio": round(api_seconds / raw_seconds, 2),
                    "target_ratio": 3,
                },
                "get_contacts_100000": {
                    "page_1_p50_ms": first,
                    "page_2000_p50_ms": deep,
                    "for_scale_page_1_of_100_contacts_p50_ms": baseline,
                    "ratio": round(deep / first, 2),
                    "target_ratio": 2,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
