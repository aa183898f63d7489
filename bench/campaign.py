"""Campaign throughput through the SMTP mailer to Postfix's smtp-sink, on the embedded default
(SQLite): prints JSON.

- messages/s for a 10,000-recipient campaign delivered by one `autorelay worker` process (the
  runner) over N SMTP connections, counted from its first delivery to its last;
- raw aiosmtplib sending the same messages (the campaign's own, rendered once beforehand) over the
  same N connections, in the same run;
- the ratio (target >= 0.5) and the runner's peak RSS and bytes written to disk per message;
- CPU time per message of each (user + system): steadier than the rates from run to run, and the
  figure to watch when making a step cheaper, since both sides are CPU-bound on a small machine.

Usage: python bench/campaign.py [--recipients 10000] [--connections 8] [--keep DIR]
Needs `smtp-sink` (Debian: apt-get install postfix).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiosmtplib
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
from cpu import cpu_seconds  # noqa: E402 - bench/ is on the path when run as a script

from adapters.mailers.mime import build_message  # noqa: E402
from adapters.storage import codec  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402


def start_sink(port: int) -> subprocess.Popen:
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([binary, *user, f"127.0.0.1:{port}", "1024"], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    raise SystemExit("smtp-sink did not start")


def cli(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "composition.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def smtp_env(data_dir: Path, sink_port: int, connections: int) -> dict[str, str]:
    """The environment of AutoRelay's processes in a campaign bench: its own folder, the SMTP mailer
    to the sink over `connections` connections, campaigns unpaced, no deliveries inside `serve`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")}
    return env | {
        "AUTORELAY_DATA_DIR": str(data_dir),
        "AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2,
        "AUTORELAY_MAILER": "smtp",
        "AUTORELAY_SMTP_HOST": "127.0.0.1",
        "AUTORELAY_SMTP_PORT": str(sink_port),
        "AUTORELAY_SMTP_SECURITY": "none",
        "AUTORELAY_SMTP_POOL_SIZE": str(connections),
        "AUTORELAY_CAMPAIGN_RATE": "1000000",  # unpaced: the bench measures the delivering processes
        "AUTORELAY_MONTHLY_QUOTA": "100000000",
        "AUTORELAY_EMBEDDED_WORKERS": "0",
        "AUTORELAY_LOG_LEVEL": "WARNING",
    }


def prepare(env: dict, port: int, recipients: int) -> str:
    """Serve the API, import the list, launch the campaign (no worker runs yet); its id."""
    log = Path(env["AUTORELAY_DATA_DIR"]) / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "composition.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(300):
            try:
                if httpx.get(f"{base[:-7]}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        key = re.search(r"live key: (ak_\w+)", log.read_text()).group(1)
        cli(env, "domains", "verify", "bench.test", "--project", "default")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as api:
            target = api.post("/lists", json={"name": "Bench"}).json()["id"]
            if recipients <= 10_000:  # the API's limit for one request
                rows = [{"email": f"reader{i}@example.com", "name": f"Reader {i}"} for i in range(recipients)]
                answer = api.post("/contacts/import", json={"listId": target, "contacts": rows})
                assert answer.json().get("importedCount") == recipients, answer.text
            else:  # a larger list, as an operator would load it: a CSV file through the CLI
                csv = Path(env["AUTORELAY_DATA_DIR"]) / "contacts.csv"
                lines = (f"reader{i}@example.com,Reader {i}\n" for i in range(recipients))
                csv.write_text("email,name\n" + "".join(lines))
                cli(env, "contacts", "import", str(csv), "--list", target)
            body = {"name": "Bench", "subject": "News for {{ name }}", "fromEmail": "news@bench.test"}
            html = "<h1>Hello {{ name }}</h1><p>" + "This month at Bench. " * 40 + "</p>"
            campaign = api.post("/campaigns", json=body | {"listId": target, "content": html}).json()["id"]
            assert api.post(f"/campaigns/{campaign}/launch").json()["status"] == "sending"
        return campaign
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def campaign_messages(database: Path, campaign: str) -> list[tuple[str, str, bytes]]:
    """(sender, recipient, message bytes) of the campaign's emails, rendered as the runner will."""
    conn = sqlite3.connect(database)
    out = []
    rows = conn.execute(
        "SELECT payload, content FROM emails JOIN email_content USING (seq) WHERE campaign_id = ?", (campaign,)
    )
    for record, content in rows:
        email = codec.email_from_parts(record, content)
        sender = email.sender.rsplit("<", 1)[-1].rstrip(">")
        out.append((sender, email.to[0], build_message(email, email.created_at)))
    return out


async def raw_send(port: int, messages: list[tuple[str, str, bytes]], connections: int) -> tuple[float, float]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in messages:
        queue.put_nowait(item)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await client.connect()
        while not queue.empty():
            mail_from, rcpt, data = queue.get_nowait()
            await client.sendmail(mail_from, [rcpt], data)
        await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started, (time.process_time() - cpu) / max(1, len(messages))


def delivered(database: Path, campaign: str) -> int:
    conn = sqlite3.connect(database, timeout=10)
    try:
        (count,) = conn.execute(
            "SELECT count(*) FROM emails WHERE campaign_id = ? AND delivery = 'done'", (campaign,)
        ).fetchone()
        return count
    finally:
        conn.close()


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024, 1)


