"""What the worker knew, recorded exactly once: every handler kind, with and without a workflow cache, on a real
dev server and worker; an exporter that records every export call sees no span twice."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_lens.interceptors import LensInterceptor, LensPlugin, with_passthrough
from tests.interceptor_app.handlers import HANDLER_ACTIVITIES, HANDLER_WORKFLOWS, EveryHandlerWorkflow
from tests.spantree import span_tree

OUTCOME_KEYS = ("temporal.outcome", "temporal.timeout_type", "temporal.cancel_reason")


class EveryExport(SpanExporter):
    """Keeps each span of each export() call, repeats included."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


async def _drive(client: Client, queue: str) -> str:
    workflow_id = f"every-{uuid.uuid4()}"
    handle = await client.start_workflow(EveryHandlerWorkflow.run, False, id=workflow_id, task_queue=queue)
    assert await handle.execute_update(EveryHandlerWorkflow.add_note, "a") == 1  # the run's second task
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(EveryHandlerWorkflow.add_note, "")  # rejected by its validator
    assert await handle.execute_update(EveryHandlerWorkflow.flaky_note, "b") == 2  # its first task fails
    assert await handle.query(EveryHandlerWorkflow.notes_so_far) == ["a", "b"]
    await handle.signal(EveryHandlerWorkflow.start)
    assert await handle.result() == "continued"
    return workflow_id


async def _run(dev_server, *, max_cached: int, processor: type, plugin: bool = True):
    exporter = EveryExport()
    provider = TracerProvider()
    provider.add_span_processor(processor(exporter))
    queue = f"every-{uuid.uuid4()}"
    # The fail-once memory must be one module for every run, not one per sandbox.
    runner = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "tests.interceptor_app.fail_once"))
    if plugin:
        client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
        options = {"workflow_runner": runner}
    else:
        client = await Client.connect(dev_server.address, interceptors=[LensInterceptor(tracer_provider=provider)])
        options = {"workflow_runner": with_passthrough(runner)}
    async with Worker(client, task_queue=queue, workflows=HANDLER_WORKFLOWS, activities=HANDLER_ACTIVITIES,
                      max_cached_workflows=max_cached, **options):
        workflow_id = await _drive(client, queue)
    provider.shutdown()
    return workflow_id, exporter.spans


def _mine(spans: list[ReadableSpan], workflow_id: str) -> list[ReadableSpan]:
    ids = {workflow_id, f"{workflow_id}-child"}
    return [span for span in spans if (span.attributes or {}).get("temporal.workflow_id") in ids]


def _records(stream: io.StringIO, workflow_id: str) -> list[dict]:
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [r for r in records if str(r.get("temporal.workflow_id", "")).startswith(workflow_id)]


def _shape(records: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    ignored = {"timestamp", "trace_id", "span_id", "level", "logger", "service.name"}
    return sorted((r["event"], tuple(sorted(set(r) - ignored))) for r in records)


def _duplicates(spans: list[ReadableSpan]) -> list[str]:
    """Names of the spans whose (trace id, span id) reached the exporter more than once."""
    counts = Counter((span.context.trace_id, span.context.span_id) for span in spans)
    return sorted({span.name for span in spans if counts[(span.context.trace_id, span.context.span_id)] > 1})


async def test_every_handler_kind_is_recorded_once_with_or_without_a_cache(dev_server, log_stream) -> None:
    results = {}
    for max_cached, processor in ((1000, SimpleSpanProcessor), (0, BatchSpanProcessor)):
        start = len(log_stream.getvalue())
        workflow_id, spans = await _run(dev_server, max_cached=max_cached, processor=processor)
        records = _records(io.StringIO(log_stream.getvalue()[start:]), workflow_id)
        assert _duplicates(spans) == [], f"max_cached_workflows={max_cached}: a span was exported twice"
        results[max_cached] = (span_tree(_mine(spans, workflow_id), attributes=OUTCOME_KEYS, by_name=True),
                               _shape(records), records, _mine(spans, workflow_id))

    cached_tree, cached_records, records, spans = results[1000]
    assert cached_tree == results[0][0], "the same spans whether the worker caches runs or re-runs them"
    assert cached_records == results[0][1], "the same records whether the worker caches runs or re-runs them"

    text = "\n".join(cached_tree)
    for expected in (
        "HandleUpdate:add_note", "ValidateUpdate:add_note", "HandleUpdate:flaky_note", "HandleSignal:start",
        "HandleQuery:notes_so_far", "Timer temporal.outcome=fired", "Timer temporal.outcome=canceled",
        "StartChildWorkflow:LeafWorkflow", "StartLocalActivity:quick",
        "RunActivity:wait_for_cancel temporal.outcome=canceled temporal.cancel_reason=requested",
        "RunActivity:hang_first_attempt temporal.outcome=timed_out temporal.timeout_type=start_to_close",
        "RunActivity:hang_first_attempt temporal.outcome=timed_out temporal.timeout_type=heartbeat",
    ):
        assert expected in text, f"{expected!r} missing from\n{text}"
    assert text.count("HandleUpdate:flaky_note") == 1, "the failed task's copy is not exported"

    by_event = Counter(r["event"] for r in records)
    runs = {r["temporal.run_id"] for r in records if r["event"] == "workflow started"}
    assert by_event["workflow started"] == len(runs) == 3  # the run, its continuation, the child
    assert by_event["update received"] == 2 and by_event["update rejected"] == 1
    assert by_event["waiting for go"] == 1 and by_event["taking a flaky note"] == 1  # the application's own
    rejected = next(r for r in records if r["event"] == "update rejected")
    assert rejected["update"] == "add_note" and rejected["error"] == "empty note" and rejected["update_id"]
    assert by_event["timer started"] == by_event["timer fired"] + by_event["timer canceled"]
    assert by_event["timer canceled"] == 1 and by_event["timer fired"] >= 2
    timer = next(r for r in records if r["event"] == "timer canceled")
    assert timer["temporal.timer_id"] and timer["temporal.timer_delay_ms"] == 60_000
    timeouts = sorted(r["timeout_type"] for r in records if r["event"] == "activity timed out")
    assert timeouts == ["heartbeat", "start_to_close"]
    canceled = [r for r in records if r["event"] == "activity canceled"]
    assert [r["cancel_reason"] for r in canceled] == ["requested"]

    validate = next(s for s in spans if s.name == "ValidateUpdate:add_note")
    start = next(s for s in spans if s.name == "StartWorkflow:EveryHandlerWorkflow")
    run = next(s for s in spans if s.name == "RunWorkflow:EveryHandlerWorkflow"
               and s.parent.span_id == start.context.span_id)
    assert validate.parent.span_id == run.context.span_id
    assert validate.status.is_ok is False and [e.name for e in validate.events] == ["exception"]
    assert validate.links, "linked to the client's update call, as HandleUpdate is"


async def test_the_interceptor_alone_still_exports_every_span(dev_server) -> None:
    """Without LensPlugin's runner there is no exactly-once guarantee, but no span is lost."""
    with_plugin_id, with_plugin = await _run(dev_server, max_cached=1000, processor=SimpleSpanProcessor)
    alone_id, alone = await _run(dev_server, max_cached=1000, processor=SimpleSpanProcessor, plugin=False)
    assert {s.name for s in _mine(with_plugin, with_plugin_id)} == {s.name for s in _mine(alone, alone_id)}
    # What the runner prevents: the failed task's copy of the update's span is exported, then the retried one.
    assert _duplicates(with_plugin) == [] and "HandleUpdate:flaky_note" in _duplicates(alone)
