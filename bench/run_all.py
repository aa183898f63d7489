"""Every benchmark in one run, on one machine: prints one JSON document, and writes a Markdown table
and a plot (PNG, matplotlib) of throughput and p99 per benchmark to bench/results/ (not committed).

    python bench/run_all.py [--quick] [--postgres URL] [--redis URL] [--only NAME ...]
                            [--runs N] [--label NAME] [--docs]

The runs, each a script of this folder in its own process, one after the other:
  send              POST /emails on the embedded default (SQLite), beside bare Starlette (bench/send.py)
  end_to_end        a 30 s burst at 32 connections, then the backlog's drain (accepted-to-written)
  end_to_end_worker the same with one `autorelay worker` beside serve
  send_postgres     POST /emails on PostgreSQL (needs --postgres)
  send_production   POST /emails on PostgreSQL + Redis (needs --postgres and --redis)
  campaign          the campaign runner against an SMTP sink, beside raw aiosmtplib (bench/campaign.py)
  import            10,000 contacts imported, and deep pages of a 100,000-contact list (bench/import.py)
  relay             the SMTP relay beside POST /emails (bench/relay.py)
  dashboard         the dashboard's pages over 100,000 emails and contacts (bench/dashboard.py)

--quick shortens each (fewer seconds, recipients, samples): for trying the harness, not for figures.
--runs N runs each benchmark N times (the table shows every run). --label NAME keeps the results
as bench/results/NAME.json (say, "before" on the old code, "after" on the new); --docs rewrites the
generated part of docs/PERFORMANCE.md from every labelled set there: the machine, the commands,
a table with a column per label, the plot (docs/performance.png) and the peers' published figures.
Needs wrk (apt-get install wrk) and, for the plot, matplotlib (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def runs(args: argparse.Namespace) -> dict[str, list[str]]:
    quick = args.quick
    send_seconds = ["--seconds", "3" if quick else "10"]
    burst = ["--seconds", "5" if quick else "30"]
    planned = {
        "send": ["send.py", *send_seconds],
        "end_to_end": ["send.py", *burst],
        "end_to_end_worker": ["send.py", *burst, "--worker"],
    }
    if args.postgres:
        planned["send_postgres"] = ["send.py", *send_seconds, "--postgres", args.postgres]
        if args.redis:
            planned["send_production"] = ["send.py", *send_seconds, "--postgres", args.postgres, "--redis", args.redis]
    planned |= {
        "campaign": ["campaign.py", "--recipients", "1000" if quick else "10000"],
        "import": ["import.py", "--samples", "5" if quick else "50"],
        "relay": ["relay.py", "--messages", "200" if quick else "2000"],
        "dashboard": ["dashboard.py"]
        + (["--emails", "5000", "--contacts", "5000", "--samples", "10"] if quick else []),
    }
    if args.only:
        planned = {name: command for name, command in planned.items() if name in args.only}
    return planned


def run_one(command: list[str]) -> dict:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(HERE / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        env=os.environ.copy(),
    )
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-2000:], "wall_s": seconds}
    out = done.stdout
    result = json.loads(out[out.index("{") :])  # each script prints one JSON document last
    result["wall_s"] = seconds
    return result


def headline(name: str, result: dict) -> tuple[str, float | None, float | None, str]:
    """(what is counted, throughput, p99 in ms, the comparison) for the table and the plot."""
    if "error" in result:
        return "error", None, None, result["error"].strip().splitlines()[-1][:80] if result["error"].strip() else ""
    if name.startswith(("send", "end_to_end")):
        ours = result["autorelay"]
        rate = ours["accepted_to_written_per_s"] if name.startswith("end_to_end") else ours["requests_per_s"]
        unit = "emails/s accepted-to-written" if name.startswith("end_to_end") else "requests/s"
        note = f"{result['ratio']}x bare Starlette; drained {ours.get('backlog_drained_s')} s after"
        cpu = [f"{ours[k]} us" for k in ("server_cpu_us_per_request", "postgres_cpu_us_per_request") if k in ours]
        if cpu:
            note += "; CPU/request " + " + PostgreSQL ".join(cpu)
        return unit, rate, ours["p99_ms"], note
    if name == "campaign":
        note = (
            f"{result['ratio']}x raw aiosmtplib; {result['runner_cpu_us_per_message']} us CPU/msg"
            f" (raw {result['raw_cpu_us_per_message']}); WAL {result.get('runner_wal_kb_per_message')} KB/msg; "
        )
        return "messages/s", result["runner_messages_per_s"], None, note + f"{result['runner_peak_rss_mb']} MB RSS"
    if name == "relay":
        rates = {k: v for k, v in result.items() if k.endswith("per_s") and isinstance(v, int | float)}
        first = next(iter(rates.values()), None)
        return "messages/s", first, None, ", ".join(f"{k} {v}" for k, v in rates.items())
    if name == "import":
        load, pages = result["import_10000"], result["get_contacts_100000"]
        note = (
            f"{load['ratio']}x raw insert_all; page 2,000 p50 {pages['page_2000_p50_ms']} ms ({pages['ratio']}x page 1)"
        )
        return "contacts/s imported", 10_000 / load["api_seconds"], None, note
    if name == "dashboard":
        worst = max(result["server_ms"].items(), key=lambda item: item[1]["p95"])
        return (
            "pages (server time)",
            None,
            worst[1]["p95"],
            f"slowest p95: {worst[0]} (target {result['target_p95_ms']} ms)",
        )
    flat = {k: v for k, v in result.items() if isinstance(v, int | float) and k != "wall_s"}
    return "see JSON", None, None, ", ".join(f"{k} {v}" for k, v in list(flat.items())[:4])


def markdown(document: dict) -> str:
    lines = [
        f"Run on {document['machine']} at {document['finished']}.",
        "",
        "| benchmark | measures | throughput | p99 (ms) | beside |",
        "|---|---|---|---|---|",
    ]
    for name, result in document["results"].items():
        unit, rate, p99, note = headline(name, result)
        shown = f"{rate:,.0f}" if rate is not None else "-"
        lines.append(f"| {name} | {unit} | {shown} | {p99 if p99 is not None else '-'} | {note} |")
    return "\n".join(lines) + "\n"


def plot(document: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [(name, *headline(name, result)[1:3]) for name, result in document["results"].items()]
    rows = [row for row in rows if row[1] is not None or row[2] is not None]
    if not rows:
        return False
    names = [row[0] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 0.6 * len(rows) + 2))
    bars = left.barh(names, [row[1] or 0.0 for row in rows], color="#2b6cb0")
    left.bar_label(bars, labels=[f"{row[1]:,.0f}" if row[1] else "" for row in rows], padding=3, fontsize=8)
    left.set_xscale("log")  # requests, messages and imported rows differ by orders of magnitude
    left.set_title("Throughput (per second, log scale)")
    left.invert_yaxis()
    bars = right.barh(names, [row[2] or 0 for row in rows], color="#c05621")
    right.bar_label(bars, labels=[f"{row[2]:g}" if row[2] else "" for row in rows], padding=3, fontsize=8)
    right.set_title("p99, ms (dashboard: p95 server time)")
    right.invert_yaxis()
    figure.suptitle(f"AutoRelay benchmarks, {document['machine']}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


# Published figures of the peers, beside ours in docs/PERFORMANCE.md. Sending rates are what each
# project's users or docs report for one installation; API medians are from public latency trackers.
PEERS = (
    ("listmonk", "campaign sending on Amazon SES", "about 950 messages a minute, as its users report"),
    ("Postal", "outgoing mail, one server", "100-1,200 messages a minute, as its docs and users report"),
    ("Keila", "campaign sending", "about 180 messages a minute, as its users report"),
    ("SendGrid", "send API, median latency", "22 ms (public latency trackers)"),
    ("Postmark", "send API, median latency", "32 ms (public latency trackers)"),
    ("Resend", "send API, median latency", "78 ms (public latency trackers)"),
)
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
DOCS = HERE.parent / "docs" / "PERFORMANCE.md"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    memory = (
        next(
            (
                int(line.split()[1]) // 1024
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            ),
            0,
        )
        if Path("/proc/meminfo").exists()
        else 0
    )
    import sqlite3

    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
    }


def cell(results: list[dict], name: str) -> tuple[str, str]:
    """The runs of one benchmark as one table cell ("a / b / c", p99 in brackets) and a note."""
    shown, notes = [], []
    for result in results:
        _, rate, p99, note = headline(name, result)
        figure = f"{rate:,.0f}" if rate is not None else "-"
        shown.append(f"{figure} ({p99})" if p99 is not None else figure)
        notes.append(note)
    return " / ".join(shown), notes[-1] if notes else ""


def docs_section(sets: dict[str, dict]) -> str:
    """The generated part of docs/PERFORMANCE.md from the labelled result sets."""
    labels = list(sets)
    first = sets[labels[0]]
    about = first["machine"]
    lines = [
        BEGIN,
        "",
        "Generated by `bench/run_all.py --docs` from "
        + ", ".join(
            f"`{label}` ({sets[label]['finished'][:10]}, {sets[label]['runs']} run(s) each)" for label in labels
        )
        + ". Do not edit between the markers: run it again.",
        "",
        f"Machine: {about['cpu']}, {about['cores']} cores, {about['memory_mb']:,} MB, Linux {about['kernel']},"
        f" Python {about['python']}, SQLite {about['sqlite']} (`{about['host']}`); the load generator (wrk)"
        " and every server on the same machine.",
        "",
        "Commands:",
        "",
        "```sh",
        *(f"python bench/run_all.py {sets[label]['arguments']}" for label in labels),
        "python bench/run_all.py --docs",
        "```",
        "",
        "| benchmark | measures | " + " | ".join(labels) + " | the last run beside its reference |",
        "|---|---|" + "---|" * len(labels) + "---|",
    ]
    names = list(dict.fromkeys(name for label in labels for name in sets[label]["results"]))
    for name in names:
        cells, note, unit = [], "", ""
        for label in labels:
            results = sets[label]["results"].get(name, [])
            shown, last_note = cell(results, name) if results else ("-", "")
            cells.append(shown)
            note = last_note or note
            unit = unit or (headline(name, results[0])[0] if results else "")
        lines.append(f"| {name} | {unit} | " + " | ".join(cells) + f" | {note} |")
    lines += [
        "",
        "Throughput, with p99 in ms in brackets (the dashboard's: the slowest page's p95 of the server's time).",
        "",
        "![Throughput and p99 per benchmark](performance.png)",
        "",
        "The peers' published figures, for scale (theirs are not measured here):",
        "",
        "| peer | what | figure |",
        "|---|---|---|",
        *(f"| {peer} | {what} | {figure} |" for peer, what, figure in PEERS),
        "",
        END,
    ]
    return "\n".join(lines)


def write_docs() -> None:
    sets = {}
    for path in sorted(RESULTS.glob("*.json"), key=lambda p: p.stat().st_mtime):
        if path.name == "summary.json":
            continue
        document = json.loads(path.read_text())
        if "runs" in document:
            sets[path.stem] = document
    if not sets:
        raise SystemExit("no labelled results in bench/results/: run with --label NAME first")
    text = DOCS.read_text()
    section = docs_section(sets)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        heading = "## Benchmarks\n"
        text = text.replace(heading, heading + "\n" + section + "\n", 1)
    DOCS.write_text(text)
    last = sets[list(sets)[-1]]
    flat = {"machine": last["machine"]["host"], "results": {n: r[-1] for n, r in last["results"].items() if r}}
    plot(flat, DOCS.parent / "performance.png")
    print(f"wrote {DOCS}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, to try the harness")
    parser.add_argument("--postgres", default=os.environ.get("AUTORELAY_BENCH_POSTGRES_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("AUTORELAY_BENCH_REDIS_URL", ""))
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--runs", type=int, default=1, help="run each benchmark this many times")
    parser.add_argument("--label", help="keep the results as bench/results/LABEL.json, for --docs")
    parser.add_argument("--docs", action="store_true", help="rewrite docs/PERFORMANCE.md's generated part and stop")
    args = parser.parse_args()
    if args.docs:
        write_docs()
        return
    described = f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
    document: dict = {"machine": described, "started": datetime.now(UTC).isoformat(timespec="seconds"), "results": {}}
    runs_by_name: dict[str, list[dict]] = {}
    for name, command in runs(args).items():
        for n in range(args.runs):
            print(f"running {name} ({n + 1} of {args.runs}): {' '.join(command)}", file=sys.stderr, flush=True)
            runs_by_name.setdefault(name, []).append(run_one(command))
        document["results"][name] = runs_by_name[name][-1]
    document["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(document, indent=2))
    if args.label:
        arguments = " ".join(a for a in sys.argv[1:])
        labelled = {**document, "machine": machine(), "runs": args.runs, "arguments": arguments}
        labelled["results"] = runs_by_name
        (RESULTS / f"{args.label}.json").write_text(json.dumps(labelled, indent=2))
    (RESULTS / "summary.md").write_text(markdown(document))
    plotted = plot(document, RESULTS / "summary.png")
    print(json.dumps(document, indent=2))
    print(f"wrote {RESULTS / 'summary.md'}" + (f" and {RESULTS / 'summary.png'}" if plotted else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
