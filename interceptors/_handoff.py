"""Shortcut: hand finished spans straight to the SDK's span processors.

The public path for a span whose whole life is known is `tracer.start_span(...)` + `span.end(...)`; for a server
span it is a live span from start to end. Both build an SDK span object that our spans never need, because nothing
but `on_end` acts on them when every processor is one of the SDK's exporting ones. This module does what the SDK
would do in that case, from SDK-internal attributes (`tracer._span_limits`, `tracer._instrumentation_scope`,
`span_processor._span_processors`, `tracer._is_enabled()`), and nothing where the result could differ.

`Handoff.sink()` is the one decision: taken for a tracer and its processors, and taken again only when the provider's
processors change (the SDK builds a new tuple whenever one is added). Equivalence with the public path is held by
tests/test_interceptor_shortcuts.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import DEFAULT_ON
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from temporal_lens.interceptors._ids import forced_ids

# Processors whose hooks before on_end do nothing (the SDK's own exporting processors and the base class).
_NO_OP_HOOKS = {
    getattr(cls, hook, None)
    for cls in (SpanProcessor, SimpleSpanProcessor, BatchSpanProcessor)
    for hook in ("on_start", "_on_ending")
}

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)


def child_flags(parent: SpanContext | None) -> TraceFlags:
    """A sampled child's flags, as the SDK sets them: the parent's random-trace-id flag carries over."""
    return _SAMPLED_RANDOM if parent is not None and parent.trace_flags.random_trace_id else _SAMPLED


def parent_context(parent: SpanContext | None) -> otel_context.Context:
    """A context holding just `parent` (an empty one for a root span)."""
    if parent is None:
        return otel_context.Context()
    return trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())


def _acts_only_on_end(processor: SpanProcessor) -> bool:
    return all(getattr(type(processor), hook, None) in _NO_OP_HOOKS for hook in ("on_start", "_on_ending"))


class Handoff:
    """Whether, and where, finished spans of one tracer may skip the SDK's span objects."""

    def __init__(self) -> None:
        self._checked_for: trace.Tracer | None = None
        self._checked_processors: Any = None
        self._sink: tuple[SdkTracer, SpanProcessor] | None = None
        self._queues_only = False

    def sink(self, tracer: trace.Tracer) -> tuple[SdkTracer, SpanProcessor] | None:
        """The tracer and its processor when every processor acts only on end (the shortcut applies), else None."""
        processor = getattr(tracer, "span_processor", None)
        inner = getattr(processor, "_span_processors", None)  # a new tuple whenever a processor is added
        if tracer is not self._checked_for or inner is not self._checked_processors:
            self._checked_for, self._checked_processors = tracer, inner
            self._sink, self._queues_only = None, False
            if (isinstance(tracer, SdkTracer) and tracer._is_enabled()
                    and isinstance(processor, SynchronousMultiSpanProcessor) and inner is not None
                    and all(_acts_only_on_end(p) for p in inner)
                    and hasattr(tracer, "_span_limits") and hasattr(tracer, "_instrumentation_scope")):
                self._sink = (tracer, processor)
                self._queues_only = all(type(p) is BatchSpanProcessor for p in inner)
        return self._sink

    def queues_only(self, tracer: trace.Tracer) -> bool:
        """Whether finished spans go straight to processors that only queue them (the SDK's batch processor):
        handing them over then runs no exporter code and does no I/O."""
        return self.sink(tracer) is not None and self._queues_only

    def finished(
        self,
        tracer: trace.Tracer,
        name: str,
        trace_id: int,
        span_id: int,
        parent: SpanContext | None,
        start_ns: int,
        end_ns: int,
        kind: SpanKind,
        attributes: dict[str, Any],
        links: Sequence[SpanContext],
    ) -> bool:
        """Hand a finished span straight to the SDK's span processors, as `start_span` + `end` would, without
        building a live span first; False (nothing done) where that could differ: not the SDK's tracer, a
        processor that acts when a span starts, or a sampler that does not sample it."""
        sink = self.sink(tracer)
        if sink is None:
            return False
        sdk_tracer, processor = sink
        span_links = [trace.Link(link) for link in links if link.is_valid]
        if sdk_tracer.sampler is DEFAULT_ON and (parent is None or parent.trace_flags.sampled):
            # What the default sampler decides here, without asking it: sampled, attributes as given, the
            # parent's trace state kept.
            trace_state, sampled_attributes = (parent.trace_state if parent is not None else None), attributes
        else:
            sampling = sdk_tracer.sampler.should_sample(parent_context(parent), trace_id, name, kind, attributes,
                                                        span_links)
            if not sampling.decision.is_sampled():
                return False
            trace_state, sampled_attributes = sampling.trace_state, {**(sampling.attributes or {})}
        limits = sdk_tracer._span_limits  # what start_span would apply
        if span_links:
            span_links = [
                trace.Link(link.context, BoundedAttributes(limits.max_link_attributes, {}, max_value_len=None))
                for link in span_links[: limits.max_links]
            ]
        most = limits.max_span_attributes
        if limits.max_span_attribute_length is None and (most is None or len(sampled_attributes) <= most):
            # Within every limit, the SDK's bounded mapping would hold exactly these (already valid) values.
            bounded: Mapping[str, Any] = sampled_attributes
        else:
            bounded = BoundedAttributes(limits.max_span_attributes, sampled_attributes, immutable=True,
                                        max_value_len=limits.max_span_attribute_length)
        span = ReadableSpan(
            name=name,
            context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=child_flags(parent),
                                trace_state=trace_state),
            parent=parent,
            resource=sdk_tracer.resource,
            attributes=bounded,
            links=span_links,
            kind=kind,
            start_time=start_ns,
            end_time=max(end_ns, start_ns),
            instrumentation_scope=sdk_tracer._instrumentation_scope,
        )
        processor.on_end(span)
        return True

    def deferred(
        self,
        tools: Any,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        parent: SpanContext | None,
    ) -> trace.Span | None:
        """A `DeferredSpan` where the SDK would only queue the span when it ends (its sampler is the default one
        and the parent is sampled), else None: the caller starts a live span."""
        tracer = tools.tracer
        sink = self.sink(tracer)
        if sink is None or sink[0].sampler is not DEFAULT_ON or (parent is not None and not parent.trace_flags.sampled):
            return None
        generator = sink[0].id_generator
        trace_id = parent.trace_id if parent is not None else generator.generate_trace_id()
        return DeferredSpan(tools, name, kind, parent, trace_id, generator.generate_span_id(), time.time_ns(),
                            attributes)


