"""Every collector table's shape: its Arrow schema (column order and types) and which text columns are JSON.

The one home of the tables' columns: writers build their batches with these schemas, and `schema.sql` (the DDL
`open_database` runs) is checked against them by a test (`DESCRIBE <table>` equals the schema, column for column).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class TableShape:
    """A table's Arrow schema and the string columns DuckDB stores as JSON."""

    name: str
    schema: pa.Schema
    json_columns: frozenset[str]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    def table(self, columns: dict[str, list]) -> pa.Table:
        """An Arrow table of this shape from column lists (missing columns are null)."""
        rows = max((len(values) for values in columns.values()), default=0)
        return pa.table(
            {name: columns.get(name, [None] * rows) for name in self.schema.names}, schema=self.schema
        )

    def from_rows(self, rows: list[dict]) -> pa.Table:
        """An Arrow table of this shape from row dicts (missing keys are null)."""
        return pa.Table.from_pylist(rows, schema=self.schema)


def _shape(name: str, fields: list[tuple[str, pa.DataType]], json_columns: set[str]) -> TableShape:
    return TableShape(name, pa.schema(fields), frozenset(json_columns))


HISTORY_EVENTS = _shape(
    "history_events",
    [
        ("namespace", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("event_id", pa.int64()),
        ("event_time", _TIME),
        ("event_type", pa.string()),
        ("task_queue", pa.string()),
        ("activity_id", pa.string()),
        ("activity_type", pa.string()),
        ("attempt", pa.int32()),
        ("scheduled_event_id", pa.int64()),
        ("started_event_id", pa.int64()),
        ("failure_message", pa.string()),
        ("failure_type", pa.string()),
        ("retry_state", pa.string()),
        ("timer_id", pa.string()),
        ("signal_name", pa.string()),
        ("update_name", pa.string()),
        ("identity", pa.string()),
        ("attributes", pa.string()),
    ],
    {"attributes"},
)

WORKFLOWS = _shape(
    "workflows",
    [
        ("namespace", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("workflow_type", pa.string()),
        ("status", pa.string()),
        ("start_time", _TIME),
        ("close_time", _TIME),
        ("task_queue", pa.string()),
        ("parent_workflow_id", pa.string()),
        ("parent_run_id", pa.string()),
        ("history_length", pa.int64()),
        ("search_attributes", pa.string()),
    ],
    {"search_attributes"},
)

SPANS = _shape(
    "spans",
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("service_name", pa.string()),
        ("start_time", _TIME),
        ("end_time", _TIME),
        ("duration_ms", pa.float64()),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("activity_id", pa.string()),
        ("attempt", pa.int32()),
        ("attributes", pa.string()),
        ("events", pa.string()),
        ("resource", pa.string()),
        ("source", pa.string()),
        ("links", pa.string()),
        ("activity_type", pa.string()),
        ("outcome", pa.string()),
    ],
    {"attributes", "events", "resource", "links"},
)

LOGS = _shape(
    "logs",
    [
        ("time", _TIME),
        ("level", pa.string()),
        ("event", pa.string()),
        ("service_name", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("activity_id", pa.string()),
        ("attempt", pa.int32()),
        ("event_id", pa.int64()),
        ("attributes", pa.string()),
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
        ("activity_type", pa.string()),
    ],
    {"attributes"},
)

TABLES = {shape.name: shape for shape in (HISTORY_EVENTS, WORKFLOWS, SPANS, LOGS)}

HISTORY_EVENTS_SCHEMA = HISTORY_EVENTS.schema
WORKFLOWS_SCHEMA = WORKFLOWS.schema
SPANS_SCHEMA = SPANS.schema
LOGS_SCHEMA = LOGS.schema

# Columns added after databases were created with an earlier schema.sql: (table, column, definition, fill), where
# `open_database` adds a missing column and then sets it from what the rows already hold with `fill` (SQL over the
# row; None: the definition's default is right).
_SPAN_ACTIVITY_TYPE = (
    "coalesce(attributes->>'$.\"temporal.activity_type\"', "
    "nullif(regexp_extract(name, '^(?:Run|Start)Activity:(.+)$', 1), ''))"
)
ADDED_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("spans", "links", "JSON DEFAULT '[]'", None),
    ("spans", "activity_type", "VARCHAR", _SPAN_ACTIVITY_TYPE),
    ("spans", "outcome", "VARCHAR", "attributes->>'$.\"temporal.outcome\"'"),
    ("logs", "activity_type", "VARCHAR", "attributes->>'$.\"temporal.activity_type\"'"),
)

__all__ = [
    "ADDED_COLUMNS",
    "HISTORY_EVENTS",
    "HISTORY_EVENTS_SCHEMA",
    "LOGS",
    "LOGS_SCHEMA",
    "SPANS",
    "SPANS_SCHEMA",
    "TABLES",
    "WORKFLOWS",
    "WORKFLOWS_SCHEMA",
    "TableShape",
]