def written_bytes(pid: int) -> int:
    """Bytes the process has sent to storage so far (the WAL, and the checkpoints into the database)."""
    return int(re.search(r"write_bytes: (\d+)", Path(f"/proc/{pid}/io").read_text()).group(1))


class WalFrames:
    """Counts the frames appended to a SQLite WAL, from the outside: polls the wal-index header in
    the -shm file (mxFrame, the last valid frame, at offset 16) and adds each rise; when the log
    starts over, the count since the restart is added. Costs the runner nothing, unlike tracing its
    writes. A frame is a page and a 24-byte header."""

    def __init__(self, database: Path) -> None:
        self._shm = Path(f"{database}-shm")
        self.frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WalFrames:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        fd = os.open(self._shm, os.O_RDONLY)  # unbuffered: each read sees the runner's latest header
        try:
            last = None
            while not self._stop.is_set():
                (now,) = struct.unpack("=I", os.pread(fd, 4, 16))
                if last is not None:
                    self.frames += now - last if now >= last else now
                last = now
                time.sleep(0.001)
        finally:
            os.close(fd)


def page_size(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def run_worker(env: dict, database: Path, campaign: str, total: int) -> tuple[float, int, float, float, float, float]:
    log = Path(env["AUTORELAY_DATA_DIR"]) / "worker.log"
    profile = os.environ.get("BENCH_PROFILE")  # py-spy collapsed stacks of the runner, for digging
    spy = ["py-spy", "record", "--format", "raw", "-o", profile, "--"] if profile else []
    # Or any wrapper, e.g. "strace -f --seccomp-bpf -y -xx -s 8 -e trace=pwrite64 -o FILE" for the
    # WAL's frames (page numbers: the first bytes of each 24-byte frame header). A wrapped run's
    # CPU, memory and bytes written are the wrapper's, not the runner's.
    spy = shlex.split(os.environ.get("BENCH_WRAP", "")) or spy
    worker = subprocess.Popen(
        [*spy, sys.executable, "-m", "composition.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stopped as a group: a wrapper may not pass the signal on
    )
    try:
        while (first := delivered(database, campaign)) == 0:
            if worker.poll() is not None:
                raise SystemExit(f"worker exited: {log.read_text()[-2000:]}")
            time.sleep(0.01)
        with WalFrames(database) as wal:
            started, cpu, wrote = time.perf_counter(), cpu_seconds(worker.pid), written_bytes(worker.pid)
            while (done := delivered(database, campaign)) < total:
                time.sleep(0.02)
            seconds = time.perf_counter() - started
        counted = max(1, done - first)
        cpu_per_message = (cpu_seconds(worker.pid) - cpu) / counted
        written_per_message = (written_bytes(worker.pid) - wrote) / counted
        wal_per_message = wal.frames * (page_size(database) + 24) / counted
        return seconds, done - first, peak_rss_mb(worker.pid), cpu_per_message, written_per_message, wal_per_message
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", metavar="DIR", help="run in this new folder and keep it (the database, for digging)")
    args = parser.parse_args()
    sink_port = free_port()
    sink = start_sink(sink_port)
    try:
        with contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            if args.keep:
                data_dir.mkdir()  # a new one: the figures are of a fresh database
            env = smtp_env(data_dir, sink_port, args.connections)
            campaign = prepare(env, free_port(), args.recipients)
            database = data_dir / "autorelay.db"
            messages = campaign_messages(database, campaign)
            raw_seconds, raw_cpu = asyncio.run(raw_send(sink_port, messages, args.connections))
            runner = run_worker(env, database, campaign, len(messages))
            runner_seconds, counted, rss, cpu_per_message, written, wal = runner
    finally:
        sink.terminate()
        sink.wait(10)
    runner_rate = counted / runner_seconds
    raw_rate = len(messages) / raw_seconds
    print(
        json.dumps(
            {
                "recipients": len(messages),
                "connections": args.connections,
                "runner_messages_per_s": round(runner_rate),
                "raw_aiosmtplib_messages_per_s": round(raw_rate),
                "ratio": round(runner_rate / raw_rate, 2),
                "runner_peak_rss_mb": rss,
                # Steadier than the rate from run to run: what each message costs the runner.
                "runner_cpu_us_per_message": round(cpu_per_message * 1e6),
                "raw_cpu_us_per_message": round(raw_cpu * 1e6),
                # What the runner wrote to disk per message: the WAL, its checkpoints, the kept copy.
                "runner_written_kb_per_message": round(written / 1024, 1),
                # The WAL alone (frames appended, from the wal-index): what the delivery steps cost.
                "runner_wal_kb_per_message": round(wal / 1024, 1),
                "message_bytes": len(messages[0][2]) if messages else 0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
