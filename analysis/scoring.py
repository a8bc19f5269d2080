"""Scoring: each source's answer to each question, compared unit by unit (order, or group) with the ground truth."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import duckdb
import pyarrow as pa

from temporal_lens.analysis.catalogue import CATALOGUE, SOURCE_ROWS, SOURCES, Question
from temporal_lens.analysis.compare import MissingColumn, comparison_sql, parse

ANSWERS, PARTIAL, CANNOT = "answers", "partial", "cannot"
NO_DATA = "no data collected"
NOT_MEASURED = "not yet measured"
_PARALLEL = 2
"""Questions scored at once (each on its own cursor): one question's small statements overlap another's scans."""


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
    """One cell: `q` asked of `source` and compared with the ground truth."""
    present = {source} if has_data else set() if has_data is not None else sources_with_data(conn, [source])
    return _score_sources(conn, q, [source], present)[0]


def _score_sources(
    conn: duckdb.DuckDBPyConnection, q: Question, sources: Sequence[str], present: set[str]
) -> list[Cell]:
    """`q` asked of each source: the truth is materialized once, each answer once, and compared in SQL."""

    def cell(source: str, verdict: str, reason: str, right: int = 0, total: int = 0) -> Cell:
        return Cell(q.id, q.text, source, verdict, right / total if total else 0.0, reason, right, total)

    asked = {source: q.sql(source) for source in sources}
    cursor = conn.cursor()
    try:
        truth: dict[str, str] = {}
        params: dict[str, Any] = {}
        truth_rows = False
        unknown = f"{NOT_MEASURED}: this run has no {q.unit_noun} the question applies to"
        if any(asked[s] is not None and s in present for s in sources):  # else no truth is needed
            try:
                params_sql = q.params_sql()
                params = run_sql(cursor, params_sql)[0] if params_sql else {}
                truth, truth_rows = _materialize(cursor, _TRUTH, q.truth_sql(), params)
            except (duckdb.Error, IndexError) as err:
                unknown = f"{NOT_MEASURED}: the ground truth lacks what this question needs ({_first_line(err)})"
        cells = []
        for source in sources:
            sql = asked[source]
            if sql is None:
                cells.append(cell(source, CANNOT, q.cannot_reason(source)))
            elif source not in present:
                cells.append(cell(source, CANNOT, NO_DATA))
            elif not truth_rows:
                cells.append(cell(source, CANNOT, unknown))
            else:
                cells.append(_score_answer(cursor, q, source, sql, params, truth, cell))
        return cells
    finally:
        for table in (_TRUTH, _ANSWER):
            cursor.execute(f"DROP TABLE IF EXISTS temp.{table}")
        cursor.close()


_TRUTH, _ANSWER = "lens_truth", "lens_answer"


def _materialize(
    cursor: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, Any]
) -> tuple[dict[str, str], bool]:
    """`sql`'s rows as temp table `table`; returns its columns (name -> DuckDB type) and whether it holds a row."""
    statement = sql.strip().rstrip(";")
    cursor.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS\n{statement}\n", _bind(sql, params))
    columns = {name: data_type for name, data_type, *_ in cursor.execute(f"DESCRIBE {table}").fetchall()}
    return columns, cursor.execute(f"SELECT EXISTS (FROM {table})").fetchall()[0][0]


def _score_answer(
    cursor: duckdb.DuckDBPyConnection,
    q: Question,
    source: str,
    sql: str,
    params: dict[str, Any],
    truth: dict[str, str],
    cell: Callable[..., Cell],
) -> Cell:
    try:
        answer, _ = _materialize(cursor, _ANSWER, sql, params)
        compare = comparison_sql(q, truth, answer, truth_table=_TRUTH, answer_table=_ANSWER)
        result = parse(cursor.execute(compare).fetchall()[0])
    except (duckdb.Error, MissingColumn) as err:
        return cell(source, CANNOT, f"query failed: {_first_line(err)}")
    total, right, noun = result.total, result.right, q.unit_noun
    if right == total:
        return cell(source, ANSWERS, f"all {total} {noun} right", total, total)
    wrong = total - right
    detail = (f"{right} of {total} {noun} right; {result.missing} unanswered, {wrong - result.missing} answered "
              f"wrongly (e.g. {result.example})")
    return cell(source, PARTIAL if right else CANNOT, detail, right, total)


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
    # Questions are independent: each on its own cursor (its own temp tables); results keep the catalogue's order.
    with ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="lens-score") as pool:
        per_question = pool.map(lambda q: _score_sources(conn, q, sources, present), questions)
        cells = [c for question_cells in per_question for c in question_cells]
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
