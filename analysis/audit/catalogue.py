"""The audit's generic questions: SQL files under `questions/<id>/<source>.sql`, answered per workflow type.

Every source query returns `workflow_type, run_id, subject, value, detail` (more columns are shown, not compared):
a row says what the source knows of one subject (an activity attempt, a signal name, a metric) of one run. Sources
are compared on the (run_id, subject) pairs both hold: `agree` when their values match, `disagree` (with the run
ids) when they do not; pairs only one source holds are what it adds (history holds only the last attempt: spans
and logs fill the rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import duckdb

SOURCES = ("history", "describe", "traces", "logs")
"""Sources in the order answers are shown: `describe` is the server asked in place about open runs."""

# A source read from a table only some audits write (Describe needs a live server, not export files).
_TABLE_OF_SOURCE = {"describe": "pending_activities"}
DEFAULT_PARAMS: dict[str, Any] = {"min_attempts": 3}
_EXAMPLES = 5
# Two sources time an activity from different ends (the server's events, the worker's clock): values that close
# count as one answer.
_RELATIVE_TOLERANCE = 0.25
_ABSOLUTE_TOLERANCE_MS = 25.0


@dataclass(frozen=True)
class GenericQuestion:
    """One generic question; `compare` is 'values' (sources must give the same value) or 'keys' (the values name
    different things, such as a worker identity and a service name: only who holds which subject is compared)."""

    id: str
    title: str
    compare: str = "values"


QUESTIONS: tuple[GenericQuestion, ...] = (
    GenericQuestion("runs_by_status", "Runs by type and status over time"),
    GenericQuestion("activity_failures", "Failure reasons by activity type", compare="keys"),
    GenericQuestion("activity_attempts", "Retried activities and every attempt's end"),
    GenericQuestion("activity_latency", "p50/p95/p99 activity duration and schedule-to-start per task queue (ms)"),
    GenericQuestion("stuck_runs", "Runs open now and stuck retrying, with the last failure", compare="keys"),
    GenericQuestion("signals_updates", "Signals and updates received and rejected"),
    GenericQuestion("chains", "Child workflows and continue-as-new chains", compare="keys"),
    GenericQuestion("activity_services", "Which service (worker identity / service name) ran each activity",
                    compare="keys"),
    GenericQuestion("history_size", "History size and payload bytes against the 51,200-event / 50 MB limits"),
)


@dataclass(frozen=True)
class PairVerdict:
    """Two speaking sources compared on one workflow type."""

    first: str
    second: str
    agree: int
    disagree: int
    disagreeing_runs: list[str]
    only_first: int
    only_second: int
    only_first_runs: list[str]
    only_second_runs: list[str]


@dataclass(frozen=True)
class TypeVerdict:
    """One question's answer for one workflow type: who speaks, who is silent, how the speakers compare."""

    workflow_type: str
    rows: dict[str, int]
    silent: list[str]
    pairs: list[PairVerdict]


@dataclass(frozen=True)
class GenericAnswer:
    """One question asked of every source: its rows per source, `cannot` per source that has no such data at all."""

    question: GenericQuestion
    rows: dict[str, list[dict[str, Any]]]
    cannot: dict[str, str]
    by_type: list[TypeVerdict] = field(default_factory=list)


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """The normalized views every question reads (TEMP: nothing is written to the database)."""
    conn.execute(files(__package__).joinpath("views.sql").read_text())


def question_sql(question_id: str, source: str) -> str | None:
    path = files(__package__).joinpath("questions", question_id, f"{source}.sql")
    return path.read_text() if path.is_file() else None


def ask_generic(
    conn: duckdb.DuckDBPyConnection, question: GenericQuestion, params: dict[str, Any] | None = None
) -> GenericAnswer:
    """Ask `question` of every source that has a query for it; compare the answers per workflow type."""
    values = {**DEFAULT_PARAMS, **(params or {})}
    rows: dict[str, list[dict[str, Any]]] = {}
    cannot: dict[str, str] = {}
    for source in SOURCES:
        sql = question_sql(question.id, source)
        if sql is None:
            cannot[source] = f"{source} holds nothing this question reads"
            continue
        missing = _missing_table(conn, source)
        if missing:
            cannot[source] = f"no {missing} table: open runs were not observed in this database"
            continue
        used = {name: value for name, value in values.items() if f"${name}" in sql}
        # on `conn` itself: the views are TEMP, and a cursor is a connection of its own that would not see them
        result = conn.execute(sql, used)
        names = [column[0] for column in result.description]
        rows[source] = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return GenericAnswer(question, rows, cannot, _verdicts(question, rows))


def _missing_table(conn: duckdb.DuckDBPyConnection, source: str) -> str | None:
    table = _TABLE_OF_SOURCE.get(source)
    if table is None:
        return None
    found = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()
    return None if found and found[0] else table


def ask_all(conn: duckdb.DuckDBPyConnection, params: dict[str, Any] | None = None) -> list[GenericAnswer]:
    create_views(conn)
    return [ask_generic(conn, question, params) for question in QUESTIONS]


def _verdicts(question: GenericQuestion, rows: dict[str, list[dict[str, Any]]]) -> list[TypeVerdict]:
    types = sorted({str(row["workflow_type"]) for source_rows in rows.values() for row in source_rows})
    verdicts = []
    for workflow_type in types:
        keyed = {
            source: {(row["run_id"], row["subject"]): row["value"] for row in source_rows
                     if str(row["workflow_type"]) == workflow_type}
            for source, source_rows in rows.items()
        }
        speaking = [source for source in rows if keyed[source]]
        pairs = [
            _compare(question, first, keyed[first], second, keyed[second])
            for i, first in enumerate(speaking) for second in speaking[i + 1:]
        ]
        verdicts.append(TypeVerdict(
            workflow_type,
            {source: len(keyed[source]) for source in speaking},
            [source for source in rows if not keyed[source]],
            pairs,
        ))
    return verdicts


def _compare(question: GenericQuestion, first: str, a: dict, second: str, b: dict) -> PairVerdict:
    common = a.keys() & b.keys()
    differ = sorted(key for key in common if question.compare == "values" and not _same(a[key], b[key]))
    only_a = sorted(a.keys() - b.keys())
    only_b = sorted(b.keys() - a.keys())
    return PairVerdict(
        first, second, len(common) - len(differ), len(differ), _runs(differ),
        len(only_a), len(only_b), _runs(only_a), _runs(only_b),
    )


def _runs(keys: list[tuple[str, str]]) -> list[str]:
    runs: list[str] = []
    for run_id, _ in keys:
        if run_id and run_id not in runs:
            runs.append(run_id)
        if len(runs) == _EXAMPLES:
            break
    return runs


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=_RELATIVE_TOLERANCE, abs_tol=_ABSOLUTE_TOLERANCE_MS)
    return a == b


__all__ = [
    "QUESTIONS",
    "SOURCES",
    "GenericAnswer",
    "GenericQuestion",
    "PairVerdict",
    "TypeVerdict",
    "ask_all",
    "ask_generic",
    "create_views",
]
