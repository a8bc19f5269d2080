"""Span plumbing shared by the interceptors: the tracer, header propagation, error-proof span calls."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import temporalio.api.common.v1
import temporalio.converter
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import DEFAULT_ON
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, FailureError

from temporal_lens import __version__, keys
from temporal_lens.interceptors._ids import ForcedIdGenerator, forced_ids

# OpenTelemetry picks its context implementation lazily through entry points, which opens files; doing it now, at
# import time, keeps that out of the workflow sandbox.
otel_context.get_current()

_log = logging.getLogger("temporal_lens.interceptors")
_reported: set[str] = set()

TRACE_CONTEXT = TraceContextTextMapPropagator()
PROPAGATOR = CompositePropagator([TRACE_CONTEXT, W3CBaggagePropagator()])
Headers = Mapping[str, temporalio.api.common.v1.Payload]


def report_once(where: str, err: BaseException) -> None:
    """Telemetry must never break the application: note the first failure of each kind and go on."""
    key = f"{where}:{type(err).__name__}"
    if key not in _reported:
        _reported.add(key)
        _log.warning("temporal-lens telemetry failed in %s (further failures here are not logged): %r", where, err)


def is_benign(err: BaseException) -> bool:
    return isinstance(err, ApplicationError) and err.category == ApplicationErrorCategory.BENIGN


def error_message(err: BaseException) -> str:
    """The error's own message: Temporal's failures prefix str() with their type, which a reader compares badly."""
    if isinstance(err, FailureError):
        return err.message
    return str(err) or type(err).__name__


def error_status(err: BaseException) -> Status | None:
    if is_benign(err):
        return None
    return Status(StatusCode.ERROR, f"{type(err).__name__}: {error_message(err)}")


def record_error(span: trace.Span, err: BaseException, timestamp: int | None = None) -> None:
    span.record_exception(err, attributes={"exception.message": error_message(err)}, timestamp=timestamp)
    status = error_status(err)
    if status is not None:
        span.set_status(status)


class SpanTools:
    """The tracer and header codec an interceptor uses; every method is safe to call from Temporal hooks."""

    def __init__(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._provider = tracer_provider
        self._tracer: trace.Tracer | None = None
        self.header_key = keys.TRACE_HEADER
        self.payload_converter = temporalio.converter.PayloadConverter.default
        self._sink_checked_for: trace.Tracer | None = None
        self._sink_checked_processors: Any = None
        self._sink: tuple[SdkTracer, SpanProcessor] | None = None
        self._queues_only = False

    @property
    def tracer(self) -> trace.Tracer:
        if self._tracer is not None:
            return self._tracer
        provider = self._provider or trace.get_tracer_provider()
        tracer = provider.get_tracer("temporal_lens", __version__)
        generator = getattr(tracer, "id_generator", None)
        if generator is not None and not isinstance(generator, ForcedIdGenerator):
            # Only this tracer object is changed: other instrumentation keeps the provider's generator.
            tracer.id_generator = ForcedIdGenerator(generator)  # type: ignore[attr-defined]
        if not isinstance(provider, trace.ProxyTracerProvider):
            self._tracer = tracer  # a proxy may be replaced by a real provider later: look again next time
        return tracer

    def inject(self, headers: Headers, context: otel_context.Context | None = None) -> Headers:
        """Headers plus the trace context of `context` (default: the current one)."""
        try:
            carrier: dict[str, str] = {}
            PROPAGATOR.inject(carrier, context)
            if not carrier:
                return headers
            return {**headers, self.header_key: self.payload_converter.to_payloads([carrier])[0]}
        except Exception as err:
            report_once("inject", err)
            return headers

    @staticmethod
    def span_carrier(span: SpanContext) -> dict[str, str]:
        """`span` as a W3C text map (what the propagators write for a context holding just that span)."""
        carrier: dict[str, str] = {}
        if span.trace_state or not span.is_valid:
            PROPAGATOR.inject(carrier, trace.set_span_in_context(NonRecordingSpan(span), otel_context.Context()))
        else:
            carrier["traceparent"] = f"00-{span.trace_id:032x}-{span.span_id:016x}-{int(span.trace_flags):02x}"
        return carrier

    def inject_span(self, headers: Headers, span: SpanContext) -> Headers:
        """Headers plus `span` as the only trace context: what `inject` writes for a context holding just that
        span (no baggage, no trace state), without going through the propagators and the payload converter."""
        try:
            if span.trace_state or not span.is_valid:
                return self.inject(headers, trace.set_span_in_context(NonRecordingSpan(span), otel_context.Context()))
            parent = self.span_carrier(span)["traceparent"]
            return {**headers, self.header_key: _json_payload(f'{{"traceparent":"{parent}"}}')}
        except Exception as err:
            report_once("inject", err)
            return headers

    def extract(self, headers: Headers) -> otel_context.Context | None:
        payload = headers.get(self.header_key)
        if not payload:
            return None
        try:
            own = _TRACEPARENT_ONLY.fullmatch(payload.data)
            if own is not None and payload.metadata.get("encoding") == b"json/plain":
                return _remote_parent(own)
            if payload.metadata.get("encoding") == b"json/plain":
                carrier = json.loads(payload.data)
            else:  # another SDK's encoding: the converter knows it
                carrier = self.payload_converter.from_payloads([payload])[0]
            if not carrier:
                return None
            if isinstance(carrier, dict) and carrier.keys() == {"traceparent"}:  # what workflows send: no baggage
                return TRACE_CONTEXT.extract(carrier)
            return PROPAGATOR.extract(carrier)
        except Exception as err:
            report_once("extract", err)
            return None

    def linked(self, headers: Headers) -> list[SpanContext]:
        """The caller's span from `headers`, as a link target (a handler's parent is the run, not the caller)."""
        extracted = self.extract(headers)
        if extracted is None:
            return []
        caller = trace.get_current_span(extracted).get_span_context()
        return [caller] if caller.is_valid else []

    def start_span(
        self,
        name: str,
        *,
        kind: SpanKind,
        attributes: Mapping[str, Any],
        context: otel_context.Context | None = None,
    ) -> trace.Span:
        try:
            return self.tracer.start_span(name, context=context, kind=kind, attributes=_clean(attributes))
        except Exception as err:
            report_once("start_span", err)
            return trace.INVALID_SPAN

    def start_deferred(
        self,
        name: str,
        *,
        kind: SpanKind,
        attributes: dict[str, Any],
        context: otel_context.Context | None,
    ) -> trace.Span:
        """`start_span`, but where the SDK would only queue the span when it ends (see `_finished`), a span that
        is built when it ends, unless something other than `annotate` writes to it first: then it becomes the
        SDK's span, started at the same time with the same ids, and goes on from there."""
        try:
            sink = self._direct_sink()
            parent = trace.get_current_span(context).get_span_context() if context is not None else None
            if parent is not None and not parent.is_valid:
                parent = None
            if sink is None or sink[0].sampler is not DEFAULT_ON or (parent is not None
                                                                     and not parent.trace_flags.sampled):
                return self.start_span(name, kind=kind, attributes=attributes, context=context)
            generator = sink[0].id_generator
            trace_id = parent.trace_id if parent is not None else generator.generate_trace_id()
            return _DeferredSpan(self, name, kind, parent, trace_id, generator.generate_span_id(),
                                 time.time_ns(), _clean(attributes))
        except Exception as err:
            report_once("start_span", err)
            return trace.INVALID_SPAN

    @staticmethod
    def annotate(span: trace.Span, key: str, value: Any) -> None:
        """Set one of our own attributes on a span from `start_span` or `start_deferred`."""
        try:
            if isinstance(span, _DeferredSpan):
                span.annotate(key, value)
            else:
                span.set_attribute(key, value)
        except Exception as err:
            report_once("set_attribute", err)

    def end_span(self, span: trace.Span, error: BaseException | None = None) -> None:
        try:
            if error is not None:
                record_error(span, error)
            span.end()
        except Exception as err:
            report_once("end_span", err)

    def emit_completed(
        self,
        name: str,
        *,
        trace_id: int,
        span_id: int,
        parent: SpanContext | None,
        start_ns: int,
        end_ns: int,
        kind: SpanKind,
        attributes: Mapping[str, Any],
        error: BaseException | None = None,
        links: Sequence[SpanContext] = (),
    ) -> None:
        """Export a span whose whole life is already known (workflow-side spans, built when they end)."""
        try:
            if parent is not None and not parent.is_valid:
                parent = None
            cleaned = _clean(attributes)
            if error is None and self._finished(name, trace_id, span_id, parent, start_ns, end_ns, kind, cleaned,
                                                links):
                return
            with forced_ids(trace_id=trace_id, span_id=span_id):
                span = self.tracer.start_span(
                    name,
                    context=_parent_context(parent),
                    kind=kind,
                    attributes=cleaned,
                    start_time=start_ns,
                    links=[trace.Link(link) for link in links if link.is_valid],
                )
            if error is not None:
                record_error(span, error, timestamp=end_ns)
            span.end(end_time=max(end_ns, start_ns))
        except Exception as err:
            report_once("emit_completed", err)

    def _finished(
        self,
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
        sink = self._direct_sink()
        if sink is None:
            return False
        tracer, processor = sink
        span_links = [trace.Link(link) for link in links if link.is_valid]
        if tracer.sampler is DEFAULT_ON and (parent is None or parent.trace_flags.sampled):
            # What the default sampler decides here, without asking it: sampled, attributes as given, the
            # parent's trace state kept.
            trace_state, sampled_attributes = (parent.trace_state if parent is not None else None), attributes
        else:
            sampling = tracer.sampler.should_sample(_parent_context(parent), trace_id, name, kind, attributes,
                                                    span_links)
            if not sampling.decision.is_sampled():
                return False
            trace_state, sampled_attributes = sampling.trace_state, {**(sampling.attributes or {})}
        limits = tracer._span_limits  # what start_span would apply (SDK-internal: checked in _direct_sink)
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
            context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=_child_flags(parent),
                                trace_state=trace_state),
            parent=parent,
            resource=tracer.resource,
            attributes=bounded,
            links=span_links,
            kind=kind,
            start_time=start_ns,
            end_time=max(end_ns, start_ns),
            instrumentation_scope=tracer._instrumentation_scope,
        )
        processor.on_end(span)
        return True

    def queues_only(self) -> bool:
        """Whether finished spans go straight to processors that only queue them (the SDK's batch processor):
        handing them over then runs no exporter code and does no I/O."""
        return self._direct_sink() is not None and self._queues_only

    def _direct_sink(self) -> tuple[SdkTracer, SpanProcessor] | None:
        tracer = self.tracer
        processor = getattr(tracer, "span_processor", None)
        inner = getattr(processor, "_span_processors", None)  # a new tuple whenever a processor is added
        if tracer is not self._sink_checked_for or inner is not self._sink_checked_processors:
            self._sink_checked_for, self._sink_checked_processors = tracer, inner
            self._sink, self._queues_only = None, False
            if (isinstance(tracer, SdkTracer) and tracer._is_enabled()
                    and isinstance(processor, SynchronousMultiSpanProcessor) and inner is not None
                    and all(_acts_only_on_end(p) for p in inner)
                    and hasattr(tracer, "_span_limits") and hasattr(tracer, "_instrumentation_scope")):
                self._sink = (tracer, processor)
                self._queues_only = all(type(p) is BatchSpanProcessor for p in inner)
        return self._sink


