from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from datetime import datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.interceptors import LensPlugin
from tests.interceptor_app.workflows import RetryWorkflow, flaky, noop

pytestmark = pytest.mark.server


async def _run(dev_server, task_queue: str, *, max_cached_workflows: int):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
    workflow_id = f"wf-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RetryWorkflow],
        activities=[flaky, noop],
        max_cached_workflows=max_cached_workflows,
    ):
        await client.execute_workflow(RetryWorkflow.run, 2, id=workflow_id, task_queue=task_queue)
    return workflow_id, exporter.get_finished_spans()


def _records(stream: io.StringIO, workflow_id: str) -> list[dict]:
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [r for r in records if r.get("temporal.workflow_id") == workflow_id]


@pytest.mark.parametrize("max_cached_workflows", [1000, 0], ids=["cached", "replay-every-task"])
async def test_logs_join_traces_and_history_without_duplicates(
    dev_server, task_queue, log_stream, max_cached_workflows
) -> None:
    workflow_id, spans = await _run(dev_server, task_queue, max_cached_workflows=max_cached_workflows)
    records = _records(log_stream, workflow_id)
    counts = Counter(r["event"] for r in records)
    assert counts == {
        "workflow started": 1,
        "retry workflow running": 1,
        "activity started": 4,
        "activity failed": 2,
        "activity completed": 2,
        "workflow completed": 1,
    }
    assert Counter(s.name for s in spans) == {
        "StartWorkflow:RetryWorkflow": 1,
        "RunWorkflow:RetryWorkflow": 1,
        "StartActivity:flaky": 1,
        "RunActivity:flaky": 3,
        "StartActivity:noop": 1,
        "RunActivity:noop": 1,
    }
    trace_ids = {format(s.context.trace_id, "032x") for s in spans}
    assert {r["trace_id"] for r in records} == trace_ids
    span_ids = {format(s.context.span_id, "016x") for s in spans}
    assert {r["span_id"] for r in records} <= span_ids
    failed = [r for r in records if r["event"] == "activity failed"]
    assert [(r["temporal.attempt"], r["error"]) for r in failed] == [(1, "boom on attempt 1"), (2, "boom on attempt 2")]
    workflow_side = [r for r in records if r["event"].startswith("workflow") or r["event"] == "retry workflow running"]
    assert all(isinstance(r["temporal.event_id"], int) and r["temporal.event_id"] > 0 for r in workflow_side)
    assert all(r["temporal.run_id"] for r in records)
    # Written at the first workflow task, the record states when the server started the run, as history has it.
    [started] = [r for r in records if r["event"] == "workflow started"]
    described = await (await Client.connect(dev_server.address)).get_workflow_handle(workflow_id).describe()
    assert datetime.fromisoformat(started["temporal.workflow_start_time"]) == described.start_time
