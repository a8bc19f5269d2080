"""Span trees for each Temporal feature, run on a real dev server and worker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.worker import Worker

from temporal_lens.interceptors import LensPlugin
from temporal_lens.interceptors._ids import workflow_trace_id
from tests.interceptor_app.workflows import (
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    CompensatingWorkflow,
    InteractiveWorkflow,
    LoopWorkflow,
    ParentWorkflow,
    TimerWorkflow,
)
from tests.spantree import span_tree

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def lens_client(dev_server, exporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
    queue = f"shapes-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        yield client, queue


def _spans_of(exporter: InMemorySpanExporter, workflow_id: str):
    spans = exporter.get_finished_spans()
    traces = {s.context.trace_id for s in spans if (s.attributes or {}).get("temporal.workflow_id") == workflow_id}
    return [s for s in spans if s.context.trace_id in traces]


async def test_child_workflow(lens_client, exporter) -> None:
    client, queue = lens_client
    workflow_id = f"parent-{uuid.uuid4()}"
    assert await client.execute_workflow(ParentWorkflow.run, id=workflow_id, task_queue=queue) == "child a done"
    assert span_tree(_spans_of(exporter, workflow_id)) == [
        "StartWorkflow:ParentWorkflow",
        "  RunWorkflow:ParentWorkflow",
        "    StartChildWorkflow:ChildWorkflow",
        "      RunWorkflow:ChildWorkflow",
        "        StartActivity:noop",
        "          RunActivity:noop",
    ]


async def test_signal_query_update(lens_client, exporter) -> None:
    client, queue = lens_client
    workflow_id = f"interactive-{uuid.uuid4()}"
    handle = await client.start_workflow(InteractiveWorkflow.run, id=workflow_id, task_queue=queue)
    assert await handle.query(InteractiveWorkflow.state) == "waiting"
    assert await handle.execute_update(InteractiveWorkflow.set_note, "fragile") == "fragile"
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(InteractiveWorkflow.set_note, "")
    await handle.signal(InteractiveWorkflow.approve)
    assert await handle.result() == "fragile"
    spans = exporter.get_finished_spans()
    mine = [s for s in spans if (s.attributes or {}).get("temporal.workflow_id") == workflow_id]
    names = sorted(s.name for s in mine)
    assert names == sorted([
        "StartWorkflow:InteractiveWorkflow", "RunWorkflow:InteractiveWorkflow",
        "QueryWorkflow:state", "HandleQuery:state",
        "StartWorkflowUpdate:set_note", "HandleUpdate:set_note", "StartWorkflowUpdate:set_note",
        "ValidateUpdate:set_note", "SignalWorkflow:approve", "HandleSignal:approve", "StartActivity:noop",
        "RunActivity:noop",
    ])
    run = next(s for s in mine if s.name.startswith("RunWorkflow"))
    for name in ("HandleSignal:approve", "HandleUpdate:set_note", "ValidateUpdate:set_note"):
        handler = next(s for s in mine if s.name == name)
        assert handler.parent.span_id == run.context.span_id, name
        assert handler.links, f"{name} links to the client call that caused it"
    query = next(s for s in mine if s.name == "HandleQuery:state")
    client_query = next(s for s in mine if s.name == "QueryWorkflow:state")
    assert query.parent.span_id == client_query.context.span_id


async def test_continue_as_new_continues_the_trace(lens_client, exporter) -> None:
    client, queue = lens_client
    workflow_id = f"loop-{uuid.uuid4()}"
    assert await client.execute_workflow(LoopWorkflow.run, 2, id=workflow_id, task_queue=queue) == "looped"
    assert span_tree(_spans_of(exporter, workflow_id)) == [
        "StartWorkflow:LoopWorkflow",
        "  RunWorkflow:LoopWorkflow",
        "    StartActivity:noop",
        "      RunActivity:noop",
        "    RunWorkflow:LoopWorkflow",
        "      StartActivity:noop",
        "        RunActivity:noop",
        "      RunWorkflow:LoopWorkflow",
        "        StartActivity:noop",
        "          RunActivity:noop",
    ]


async def test_timer_and_local_activity(lens_client, exporter) -> None:
    client, queue = lens_client
    workflow_id = f"timer-{uuid.uuid4()}"
    await client.execute_workflow(TimerWorkflow.run, id=workflow_id, task_queue=queue)
    spans = _spans_of(exporter, workflow_id)
    assert span_tree(spans, attributes=["temporal.local_activity"]) == [
        "StartWorkflow:TimerWorkflow",
        "  RunWorkflow:TimerWorkflow",
        "    Timer",
        "    StartLocalActivity:noop temporal.local_activity=True",
        "      RunActivity:noop temporal.local_activity=True",
    ]
    timer = next(s for s in spans if s.name == "Timer")
    assert timer.attributes["temporal.timer_delay_ms"] == 200
    assert timer.end_time - timer.start_time >= 200_000_000


async def test_failure_with_compensation(lens_client, exporter) -> None:
    client, queue = lens_client
    workflow_id = f"compensate-{uuid.uuid4()}"
    with pytest.raises(WorkflowFailureError):
        await client.execute_workflow(CompensatingWorkflow.run, -5, id=workflow_id, task_queue=queue)
    spans = _spans_of(exporter, workflow_id)
    assert span_tree(spans, attributes=["temporal.outcome"]) == [
        "StartWorkflow:CompensatingWorkflow",
        "  RunWorkflow:CompensatingWorkflow temporal.outcome=failed",
        "    StartActivity:charge",
        "      RunActivity:charge temporal.outcome=failed",
        "    StartActivity:refund",
        "      RunActivity:refund temporal.outcome=completed",
    ]
    errors = {s.name for s in spans if s.status.status_code.name == "ERROR"}
    assert errors == {"RunWorkflow:CompensatingWorkflow", "StartActivity:charge", "RunActivity:charge"}


async def test_workflow_started_without_trace_context_gets_a_derived_trace_id(dev_server, lens_client, exporter):
    _, queue = lens_client
    plain = await Client.connect(dev_server.address)  # like a schedule or the CLI: no client span, no header
    workflow_id = f"orphan-{uuid.uuid4()}"
    handle = await plain.start_workflow(ParentWorkflow.run, id=workflow_id, task_queue=queue)
    await handle.result()
    await asyncio.sleep(0)
    run = next(s for s in exporter.get_finished_spans() if s.name == "RunWorkflow:ParentWorkflow"
               and s.attributes["temporal.workflow_id"] == workflow_id)
    assert run.parent is None
    assert run.context.trace_id == workflow_trace_id(workflow_id, handle.result_run_id)
