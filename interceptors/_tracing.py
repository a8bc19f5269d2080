"""Span plumbing shared by the interceptors: the tracer, header propagation, error-proof span calls.

Everything here is the public OpenTelemetry path, except the named calls into the shortcut modules: `_handoff`
(finished spans handed straight to the SDK's processors, deferred activity spans) and `_headers` (one-span trace
headers written and read by hand). Each shortcut returns "not applicable" where it could differ from this path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import temporalio.api.common.v1
import temporalio.converter
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, FailureError

from temporal_lens import __version__, keys
from temporal_lens.interceptors import _headers
from temporal_lens.interceptors._handoff import DeferredSpan, Handoff, parent_context
from temporal_lens.interceptors._ids import ForcedIdGenerator, forced_ids

# OpenTelemetry picks its context implementation lazily through entry points, which opens files; doing it now, at
# import time, keeps that out of the workflow sandbox.
otel_context.get_current()

_log = logging.getLogger("temporal_lens.interceptors")
_reported: set[str] = set()

LOGGER_NAME = "temporal_lens"
"""The structlog logger name of the interceptors' own records."""
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


def error_type(err: BaseException) -> str:
    """An application error's own type, else the exception class's name."""
    if isinstance(err, ApplicationError) and err.type:
        return err.type
    return type(err).__name__


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
        self.handoff = Handoff()  # decides, per tracer and set of processors, whether spans may skip the SDK's

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
        parent = _headers.traceparent(span)
        if parent is not None:
            return {"traceparent": parent}
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, parent_context(span))
        return carrier

    def inject_span(self, headers: Headers, span: SpanContext) -> Headers:
        """Headers plus `span` as the only trace context: what `inject` writes for a context holding just that
        span (no baggage, no trace state)."""
        try:
            payload = _headers.encode_span(span)
            if payload is None:
                return self.inject(headers, parent_context(span))
            return {**headers, self.header_key: payload}
        except Exception as err:
            report_once("inject", err)
            return headers

    def extract(self, headers: Headers) -> otel_context.Context | None:
        payload = headers.get(self.header_key)
        if not payload:
            return None
        try:
            own = _headers.decode_own(payload)
            if own is not None:
                return own
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
        """`start_span`, or where the SDK would only queue the span when it ends, a span built when it ends
        (`_handoff.DeferredSpan`: it becomes the SDK's span, same ids and start, as soon as anything but
        `annotate` writes to it)."""
        try:
            parent = trace.get_current_span(context).get_span_context() if context is not None else None
            if parent is not None and not parent.is_valid:
                parent = None
            deferred = self.handoff.deferred(self, name, kind, _clean(attributes), parent)
            if deferred is not None:
                return deferred
            return self.start_span(name, kind=kind, attributes=attributes, context=context)
        except Exception as err:
            report_once("start_span", err)
            return trace.INVALID_SPAN

    @staticmethod
    def annotate(span: trace.Span, key: str, value: Any) -> None:
        """Set one of our own attributes on a span from `start_span` or `start_deferred`."""
        try:
            if isinstance(span, DeferredSpan):
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

    def queues_only(self) -> bool:
        """Whether handing over a finished span only queues it (no exporter code, no I/O runs)."""
        return self.handoff.queues_only(self.tracer)

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
            if error is None and self.handoff.finished(self.tracer, name, trace_id, span_id, parent, start_ns,
                                                       end_ns, kind, cleaned, links):
                return
            with forced_ids(trace_id=trace_id, span_id=span_id):
                span = self.tracer.start_span(
                    name,
                    context=parent_context(parent),
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


def span_context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id=trace_id, span_id=span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}
