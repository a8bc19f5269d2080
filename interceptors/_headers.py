"""Shortcut: write and read the trace header of a context that is one span and no baggage, by hand.

The public path is `PROPAGATOR.inject` into a dict and the payload converter's JSON encoding, and the reverse. Most
headers are exactly one span (what workflows send to their activities and children, and what the contrib sends):
for those this module writes the same bytes and reads the same context without either. `encode_span` and
`decode_own` return None where the shortcut does not apply; the caller then takes the public path. Equivalence with
the public path is held by tests/test_interceptor_shortcuts.py.
"""

from __future__ import annotations

import re

import temporalio.api.common.v1
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

# The header a context of one span and no baggage makes: read without a JSON parse and a propagator pass.
_TRACEPARENT_ONLY = re.compile(rb'\{"traceparent":"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"\}')
_JSON = b"json/plain"


def traceparent(span: SpanContext) -> str | None:
    """`span`'s W3C traceparent, as the trace-context propagator writes it; None when the propagator would write
    more (trace state) or nothing (an invalid span)."""
    if span.trace_state or not span.is_valid:
        return None
    return f"00-{span.trace_id:032x}-{span.span_id:016x}-{int(span.trace_flags):02x}"


def encode_span(span: SpanContext) -> temporalio.api.common.v1.Payload | None:
    """The payload the propagators + default payload converter make of a context holding just `span`."""
    parent = traceparent(span)
    if parent is None:
        return None
    return temporalio.api.common.v1.Payload(metadata={"encoding": _JSON},
                                            data=f'{{"traceparent":"{parent}"}}'.encode())


def decode_own(payload: temporalio.api.common.v1.Payload) -> otel_context.Context | None:
    """The context the propagators read from a one-span header in the default converter's JSON, else None."""
    own = _TRACEPARENT_ONLY.fullmatch(payload.data)
    if own is None or payload.metadata.get("encoding") != _JSON:
        return None
    trace_id, span_id = int(own[1], 16), int(own[2], 16)
    if not trace_id or not span_id:
        return otel_context.Context()
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(own[3], 16)))
    return trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())
