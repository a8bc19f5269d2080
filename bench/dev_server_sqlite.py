"""The dev server's SQLite settings: the study's default pragmas (write-ahead log, synced at checkpoints) against
SQLite's own defaults (rollback journal, synced at every commit), side by side.

    python bench/dev_server_sqlite.py [--workflows 150] [--rounds 2]

Two dev servers run at once, each with its own worker in this process; in each round both get the same workload at
the same time (N workflows of four activities each, 16 at a time), so the machine's load falls on both alike. Measured
per round: each server's CPU (utime + stime from /proc) and the workload's wall time; the ratios are per round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from _support import Steps, step
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from temporal_lens.stack import SQLITE_PRAGMAS, DevServer

TICKS = os.sysconf("SC_CLK_TCK")
IN_FLIGHT = 16
STEPS = 4
QUEUE = "sqlite-bench"


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def drive(server: DevServer, pid: int | None, workflows: int) -> tuple[float, float]:
    """(server CPU seconds, wall seconds) for `workflows` runs of Steps(4), IN_FLIGHT at a time."""
    client = await Client.connect(server.address)
    async with Worker(client, task_queue=QUEUE, workflows=[Steps], activities=[step],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(i: int) -> None:
            async with slots:
                await client.execute_workflow(Steps.run, STEPS, id=f"bench-{uuid.uuid4()}", task_queue=QUEUE)

        assert pid is not None, "the server runs"
        cpu_before, started = cpu_s(pid), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(workflows)))
        return cpu_s(pid) - cpu_before, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lens-sqlite-") as tmp, \
            DevServer(Path(tmp) / "defaults", headless=True, sqlite_pragmas=()) as plain, \
            DevServer(Path(tmp) / "tuned", headless=True) as tuned:
        pids = [server.pid for server in (plain, tuned)]
        for round_no in range(1, args.rounds + 1):
            (plain_cpu, plain_wall), (tuned_cpu, tuned_wall) = await asyncio.gather(
                drive(plain, pids[0], args.workflows), drive(tuned, pids[1], args.workflows))
            rows.append((round_no, plain_cpu, plain_wall, tuned_cpu, tuned_wall))
            print(f"round {round_no} done", flush=True)
    print()
    print(f"workload: {args.workflows} workflows x 4 activities per server per round, {IN_FLIGHT} in flight, both "
          f"servers at once; {os.cpu_count()} cores; pragmas: {', '.join(SQLITE_PRAGMAS)}")
    print("round  SQLite defaults: server cpu s / wall s   study pragmas: server cpu s / wall s"
          "   cpu ratio  wall ratio")
    for round_no, plain_cpu, plain_wall, tuned_cpu, tuned_wall in rows:
        print(f"{round_no:>5}  {plain_cpu:>22.1f} / {plain_wall:<7.1f} {tuned_cpu:>24.1f} / {tuned_wall:<7.1f}"
              f"{tuned_cpu / plain_cpu:>12.2f} {tuned_wall / plain_wall:>11.2f}")
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
