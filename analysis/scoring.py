"""Scoring: each source's answer to each question, compared unit by unit (order, or group) with the ground truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from typing import Any

import duckdb
import pyarrow as pa

from temporal_lens.analysis.catalogue import (
    CATALOGUE,
    PER_ORDER_EXACT,
    SOURCE_ROWS,
    SOURCES,
    Question,
)

ANSWERS, PARTIAL, CANNOT = "answers", "partial", "cannot"
NO_DATA = "no data collected"
NOT_MEASURED = "not yet measured"


@dataclass(frozen=True)
class Cell:
    question_id: str
    question: str
    source: str
    verdict: str
    fraction: float
    reason: str
    orders_right: int
    orders_total: int

    @property
    def id(self) -> str:
        """How claims cite this cell: `question_id/source`."""
        return f"{self.question_id}/{self.source}"

    @property
    def measured(self) -> bool:
        """False where the ground truth had nothing to compare against (the run had no such order)."""
        return self.orders_total > 0


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cursor = conn.cursor()
    try:
        result = cursor.execute(sql, params or {})
        if result.description is None:
            return []
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    finally:
        cursor.close()


def _bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters `sql` mentions: DuckDB rejects named parameters a statement does not use."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _by_unit(q: Question, rows: Iterable[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    grouped: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[tuple(_normal(row[c]) for c in q.unit)].append(row)
    return grouped


def _normal(value: Any) -> Any:
    """Numbers compare as numbers whatever their SQL type (HUGEINT, DECIMAL, DOUBLE); dates as dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


def _unit_is_right(q: Question, truth: list[dict[str, Any]], answer: list[dict[str, Any]]) -> bool:
    if q.kind == PER_ORDER_EXACT or not (q.timed or q.observed):
        return _rows(q, truth) == _rows(q, answer)
    key = lambda row: tuple(_normal(row[k]) for k in q.key)  # noqa: E731
    answered = {key(r): r for r in answer}
    if len(answered) != len(answer) or set(answered) != {key(r) for r in truth}:
        return False
    below, above = q.tolerance_ms
    for expected in truth:
        got = answered[key(expected)]
        for answer_column, truth_column in q.timed:
            value, floor = got.get(answer_column), expected[truth_column]
            if value is None or not floor - below <= float(value) <= floor + above:
                return False
        for column in q.observed:
            value = got.get(column)
            if value is None or (isinstance(value, int | float | Decimal) and value <= 0):
                return False
    return True


def _rows(q: Question, rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted(
        (tuple(sorted((k, _normal(v)) for k, v in r.items() if k not in q.unit)) for r in rows), key=repr
    )


def _count(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    try:
        return int(run_sql(conn, sql)[0]["count_star()"])
    except duckdb.Error:
        return 0  # the table is not there: nothing was collected


def sources_with_data(conn: duckdb.DuckDBPyConnection, sources: Sequence[str] = SOURCES) -> set[str]:
    return {s for s in sources if _count(conn, SOURCE_ROWS[s]) > 0}


def score_question(
    conn: duckdb.DuckDBPyConnection, q: Question, source: str, *, has_data: bool | None = None
) -> Cell:
    def cell(verdict: str, reason: str, right: int = 0, total: int = 0) -> Cell:
        return Cell(q.id, q.text, source, verdict, right / total if total else 0.0, reason, right, total)

    sql = q.sql(source)
    if sql is None:
        return cell(CANNOT, q.cannot_reason(source))
    if has_data is None:
        has_data = source in sources_with_data(conn, [source])
    if not has_data:
        return cell(CANNOT, NO_DATA)
    try:
        params_sql = q.params_sql()
        params = run_sql(conn, params_sql)[0] if params_sql else {}
        truth = _by_unit(q, run_sql(conn, q.truth_sql(), _bind(q.truth_sql(), params)))
    except (duckdb.Error, IndexError) as err:
        return cell(CANNOT, f"{NOT_MEASURED}: the ground truth lacks what this question needs ({_first_line(err)})")
    if not truth:
        return cell(CANNOT, f"{NOT_MEASURED}: this run has no {q.unit_noun} the question applies to")
    try:
        answer = _by_unit(q, run_sql(conn, sql, _bind(sql, params)))
    except duckdb.Error as err:
        return cell(CANNOT, f"query failed: {_first_line(err)}")
    total = len(truth)
    right = [u for u in truth if _unit_is_right(q, truth[u], answer.get(u, []))]
    noun = q.unit_noun
    if len(right) == total:
        return cell(ANSWERS, f"all {total} {noun} right", total, total)
    right_units = set(right)
    # sorted: the truth query's row order is not fixed, and the example named must not change between scorings
    wrong = sorted((u for u in truth if u not in right_units), key=repr)
    missing = sum(1 for u in wrong if u not in answer)
    example = " / ".join(str(v) for v in wrong[0])
    detail = (f"{len(right)} of {total} {noun} right; {missing} unanswered, {len(wrong) - missing} answered "
              f"wrongly (e.g. {example})")
    return cell(PARTIAL if right else CANNOT, detail, len(right), total)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200]


def score_answers(
    conn: duckdb.DuckDBPyConnection,
    questions: Sequence[Question] = CATALOGUE,
    sources: Sequence[str] = SOURCES,
    *,
    store: bool = True,
) -> list[Cell]:
    """Score every question against every source; store the result in the `answerability` table unless told not."""
    present = sources_with_data(conn, sources)
    cells = [score_question(conn, q, source, has_data=source in present) for q in questions for source in sources]
    if store:
        store_answerability(conn, cells)
    return cells


def store_answerability(conn: duckdb.DuckDBPyConnection, cells: Sequence[Cell]) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(files(__package__).joinpath("schema.sql").read_text(encoding="utf-8"))
        table = pa.Table.from_pylist([cell.__dict__ for cell in cells])
        cursor.execute("BEGIN TRANSACTION")
        cursor.execute("DELETE FROM answerability")
        if cells:
            cursor.register("_cells", table)
            cursor.execute("INSERT INTO answerability BY NAME SELECT * FROM _cells")
        cursor.execute("COMMIT")
    finally:
        cursor.close()
