"""The audit's generic questions: SQL files under `questions/<id>/<source>.sql`, answered per workflow type.

Every source query returns `workflow_type, run_id, subject, value, detail` (more columns are shown, not compared):
a row says what the source knows of one subject (an activity attempt, a signal name, a metric) of one run. Sources
are compared on the (run_id, subject) pairs both hold: `agree` when their values match, `disagree` (with the run
ids) when they do not; pairs only one source holds are what it adds (history holds only the last attempt: spans
and logs fill the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import duckdb

SOURCES = ("history", "describe", "traces", "logs")
"""Sources in the order answers are shown: `describe` is the server asked in place about open runs."""

# A source read from a table only some audits write (Describe needs a live server, not export files).
_TABLE_OF_SOURCE = {"describe": "pending_activities"}
DEFAULT_PARAMS: dict[str, Any] = {"min_attempts": 3}
ROWS_KEPT = 50
"""Rows of each source's answer kept in memory for the report; the comparison itself runs in DuckDB over all."""
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
    row_counts: dict[str, int] = field(default_factory=dict)


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """The normalized views every question reads (TEMP: nothing is written to the database)."""
    conn.execute(files(__package__).joinpath("views.sql").read_text())


def question_sql(question_id: str, source: str) -> str | None:
    path = files(__package__).joinpath("questions", question_id, f"{source}.sql")
    return path.read_text() if path.is_file() else None


def ask_generic(
    conn: duckdb.DuckDBPyConnection,
    question: GenericQuestion,
    params: dict[str, Any] | None = None,
    *,
    keep_rows: int | None = ROWS_KEPT,
) -> GenericAnswer:
    """Ask `question` of every source that has a query for it; compare the answers per workflow type.

    Each source's answer is kept in a TEMP table and compared there, so memory does not grow with the number of
    runs; `rows` holds the first `keep_rows` of each (None: all), `row_counts` how many there are.
    """
    values = {**DEFAULT_PARAMS, **(params or {})}
    rows: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    cannot: dict[str, str] = {}
    # on `conn` itself throughout: the views and answers are TEMP, which a cursor (a connection of its own) cannot see
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
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {_answer_table(source)} AS {sql.strip().rstrip(';')}", used)
        counts[source] = conn.execute(f"SELECT count(*) FROM {_answer_table(source)}").fetchone()[0]
        limit = "" if keep_rows is None else f" LIMIT {int(keep_rows)}"
        result = conn.execute(f"SELECT * FROM {_answer_table(source)}{limit}")
        names = [column[0] for column in result.description]
        rows[source] = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    try:
        verdicts = _verdicts(conn, question, list(counts))
    finally:
        for source in counts:
            conn.execute(f"DROP TABLE IF EXISTS {_answer_table(source)}")
    return GenericAnswer(question, rows, cannot, verdicts, counts)


def _answer_table(source: str) -> str:
    return f"audit_answer_{source}"


def _missing_table(conn: duckdb.DuckDBPyConnection, source: str) -> str | None:
    table = _TABLE_OF_SOURCE.get(source)
    if table is None:
        return None
    found = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()
    return None if found and found[0] else table


def ask_all(conn: duckdb.DuckDBPyConnection, params: dict[str, Any] | None = None) -> list[GenericAnswer]:
    create_views(conn)
    return [ask_generic(conn, question, params) for question in QUESTIONS]


# One source's answer as comparable keys: one value per (type, run, subject), as text and as a number when it is one.
_KEYED = """
SELECT coalesce(CAST(workflow_type AS VARCHAR), '(unknown)') AS workflow_type,
       coalesce(CAST(run_id AS VARCHAR), '') AS run_id, CAST(subject AS VARCHAR) AS subject,
       CAST(any_value(value) AS VARCHAR) AS text, TRY_CAST(any_value(value) AS DOUBLE) AS number
FROM {table} GROUP BY ALL
"""

_PAIR = """
WITH a AS ({a}), b AS ({b}), joined AS (
    SELECT coalesce(a.workflow_type, b.workflow_type) AS workflow_type,
           coalesce(a.run_id, b.run_id) AS run_id,
           a.subject IS NOT NULL AND b.subject IS NOT NULL AS both_hold,
           a.subject IS NOT NULL AND b.subject IS NULL AS only_a,
           a.subject IS NULL AND b.subject IS NOT NULL AS only_b,
           CASE WHEN NOT $compare_values THEN true
                WHEN a.number IS NOT NULL AND b.number IS NOT NULL
                THEN abs(a.number - b.number) <= greatest($rel * greatest(abs(a.number), abs(b.number)), $abs)
                ELSE a.text IS NOT DISTINCT FROM b.text END AS same
    FROM a FULL OUTER JOIN b ON a.workflow_type = b.workflow_type AND a.run_id = b.run_id AND a.subject = b.subject
)
SELECT workflow_type,
       count(*) FILTER (WHERE both_hold AND same) AS agree,
       count(*) FILTER (WHERE both_hold AND NOT same) AS disagree,
       coalesce(list(DISTINCT run_id ORDER BY run_id) FILTER (WHERE both_hold AND NOT same AND run_id <> ''), [])
           AS disagreeing_runs,
       count(*) FILTER (WHERE only_a) AS only_first,
       count(*) FILTER (WHERE only_b) AS only_second,
       coalesce(list(DISTINCT run_id ORDER BY run_id) FILTER (WHERE only_a AND run_id <> ''), []) AS only_first_runs,
       coalesce(list(DISTINCT run_id ORDER BY run_id) FILTER (WHERE only_b AND run_id <> ''), []) AS only_second_runs
FROM joined GROUP BY workflow_type
"""


def _verdicts(conn: duckdb.DuckDBPyConnection, question: GenericQuestion, sources: list[str]) -> list[TypeVerdict]:
    held: dict[str, dict[str, int]] = {}
    for source in sources:
        keyed = _KEYED.format(table=_answer_table(source))
        for workflow_type, n in conn.execute(f"SELECT workflow_type, count(*) FROM ({keyed}) GROUP BY ALL").fetchall():
            held.setdefault(workflow_type, {})[source] = n
    pairs: dict[str, list[PairVerdict]] = {}
    parameters = {"compare_values": question.compare == "values", "rel": _RELATIVE_TOLERANCE,
                  "abs": _ABSOLUTE_TOLERANCE_MS}
    for i, first in enumerate(sources):
        for second in sources[i + 1:]:
            sql = _PAIR.format(a=_KEYED.format(table=_answer_table(first)),
                               b=_KEYED.format(table=_answer_table(second)))
            for row in conn.execute(sql, parameters).fetchall():
                workflow_type, agree, disagree, differ_runs, only_a, only_b, only_a_runs, only_b_runs = row
                if not held.get(workflow_type, {}).get(first) or not held[workflow_type].get(second):
                    continue  # a pair is compared where both speak; where one is silent, it is listed as silent
                pairs.setdefault(workflow_type, []).append(PairVerdict(
                    first, second, agree, disagree, differ_runs[:_EXAMPLES], only_a, only_b,
                    only_a_runs[:_EXAMPLES], only_b_runs[:_EXAMPLES],
                ))
    return [
        TypeVerdict(workflow_type, {source: held[workflow_type][source] for source in sources
                                    if source in held[workflow_type]},
                    [source for source in sources if source not in held[workflow_type]],
                    pairs.get(workflow_type, []))
        for workflow_type in sorted(held)
    ]


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
