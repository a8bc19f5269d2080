"""The audit workload run once on the dev server by three worker processes, spans into a receiver's database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from audit_app.workflows import SHARDS, ChainLink, FanOutSweep, Mailbox, StuckDrain
from temporalio.client import Client, WorkflowUpdateFailedError

from temporal_lens.collectors import BatchWriter, OtlpReceiver, open_database

TESTS = Path(__file__).parent
KINDS = ("lens", "contrib", "plain")
STUCK_ATTEMPTS = 3


@dataclass
class Workload:
    """What the test knows it ran: task queue per worker kind, run ids by (kind, workflow type), files written."""

    db: Path
    log_path: Path
    queues: dict[str, str]
    runs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    stuck: dict[str, str] = field(default_factory=dict)
    """kind -> run id of its StuckDrain run, left open."""

    def query(self) -> str:
        return " OR ".join(f"TaskQueue = '{queue}'" for queue in self.queues.values())


def _start_worker(kind: str, address: str, queue: str, endpoint: str, log_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "audit_app.worker", kind, address, queue, endpoint, str(log_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"{kind} worker did not start: {line}{process.stderr.read() if process.stderr else ''}")
    return process


async def _wait_for_attempts(client: Client, workflow_id: str, attempts: int) -> None:
    for _ in range(600):  # the retry interval is 300 ms: a few seconds, a minute at most under load
        description = await client.get_workflow_handle(workflow_id).describe()
        pending = description.raw_description.pending_activities
        if pending and pending[0].attempt >= attempts:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never reached attempt {attempts}")


async def _drive(client: Client, workload: Workload) -> None:
    for kind, queue in workload.queues.items():
        tag = f"{kind}-{uuid.uuid4().hex[:8]}"
        sweep = await client.start_workflow(FanOutSweep.run, tag, id=f"sweep-{tag}", task_queue=queue)
        chain = await client.start_workflow(ChainLink.run, args=[1, 1], id=f"chain-{tag}", task_queue=queue)
        mailbox = await client.start_workflow(Mailbox.run, id=f"mailbox-{tag}", task_queue=queue)
        stuck = await client.start_workflow(StuckDrain.run, tag, id=f"stuck-{tag}", task_queue=queue)
        await mailbox.signal(Mailbox.post, "first")
        await mailbox.signal(Mailbox.post, "second")
        await mailbox.execute_update(Mailbox.set_quota, 5)
        with contextlib.suppress(WorkflowUpdateFailedError):
            await mailbox.execute_update(Mailbox.set_quota, -1)
        await mailbox.signal(Mailbox.close)
        assert await sweep.result() == sum(shard * shard for shard in range(SHARDS))
        await chain.result()
        await mailbox.result()
        await _wait_for_attempts(client, stuck.id, STUCK_ATTEMPTS)
        workload.runs[(kind, "FanOutSweep")] = [sweep.result_run_id]
        workload.runs[(kind, "Mailbox")] = [mailbox.result_run_id]
        workload.runs[(kind, "ChainLink")] = [chain.result_run_id]
        workload.stuck[kind] = stuck.result_run_id


async def run_workload(client: Client, address: str, workdir: Path) -> Workload:
    """Run the workload with one worker process per kind; spans land in `workdir/lens.duckdb`, lens logs in a file."""
    workload = Workload(workdir / "lens.duckdb", workdir / "audit-lens.jsonl",
                        {kind: f"audit-{kind}-{uuid.uuid4().hex[:8]}" for kind in KINDS})
    conn = open_database(workload.db)
    try:
        with OtlpReceiver(BatchWriter(conn)) as receiver:
            workers = [
                _start_worker(kind, address, queue, receiver.endpoint, workload.log_path)
                for kind, queue in workload.queues.items()
            ]
            try:
                await _drive(client, workload)
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    try:
                        worker.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        worker.kill()
    finally:
        conn.close()
    return workload
