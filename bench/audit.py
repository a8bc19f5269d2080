"""The audit end to end: `temporal-lens audit` as a user runs it, timed and its peak memory taken; prints a table.

    python bench/audit.py [--quick] [--live-runs N] [--export-runs N]

1. live: closed runs on a local dev server (two activities each), audited (history fetch with the audit's default
   concurrency, ingest, Describe of open runs, every generic question, coverage, report) at a quarter and at the
   full size;
2. export: Workflow History Export files (1,000 runs a file, histories cloned from real ones with new ids), audited
   without a server at a tenth and at the full size.
Peak RSS is the audit process's own (`ru_maxrss`), so "flat" reads as: the larger audit's peak close to the smaller's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import Steps, report, rows, step
from temporalio.api.export.v1 import WorkflowExecution, WorkflowExecutions
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from temporal_lens.stack import DevServer

QUICK = "--quick" in sys.argv


def _size(option: str, default: int) -> int:
    """`--live-runs N` / `--export-runs N` override a size (one part at full size while the other stays quick)."""
    return int(sys.argv[sys.argv.index(option) + 1]) if option in sys.argv else default


LIVE_RUNS = _size("--live-runs", 1_000 if QUICK else 10_000)
EXPORT_RUNS = _size("--export-runs", 10_000 if QUICK else 100_000)
RUNS_PER_FILE = 1_000
START_CONCURRENCY = 64
ACTIVITIES_PER_RUN = 2

# The audit run in a child that reports its own peak RSS on its last stderr line.
_MEASURED = """
import resource, runpy, sys
sys.argv = ["temporal-lens", *sys.argv[1:]]
try:
    runpy.run_module("temporal_lens", run_name="__main__")
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(f"peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def measured_audit(*args: str) -> tuple[float, int, str]:
    """Seconds, peak RSS (MiB) and stdout of one `temporal-lens audit ...`."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", _MEASURED, "audit", *args], capture_output=True, text=True,
                               check=False, timeout=3600)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"audit failed ({completed.returncode}): {completed.stderr[-2000:]}")
    peak = int(completed.stderr.strip().splitlines()[-1].partition("=")[2]) // 1024
    return seconds, peak, completed.stdout


async def create_runs(client: Client, queue: str, runs: int, prefix: str) -> float:
    """Start and finish `runs` workflows; returns runs/s (setup, not part of the audit)."""
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> None:
        async with semaphore:
            await client.execute_workflow(Steps.run, ACTIVITIES_PER_RUN, id=f"{prefix}{i}", task_queue=queue)

    await asyncio.gather(*(one(i) for i in range(runs)))
    return runs / (time.perf_counter() - started)


def write_export(histories: list[History], root: Path, runs: int) -> None:
    """`runs` clones of `histories` with fresh workflow and run ids, RUNS_PER_FILE to a file in hourly folders."""
    for file_index in range(0, runs, RUNS_PER_FILE):
        items = []
        for i in range(file_index, min(runs, file_index + RUNS_PER_FILE)):
            history = History()
            history.CopyFrom(histories[i % len(histories)])
            started = history.events[0].workflow_execution_started_event_attributes
            started.workflow_id = f"export-{i}"
            started.original_execution_run_id = str(uuid.UUID(int=i + 1))
            items.append(WorkflowExecution(history=history))
        folder = root / "default" / "2026" / "12" / "01" / f"{file_index // RUNS_PER_FILE % 24:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{file_index // RUNS_PER_FILE:05d}.bin").write_bytes(WorkflowExecutions(items=items)
                                                                        .SerializeToString())


async def live(workdir: Path) -> list[History]:
    with DevServer(workdir / "server", headless=True) as server:
        client = await Client.connect(server.address)
        queue = f"bench-audit-{uuid.uuid4()}"
        quarter = LIVE_RUNS // 4
        async with Worker(client, task_queue=queue, workflows=[Steps], activities=[step],
                          workflow_runner=UnsandboxedWorkflowRunner(), max_concurrent_workflow_tasks=64):
            rate = await create_runs(client, queue, quarter, "bench-q-")
            rate = min(rate, await create_runs(client, queue, LIVE_RUNS - quarter, "bench-r-"))
        print(f"created {LIVE_RUNS} runs at about {rate:.0f} runs/s", flush=True)
        for label, runs, query in ((f"{quarter:,}", quarter, "WorkflowId STARTS_WITH 'bench-q-'"),
                                   (f"{LIVE_RUNS:,}", LIVE_RUNS, None)):
            db = workdir / f"live-{runs}.duckdb"
            args = ["--db", str(db), "--address", server.address, "--out", str(workdir / f"live-{runs}")]
            seconds, peak, _ = measured_audit(*args, *(["--query", query] if query else []))
            report(f"live audit, {label} closed runs", f"{runs / seconds:,.0f} runs/s",
                   f"({seconds:.1f} s, peak RSS {peak} MiB)")
            seconds, peak, stdout = measured_audit(*args, *(["--query", query] if query else []))
            assert "0 fetched" in stdout, stdout
            report(f"live audit again, {label} runs (incremental)", f"{seconds:.1f} s", f"(peak RSS {peak} MiB)")
        histories = []
        async for execution in client.list_workflows("WorkflowId STARTS_WITH 'bench-q-'", limit=50):
            fetched = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
            histories.append(History(events=fetched.events))
        return histories


def export(workdir: Path, histories: list[History]) -> None:
    for runs in (EXPORT_RUNS // 10, EXPORT_RUNS):
        root = workdir / f"export-{runs}"
        write_export(histories, root, runs)
        seconds, peak, _ = measured_audit("--db", str(workdir / f"export-{runs}.duckdb"), "--export", str(root),
                                          "--out", str(workdir / f"export-{runs}-report"))
        report(f"export audit, {runs:,} runs in {runs // RUNS_PER_FILE} files", f"{runs / seconds:,.0f} runs/s",
               f"({seconds:.1f} s, peak RSS {peak} MiB)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lens-bench-audit-") as tmp:
        workdir = Path(tmp)
        histories = asyncio.run(live(workdir))
        export(workdir, histories)
    print()
    print("| measure | result | detail |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
