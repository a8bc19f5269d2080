"""One `logs` row from plain values: what the JSON-lines loader (`logs`) and the OTLP logs converter both build."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporal_lens import keys
from temporal_lens.collectors.span_rows import int32, int64, text, to_json

# Attribute -> logs column with its coercion; the attribute leaves `attributes` when it fills its column.
LOG_COLUMN_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    keys.WORKFLOW_ID: ("workflow_id", text),
    keys.RUN_ID: ("run_id", text),
    keys.ACTIVITY_ID: ("activity_id", text),
    keys.ATTEMPT: ("attempt", int32),
    keys.EVENT_ID: ("event_id", int64),
}


def log_row(
    *,
    time: datetime | int | None,
    level: str | None,
    event: Any,
    service_name: Any,
    trace_id: Any,
    span_id: Any,
    attributes: dict[str, Any],
    source_file: str | None = None,
    line_no: int | None = None,
) -> dict[str, Any]:
    """A `logs` row; the correlation columns are taken out of `attributes` (which this consumes).

    Args:
        time: a datetime, or microseconds since the epoch.
        event, service_name, trace_id, span_id: stored as text (non-strings as their JSON text).
    """
    row: dict[str, Any] = {
        "time": time,
        "level": level,
        "event": text(event),
        "service_name": text(service_name),
        "trace_id": text(trace_id),
        "span_id": text(span_id),
    }
    for key, (column, convert) in LOG_COLUMN_KEYS.items():
        value = attributes.get(key)
        converted = convert(value)
        row[column] = converted
        if converted is not None:  # an odd value stays visible in `attributes` instead of vanishing
            attributes.pop(key)
    row["attributes"] = to_json(attributes)
    row["source_file"] = source_file
    row["line_no"] = line_no
    # Copied, not moved: questions filter on the column, and the record keeps what it said.
    row["activity_type"] = text(attributes.get(keys.ACTIVITY_TYPE))
    return row


__all__ = ["LOG_COLUMN_KEYS", "log_row"]