class DeferredSpan(trace.Span):
    """A server span kept as values until it ends (then handed over finished, like workflow-side spans), so the
    common case pays for no live span. Anything that writes to it (user code adding an attribute or an event,
    an exception being recorded) turns it into the SDK's span first, with the same ids and start time."""

    def __init__(self, tools: Any, name: str, kind: SpanKind, parent: SpanContext | None, trace_id: int,
                 span_id: int, start_ns: int, attributes: dict[str, Any]) -> None:
        self._tools, self._name, self._kind, self._parent = tools, name, kind, parent
        self._context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=child_flags(parent),
                                    trace_state=parent.trace_state if parent is not None else None)
        self._start_ns = start_ns
        self._attributes = attributes
        self._live: trace.Span | None = None
        self._ended = False

    def annotate(self, key: str, value: Any) -> None:
        if self._live is not None:
            self._live.set_attribute(key, value)
        elif value is not None:
            self._attributes[key] = value

    def _materialize(self) -> trace.Span:
        if self._ended:  # handed over already: later writes are dropped, as an ended SDK span drops them
            return NonRecordingSpan(self._context)
        if self._live is None:
            with forced_ids(trace_id=self._context.trace_id, span_id=self._context.span_id):
                self._live = self._tools.tracer.start_span(self._name, context=parent_context(self._parent),
                                                           kind=self._kind, attributes=self._attributes,
                                                           start_time=self._start_ns)
        return self._live

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._ended if self._live is None else self._live.is_recording()

    def end(self, end_time: int | None = None) -> None:
        if self._live is not None:
            self._live.end(end_time)
        elif not self._ended:
            self._ended = True
            self._tools.emit_completed(self._name, trace_id=self._context.trace_id, span_id=self._context.span_id,
                                       parent=self._parent, start_ns=self._start_ns,
                                       end_ns=end_time or time.time_ns(), kind=self._kind,
                                       attributes=self._attributes)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._materialize().set_attributes(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        self._materialize().set_attribute(key, value)

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        self._materialize().add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: Any = None) -> None:
        self._materialize().add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self._materialize().update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self._materialize().set_status(status, description)

    def record_exception(self, exception: BaseException, attributes: Any = None, timestamp: int | None = None,
                         escaped: bool = False) -> None:
        self._materialize().record_exception(exception, attributes, timestamp, escaped)
