"""One `spans` row from plain values, and the value coercions every span and log decoder shares.

Every span source decodes into `span_row`: OTLP (`otlp_convert`), Jaeger JSON and its query API (`jaeger`, which
the legacy agent's datagrams go through too) and history synthesis (`history_traces`). The row's join columns
(`workflow_id`, `run_id`, `activity_id`, `attempt`) and the materialized `activity_type` and `outcome` come from the
attribute keys in `temporal_lens.keys` (the activity type else from a `RunActivity:`/`StartActivity:` name), its
duration from its start and end, so every source fills them the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from temporal_lens import keys

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT32 = range(-(2**31), 2**31)
_INT64 = range(-(2**63), 2**63)


def to_json(value: Any) -> str:
    """Compact JSON text for a JSON column; a value JSON has no form for (a datetime) is written as its text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def text(value: Any) -> str | None:
    """A text column's value: strings as they are, anything else as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return to_json(value)


def int32(value: Any) -> int | None:
    return _int_in(value, _INT32)


def int64(value: Any) -> int | None:
    return _int_in(value, _INT64)


def _int_in(value: Any, bounds: range) -> int | None:
    # A non-integral value is a sender's quirk, not a reason to lose the batch; the raw value stays in `attributes`.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number in bounds else None


def hex_from_bytes(raw: bytes, length: int, field: str) -> str:
    """A binary id (OTLP, Thrift) as lowercase hex; `length` bytes, not all zero."""
    # All-zero ids are invalid per the trace context spec and would collide on the primary key.
    if len(raw) != length or not any(raw):
        shown = "all zeros" if raw and not any(raw) else f"{len(raw)} bytes"
        raise ValueError(f"{field} must be {length} non-zero bytes, got {shown}")
    return raw.hex()


def hex_from_text(value: Any, width: int, field: str) -> str:
    """A hex id written as text (Jaeger JSON) left-padded to `width` digits, as OpenTelemetry pads 64-bit ids."""
    digits = str(value).lower()
    try:
        number = int(digits, 16)
    except ValueError:
        raise ValueError(f"{field} {value!r} is not a hex id") from None
    if not number or len(digits) > width:
        raise ValueError(f"{field} {value!r} must be a non-zero id of at most {width} hex digits")
    return digits.rjust(width, "0")


def iso_time(micros: int | None) -> str | None:
    """A span event's time: ISO 8601 in UTC with microseconds, from microseconds since the epoch."""
    if micros is None:
        return None
    return (EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")


def datetime_nanos(moment: datetime | None) -> int | None:
    """Nanoseconds since the epoch, exact to the microsecond a datetime holds (naive ones are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def span_link(trace_id: str, span_id: str, attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One entry of the `links` column: the linked span's ids (32 and 16 hex digits) and the link's attributes."""
    return {"trace_id": trace_id, "span_id": span_id, "attributes": dict(attributes or {})}


def span_row(
    *,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    kind: str | None,
    service_name: str | None,
    start_nanos: int | None,
    end_nanos: int | None,
    status_code: str | None,
    status_message: str | None,
    attributes: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]],
    resource: Mapping[str, Any] | str,
    source: str,
) -> dict[str, Any]:
    """A `spans` row.

    Args:
        start_nanos, end_nanos: nanoseconds since the epoch, None when unknown (the duration is then unknown too).
        events: span events as `{"name", "time" (ISO 8601), "attributes"}`.
        links: `span_link(...)` entries.
        resource: the resource attributes, or their JSON text when a decoder shares one among many spans.
    """
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "name": name,
        "kind": kind,
        "service_name": service_name,
        "start_time": None if start_nanos is None else start_nanos // 1000,
        "end_time": None if end_nanos is None else end_nanos // 1000,
        "duration_ms": (end_nanos - start_nanos) / 1e6 if start_nanos is not None and end_nanos is not None else None,
        "status_code": status_code,
        "status_message": status_message,
        "workflow_id": text(attributes.get(keys.WORKFLOW_ID)),
        "run_id": text(attributes.get(keys.RUN_ID)),
        "activity_id": text(attributes.get(keys.ACTIVITY_ID)),
        "attempt": int32(attributes.get(keys.ATTEMPT)),
        "attributes": to_json(attributes),
        "events": to_json(list(events)),
        "links": to_json(list(links)),
        "resource": resource if isinstance(resource, str) else to_json(resource),
        "source": source,
        "activity_type": text(attributes.get(keys.ACTIVITY_TYPE)) or _activity_named(name),
        "outcome": text(attributes.get(keys.OUTCOME)),
    }


_ACTIVITY_SPAN_PREFIXES = ("RunActivity:", "StartActivity:")
"""Span names that end in the activity type, ours and the contrib interceptor's alike."""


def _activity_named(name: str) -> str | None:
    for prefix in _ACTIVITY_SPAN_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return None


__all__ = [
    "EPOCH",
    "datetime_nanos",
    "hex_from_bytes",
    "hex_from_text",
    "int32",
    "int64",
    "iso_time",
    "span_link",
    "span_row",
    "text",
    "to_json",
]
