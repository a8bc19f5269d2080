"""Each shortcut (interceptors/_handoff.py, interceptors/_headers.py) held to the public OpenTelemetry path it
replaces: what reaches the exporter, or what is written into and read from headers, must be the same."""

from __future__ import annotations

import pytest


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
        assert (tools.handoff.sink(tools.tracer) is None) == with_start_hook  # the path under test is the one taken
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
    assert not tools.queues_only() and tools.handoff.sink(tools.tracer) is not None
    provider.add_span_processor(Starts())
    emit(2)
    assert Starts.started == 1 and tools.handoff.sink(tools.tracer) is None and not tools.queues_only()
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

    from temporal_lens.interceptors._handoff import DeferredSpan
    from temporal_lens.interceptors._ids import ForcedIdGenerator
    from temporal_lens.interceptors._tracing import SpanTools

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
            assert isinstance(span, DeferredSpan)
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
                          DeferredSpan)
