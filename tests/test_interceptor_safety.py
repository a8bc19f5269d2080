"""Replay safety, fault isolation and data safety of the interceptors, on a real dev server."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import uuid

import pytest
import structlog
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Replayer, Worker

from temporal_lens.interceptors import LensInterceptor, LensPlugin, structlog_processors, with_passthrough
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

SENTINEL = "4111-SENTINEL-1111"


def _memory_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


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
    provider, exporter = _memory_provider()
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
        provider, exporter = _memory_provider()
        client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
        queue = f"evict-{uuid.uuid4()}"
        async with Worker(client, task_queue=queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                          max_cached_workflows=max_cached):
            await _run_all(client, queue)
        counts.append(sorted(s.name for s in exporter.get_finished_spans()))
    assert counts[0] == counts[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _RaisingLogger:
    def msg(self, message: str) -> None:
        raise OSError("log sink is full")

    info = warning = error = debug = msg


async def test_broken_telemetry_never_breaks_workflows(dev_server, task_queue) -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{_closed_port()}", insecure=True, timeout=1))
    )

    def raising_redaction(kind, value):
        raise RuntimeError("redaction hook bug")

    structlog.configure(processors=[*structlog_processors("t"), structlog.processors.JSONRenderer()],
                        logger_factory=lambda *a: _RaisingLogger(), cache_logger_on_first_use=False)
    try:
        interceptor = LensInterceptor(tracer_provider=provider, record_payloads=True, redact=raising_redaction)
        client = await Client.connect(dev_server.address, interceptors=[interceptor])
        async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                          workflow_runner=with_passthrough(None)):
            result = await client.execute_workflow(
                RetryWorkflow.run, 1, id=f"broken-{uuid.uuid4()}", task_queue=task_queue
            )
        assert result == "ok after 2"
    finally:
        structlog.reset_defaults()
        provider.shutdown()


async def test_sentinel_in_input_stays_out_of_spans_and_logs_by_default(dev_server, task_queue, tmp_path) -> None:
    provider, exporter = _memory_provider()
    log_file = (tmp_path / "log.jsonl").open("w")
    structlog.configure(processors=[*structlog_processors("t"), structlog.processors.JSONRenderer(default=str)],
                        logger_factory=structlog.WriteLoggerFactory(file=log_file), cache_logger_on_first_use=False)
    try:
        client = await Client.connect(dev_server.address, plugins=[LensPlugin(tracer_provider=provider)])
        async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
            await client.execute_workflow(ParentWorkflow.run, id=f"pii-{SENTINEL}", task_queue=task_queue)
            handle = await client.start_workflow(InteractiveWorkflow.run, id=f"pii-{uuid.uuid4()}",
                                                 task_queue=task_queue)
            await handle.execute_update(InteractiveWorkflow.set_note, SENTINEL)
            await handle.signal(InteractiveWorkflow.approve)
            assert await handle.result() == SENTINEL
    finally:
        structlog.reset_defaults()
        log_file.close()
    text = json.dumps([s.to_json() for s in exporter.get_finished_spans()])
    # the workflow id is an identifier we deliberately record; the sentinel passed as an update argument and
    # returned as the result must not appear anywhere else
    assert text.count(SENTINEL) == text.count(f"pii-{SENTINEL}")
    logs = (tmp_path / "log.jsonl").read_text()
    assert logs.count(SENTINEL) == logs.count(f"pii-{SENTINEL}")


async def test_opt_in_payloads_are_redacted_and_capped(dev_server, task_queue) -> None:
    provider, exporter = _memory_provider()

    def redact(kind, value):
        return json.loads(json.dumps(value, default=str).replace(SENTINEL, "[redacted]"))

    interceptor = LensInterceptor(tracer_provider=provider, record_payloads=True, redact=redact, max_payload_bytes=64)
    client = await Client.connect(dev_server.address, interceptors=[interceptor])
    async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                      workflow_runner=with_passthrough(None)):
        await client.execute_workflow(CompensatingWorkflow.run, 7, id=f"payload-{uuid.uuid4()}", task_queue=task_queue)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["RunActivity:charge"].attributes["temporal.activity.args"] == "[7]"
    assert spans["RunActivity:charge"].attributes["temporal.activity.result"] == '"charged"'
    assert spans["RunWorkflow:CompensatingWorkflow"].attributes["temporal.workflow.result"] == '"charged"'
    assert interceptor.payload_attributes("activity.args", [SENTINEL]) == {"temporal.activity.args": '["[redacted]"]'}
    capped = interceptor.payload_attributes("activity.args", ["x" * 500])["temporal.activity.args"]
    assert capped.startswith('["xxx') and "truncated" in capped and len(capped.encode()) < 120


def test_configure_telemetry_is_idempotent_and_reads_the_environment(tmp_path) -> None:
    script = """
