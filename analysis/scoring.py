"""Scoring: each source's answer to each question, compared order by order with the ground truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import duckdb
import pyarrow as pa

from temporal_lens.analysis.catalogue import CATALOGUE, SOURCES, Question

ANSWERS, PARTIAL, CANNOT = "answers", "partial", "cannot"


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


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cursor = conn.cursor()
    try:
        result = cursor.execute(sql, params or {})
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    finally:
        cursor.close()


def _by_order(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[str(row["order_id"])].append(row)
    return grouped


def _order_is_right(q: Question, truth: list[dict[str, Any]], answer: list[dict[str, Any]]) -> bool:
    if q.tolerance_ms is not None:
        below, above = q.tolerance_ms
        answered = {tuple(r[k] for k in q.key): r.get("duration_ms") for r in answer}
        if len(answered) != len(answer) or set(answered) != {tuple(r[k] for k in q.key) for r in truth}:
            return False
        return all(
            answered[tuple(r[k] for k in q.key)] is not None
            and r["work_ms"] - below <= answered[tuple(r[k] for k in q.key)] <= r["work_ms"] + above
            for r in truth
        )
    return _rows(truth) == _rows(answer)


def _rows(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted((tuple(sorted((k, v) for k, v in r.items() if k != "order_id")) for r in rows), key=repr)


def score_question(conn: duckdb.DuckDBPyConnection, q: Question, source: str) -> Cell:
    sql = q.sql(source)
    if sql is None:
        reason = q.cannot.get(source, "no query: the source does not record what this question needs")
        return Cell(q.id, q.text, source, CANNOT, 0.0, reason, 0, 0)
    truth = _by_order(run_sql(conn, q.truth_sql()))
    answer = _by_order(run_sql(conn, sql))
    total = len(truth)
    right = sorted(o for o in truth if _order_is_right(q, truth[o], answer.get(o, [])))
    fraction = len(right) / total if total else 0.0
    if total and len(right) == total:
        return Cell(q.id, q.text, source, ANSWERS, 1.0, f"all {total} orders right", total, total)
    wrong = [o for o in truth if o not in set(right)]
    missing = sum(1 for o in wrong if o not in answer)
    detail = f"{len(right)} of {total} orders right"
    if wrong:
        detail += f"; {missing} unanswered, {len(wrong) - missing} answered wrongly (e.g. order {wrong[0]})"
    verdict = PARTIAL if right else CANNOT
    return Cell(q.id, q.text, source, verdict, fraction, detail, len(right), total)


def score_answers(
    conn: duckdb.DuckDBPyConnection,
    questions: Sequence[Question] = CATALOGUE,
    sources: Sequence[str] = SOURCES,
) -> list[Cell]:
    """Score every question against every source and store the result in the `answerability` table."""
    cells = [score_question(conn, q, source) for q in questions for source in sources]
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
