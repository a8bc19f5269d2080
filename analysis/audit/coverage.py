"""Instrumentation coverage: what history shows happened, against what spans and logs recorded of it.

One SQL file per measure under `coverage/`, read over the normalized views (`views.sql`), so our interceptor's spans
and the contrib `TracingInterceptor`'s are both counted as instrumented.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import duckdb

MEASURES: tuple[tuple[str, str], ...] = (
    ("attempt_spans", "Activity attempts in history with an attempt span, by workflow type and task queue"),
    ("log_keys", "Log records carrying a trace id and the Temporal keys, per service"),
    ("runs_without_spans", "Runs in history with no span at all"),
    ("orphan_spans", "Spans whose parent is not stored (orphans)"),
    ("unknown_runs", "Spans and log records naming a run the history does not have"),
    ("services", "Services seen in spans and in logs, their instrumentation and what it lacks"),
)


@dataclass(frozen=True)
class Coverage:
    """One measure: its rows as dicts, in the order the SQL gives them."""

    id: str
    title: str
    rows: list[dict[str, Any]]


def measure_coverage(conn: duckdb.DuckDBPyConnection) -> list[Coverage]:
    """Every coverage measure (the views of `create_views` must exist on `conn`)."""
    measures = []
    for measure_id, title in MEASURES:
        result = conn.execute(files(__package__).joinpath("coverage", f"{measure_id}.sql").read_text())
        names = [column[0] for column in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        measures.append(Coverage(measure_id, title, rows))
    return measures