class _DeferredSpan(trace.Span):
    """A server span kept as values until it ends (then handed over finished, like workflow-side spans), so the
    common case pays for no live span. Anything that writes to it (user code adding an attribute or an event,
    an exception being recorded) turns it into the SDK's span first, with the same ids and start time."""

    def __init__(self, tools: SpanTools, name: str, kind: SpanKind, parent: SpanContext | None, trace_id: int,
                 span_id: int, start_ns: int, attributes: dict[str, Any]) -> None:
        self._tools, self._name, self._kind, self._parent = tools, name, kind, parent
        self._context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=_child_flags(parent),
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
                self._live = self._tools.tracer.start_span(self._name, context=_parent_context(self._parent),
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


# Processors whose hooks before on_end do nothing (the SDK's own exporting processors and the base class).
_NO_OP_HOOKS = {
    getattr(cls, hook, None)
    for cls in (SpanProcessor, SimpleSpanProcessor, BatchSpanProcessor)
    for hook in ("on_start", "_on_ending")
}


def _acts_only_on_end(processor: SpanProcessor) -> bool:
    return all(getattr(type(processor), hook, None) in _NO_OP_HOOKS for hook in ("on_start", "_on_ending"))


_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)

# The header a context of one span and no baggage makes (what workflows send, and what the contrib sends there):
# read without a JSON parse and a propagator pass, to the same context the trace-context propagator returns.
_TRACEPARENT_ONLY = re.compile(rb'\{"traceparent":"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"\}')


def _remote_parent(match: re.Match[bytes]) -> otel_context.Context:
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return otel_context.Context()
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(match[3], 16)))
    return trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())


def _child_flags(parent: SpanContext | None) -> TraceFlags:
    """A sampled child's flags, as the SDK sets them: the parent's random-trace-id flag carries over."""
    return _SAMPLED_RANDOM if parent is not None and parent.trace_flags.random_trace_id else _SAMPLED


def _parent_context(parent: SpanContext | None) -> otel_context.Context:
    """A context holding just `parent` (an empty one for a root span)."""
    if parent is None:
        return otel_context.Context()
    return trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())


def _json_payload(text: str) -> temporalio.api.common.v1.Payload:
    """The payload the default converter makes of a JSON value (encoding json/plain, compact text)."""
    return temporalio.api.common.v1.Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def span_context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}