import json, sys
from temporal_lens.interceptors import configure_telemetry, get_logger
first = configure_telemetry(log_path=sys.argv[1])
second = configure_telemetry(service_name="ignored")
get_logger().info("hello")
# Values orjson refuses (an int beyond 64 bits, a non-string key) and values JSON lacks still make a record.
get_logger().info("odd values", big=2**70, mapping={1: "one"}, thing=object.__new__(type("Thing", (), {})))
on_disk = open(sys.argv[1]).read().count("\\n")  # before any flush or shutdown: a killed process keeps them
resource = dict(first.tracer_provider.resource.attributes)
from opentelemetry.sdk.resources import Resource
plain = Resource(resource, first.tracer_provider.resource.schema_url)  # what exporters group spans by
same_key = plain == first.tracer_provider.resource and hash(plain) == hash(first.tracer_provider.resource)
first.shutdown()
print(json.dumps({"same": first is second, "service": first.service_name, "endpoint": first.otlp_endpoint,
                  "team": resource.get("team"), "on_disk": on_disk, "same_key": same_key}))
"""
    env = {"PATH": "/usr/bin:/bin", "OTEL_SERVICE_NAME": "svc-from-env", "OTEL_RESOURCE_ATTRIBUTES": "team=lens",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"127.0.0.1:{_closed_port()}"}
    completed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.jsonl")], env=env,
                               capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(completed.stdout.splitlines()[-1])
    assert report == {"same": True, "service": "svc-from-env", "endpoint": env["OTEL_EXPORTER_OTLP_ENDPOINT"],
                      "team": "lens", "on_disk": 2, "same_key": True}
    record, odd = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert record["event"] == "hello" and record["service.name"] == "svc-from-env" and record["level"] == "info"
    for written in (record, odd):  # orjson's rendering and the fallback's write the TimeStamper's text
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", written["timestamp"]), written
    assert odd["big"] == 2**70 and odd["mapping"] == {"1": "one"} and odd["thing"].startswith("<__main__.Thing")


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="max_payload_bytes"):
        LensInterceptor(max_payload_bytes=1)
    with pytest.raises(ValueError, match="redact must be callable"):
        LensInterceptor(redact="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("setup", ["default", "limits", "ratio-sampler"])
def test_finished_spans_handed_straight_to_processors_match_the_tracer_path(setup: str) -> None:
    """Workflow-side spans skip building a live span where the SDK would do nothing more with it; what the
    exporter receives must be the same either way (attribute limits, samplers, trace state and unsampled parents
    included), and a processor that acts on start gets the full path."""
    from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState

    from temporal_lens.interceptors._ids import ForcedIdGenerator
    from temporal_lens.interceptors._tracing import SpanTools, span_context

    class Starts(SpanProcessor):
        def __init__(self) -> None:
            self.started = 0

        def on_start(self, span, parent_context=None) -> None:
            self.started += 1

    options = {
        "default": {},
        "limits": {"span_limits": SpanLimits(max_span_attributes=2, max_span_attribute_length=3)},
        "ratio-sampler": {"sampler": ParentBased(TraceIdRatioBased(0.5))},
    }[setup]
    remote = SpanContext(0xABC, 0x999, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED),
                         trace_state=TraceState([("vendor", "v1")]))
    unsampled = SpanContext(0xAAA, 0x111, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))

    def emitted(with_start_hook: bool):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(id_generator=ForcedIdGenerator(), **options)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        starts = Starts()
        if with_start_hook:
            provider.add_span_processor(starts)
        tools = SpanTools(provider)
        assert (tools._direct_sink() is None) == with_start_hook  # the path under test is the one taken
        parent = span_context(0xABC, 0x123)
        tools.emit_completed("StartActivity:step", trace_id=0xABC, span_id=0x456, parent=parent, start_ns=10,
                             end_ns=25, kind=SpanKind.CLIENT, attributes={"temporal.workflow_id": "w", "x": None},
                             links=[span_context(0xDEF, 0x789)])
        tools.emit_completed("RunWorkflow:W", trace_id=0xABC, span_id=0x123, parent=remote, start_ns=5, end_ns=3,
                             kind=SpanKind.SERVER, attributes={"temporal.event_id": 7, "a": "long text", "b": 1.5})
        tools.emit_completed("Unsampled", trace_id=0xAAA, span_id=0x222, parent=unsampled, start_ns=1, end_ns=2,
                             kind=SpanKind.INTERNAL, attributes={})
        for trace_id in range(1, 9):  # roots: the ratio sampler keeps some, drops others
            mixed = (trace_id * 0x9E3779B97F4A7C15) % 2**64 | 1 << 100  # the ratio sampler reads the low 64 bits
            tools.emit_completed(f"Root{trace_id}", trace_id=mixed, span_id=trace_id, parent=None,
                                 start_ns=1, end_ns=2, kind=SpanKind.INTERNAL, attributes={"n": trace_id})
        spans = exporter.get_finished_spans()
        return [(s.to_json(), s.dropped_attributes) for s in spans], starts.started

    direct, _ = emitted(with_start_hook=False)
    full, started = emitted(with_start_hook=True)
    assert direct == full
    assert started == len(direct)  # recorded spans only: the unsampled one never starts
    assert len(direct) == 10 if setup != "ratio-sampler" else 2 < len(direct) < 10
    assert "RunWorkflow:W" in direct[1][0] and "vendor" in direct[1][0]  # the remote parent's trace state
    if setup == "limits":
        assert direct[1][1] == 1 and '"lon"' in direct[1][0]


def test_trace_headers_match_the_propagators_and_the_payload_converter() -> None:
    """Headers are written and read without the propagators where the context is one span and no baggage; what is
    written must be byte-identical to the propagator + payload converter path, and what is read the same context."""
    import temporalio.converter
    from opentelemetry import baggage, trace
    from opentelemetry import context as otel_context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    from temporal_lens.interceptors._tracing import PROPAGATOR, SpanTools

    tools = SpanTools(None)
    converter = temporalio.converter.PayloadConverter.default
    spans = [
        SpanContext(0x1234567890ABCDEF1234567890ABCDEF, 0xFEDCBA0987654321, False, TraceFlags(TraceFlags.SAMPLED)),
        SpanContext(0xABC, 0x1, False, TraceFlags(TraceFlags.DEFAULT)),
        SpanContext(0xABC, 0x2, True, TraceFlags(TraceFlags.SAMPLED), TraceState([("vendor", "v1")])),
    ]
    for span in spans:
        context = trace.set_span_in_context(NonRecordingSpan(span), otel_context.Context())
        assert tools.inject_span({}, span) == tools.inject({}, context)

    def header(carrier: dict[str, str]):
        return {tools.header_key: converter.to_payloads([carrier])[0]}

    def read(context):
        return trace.get_current_span(context).get_span_context(), dict(baggage.get_all(context))

    with_baggage = baggage.set_baggage("tenant", "t1", trace.set_span_in_context(NonRecordingSpan(spans[0])))
    carriers = [
        {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"},
        {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-00"},
        {"traceparent": f"00-{'0' * 32}-{'cd' * 8}-01"},  # invalid: zero trace id
        {"traceparent": f"00-{'AB' * 16}-{'cd' * 8}-01"},  # not lowercase: for the propagator to judge
        {"traceparent": f"01-{'ab' * 16}-{'cd' * 8}-01"},  # a later version
    ]
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, with_baggage)
    carriers.append(carrier)
    for carrier in carriers:
        assert read(tools.extract(header(carrier))) == read(PROPAGATOR.extract(carrier)), carrier
    assert read(tools.extract(header(carriers[-1])))[1] == {"tenant": "t1"}
    assert tools.extract({}) is None


def test_span_hand_over_follows_processors_added_later() -> None:
    """Which path a finished span takes is decided again when the provider gains a processor: one that acts on
    start gets the full path from then on, and only the SDK's batch processor counts as merely queueing."""
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from temporal_lens.interceptors._tracing import SpanTools

    class Starts(SpanProcessor):
        started = 0

        def on_start(self, span, parent_context=None) -> None:
            Starts.started += 1

    provider = TracerProvider()
    batch = BatchSpanProcessor(InMemorySpanExporter())
    provider.add_span_processor(batch)
    tools = SpanTools(provider)

    def emit(span_id: int) -> None:
        tools.emit_completed("S", trace_id=0xABC, span_id=span_id, parent=None, start_ns=1, end_ns=2,
                             kind=SpanKind.INTERNAL, attributes={})

    emit(1)
    assert tools.queues_only()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert not tools.queues_only() and tools._direct_sink() is not None
    provider.add_span_processor(Starts())
    emit(2)
    assert Starts.started == 1 and tools._direct_sink() is None and not tools.queues_only()
    provider.shutdown()


