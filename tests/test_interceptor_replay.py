"""Replay safety of the interceptors, on a real dev server: replays and cache evictions export nothing new."""

from __future__ import annotations

import contextlib
import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Replayer, Worker

from temporal_lens.interceptors import LensInterceptor, LensPlugin, with_passthrough
from tests.interceptor_app.workflows import (
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    CompensatingWorkflow,
    InteractiveWorkflow,
    LoopWorkflow,
    ParentWorkflow,
    RetryWorkflow,
    TimerWorkflow,
)
from tests.interceptor_support import memory_provider


async def _run_all(client: Client, queue: str) -> list[tuple[str, str]]:
    """Run one of every test workflow; returns (workflow id, first run id)."""
    ids = []

    async def run(workflow, *args):
        workflow_id = f"safety-{uuid.uuid4()}"
        handle = await client.start_workflow(workflow, args=list(args), id=workflow_id, task_queue=queue)
        if workflow is InteractiveWorkflow.run:
            await handle.execute_update(InteractiveWorkflow.set_note, "n")
            await handle.signal(InteractiveWorkflow.approve)
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        ids.append((workflow_id, handle.result_run_id))

    await run(RetryWorkflow.run, 1)
    await run(ParentWorkflow.run)
    await run(InteractiveWorkflow.run)
    await run(LoopWorkflow.run, 1)
    await run(TimerWorkflow.run)
    await run(CompensatingWorkflow.run, -1)
    return ids


async def test_replaying_recorded_histories_is_deterministic_and_silent(dev_server, task_queue) -> None:
    provider, exporter = memory_provider()
    client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
    async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        ids = await _run_all(client, task_queue)
    exported = len(exporter.get_finished_spans())
    replayer = Replayer(workflows=ALL_WORKFLOWS, interceptors=[LensInterceptor(tracer_provider=provider)],
                        workflow_runner=with_passthrough(None))
    histories = [await client.get_workflow_handle(wid, run_id=rid).fetch_history() for wid, rid in ids]
    failures = [(await replayer.replay_workflow(h, raise_on_replay_failure=False)).replay_failure for h in histories]
    assert failures == [None] * len(histories)
    assert len(exporter.get_finished_spans()) == exported, "replay must not export spans again"


async def test_cache_eviction_gives_the_same_spans(dev_server) -> None:
    counts = []
    for max_cached in (1000, 0):
        provider, exporter = memory_provider()
        client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
        queue = f"evict-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                          max_cached_workflows=max_cached):
            await _run_all(client, queue)
        counts.append(sorted(s.name for s in exporter.get_finished_spans()))
    assert counts[0] == counts[1]