def test_deferred_activity_spans_export_what_live_spans_would() -> None:
    """Activity spans are built when they end unless something writes to them; either way the exporter must get
    what a live SDK span would give (ids, flags, trace state, parent, attributes), and writes must not be lost."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

    from temporal_lens.interceptors._ids import ForcedIdGenerator
    from temporal_lens.interceptors._tracing import SpanTools, _DeferredSpan

    remote = SpanContext(0xABC, 0x999, is_remote=True, trace_state=TraceState([("vendor", "v1")]),
                         trace_flags=TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID))
    parent_context = trace.set_span_in_context(NonRecordingSpan(remote), otel_context.Context())

    def setup(**options):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(id_generator=ForcedIdGenerator(), **options)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return SpanTools(provider), exporter

    def shape(span) -> dict:
        return {"name": span.name, "kind": span.kind, "context": span.context, "parent": span.parent,
                "attributes": dict(span.attributes), "status": span.status.status_code,
                "events": [event.name for event in span.events], "resource": span.resource,
                "scope": span.instrumentation_scope}

    def run(deferred: bool, *, touch: bool, fail: bool):
        tools, exporter = setup()
        attributes = {"temporal.activity_id": "1", "x": None}
        if deferred:
            span = tools.start_deferred("RunActivity:a", kind=SpanKind.SERVER, attributes=attributes,
                                        context=parent_context)
            assert isinstance(span, _DeferredSpan)
        else:
            span = tools.start_span("RunActivity:a", kind=SpanKind.SERVER, attributes=attributes,
                                    context=parent_context)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            child = tools.tracer.start_span("user-child")  # user code inside the activity
            child.end()
            if touch:
                trace.get_current_span().set_attribute("user.key", "v")
                trace.get_current_span().add_event("user event")
        finally:
            otel_context.detach(token)
        tools.annotate(span, "temporal.outcome", "failed" if fail else "completed")
        tools.end_span(span, RuntimeError("boom") if fail else None)
        span.set_attribute("after.end", 1)  # dropped, as on an ended SDK span
        assert not span.is_recording()
        spans = {s.name: s for s in exporter.get_finished_spans()}
        assert len(spans) == 2 and spans["user-child"].parent.span_id == span.get_span_context().span_id
        return span.get_span_context(), shape(spans["RunActivity:a"])

    for touch, fail in [(False, False), (True, False), (False, True)]:
        deferred_context, deferred = run(True, touch=touch, fail=fail)
        live_context, live = run(False, touch=touch, fail=fail)
        # Span ids are random in both paths; everything else must match, in the span and in its exported copy.
        for current, exported in ((deferred_context, deferred.pop("context")), (live_context, live.pop("context"))):
            assert exported == current
        assert (deferred_context.trace_id, deferred_context.trace_flags, deferred_context.trace_state) == (
            live_context.trace_id, live_context.trace_flags, live_context.trace_state)
        assert deferred == live, (touch, fail)
        assert ("user.key" in deferred["attributes"]) == touch and "after.end" not in deferred["attributes"]

    tools, _ = setup(sampler=ALWAYS_ON)  # not the default sampler: no deferring, the SDK decides
    assert not isinstance(tools.start_deferred("S", kind=SpanKind.SERVER, attributes={}, context=None),
                          _DeferredSpan)
