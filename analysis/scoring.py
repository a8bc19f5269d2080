"""Scoring: each source's answer to each question, compared unit by unit (order, or group) with the ground truth."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from importlib.resources import files
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from temporal_lens.analysis.catalogue import CATALOGUE, PER_ORDER_MEASURE, SOURCE_ROWS, SOURCES, Question
from temporal_lens.analysis.causes import (
    CAUSE_BY_CODE,
    CAUSES,
    FACT_CAUSES,
    MISSING,
    OUTCOME_CAUSES,
    RIGHT,
    Cause,
    applies,
    explains,
    orders_condition,
)
from temporal_lens.analysis.compare import (
    MissingColumn,
    check_answer,
    literal,
    sources_units_sql,
    truth_side_tables,
    truth_units_sql,
)
from temporal_lens.analysis.interval import FEW_CASES, wilson_interval
from temporal_lens.analysis.scopes import (
    ALL,
    RETAINED,
    SCOPES,
    Database,
    inspect,
    leave_out,
    restore,
    retained_condition,
)

ANSWERS, PARTIAL, CANNOT = "answers", "partial", "cannot"
NO_DATA = "no data collected"
NOT_MEASURED = "not yet measured"
_PARALLEL = min(4, max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2))
"""Questions scored at once, each on its own cursor and each statement on one DuckDB thread: the parallelism is
the questions'. At 10k orders on 2 cores (median of 4 alternating rounds): one DuckDB thread per statement with 2
questions at once, 2.41 s (4.45 CPU-s); 3 at once 2.49 s, 4 at once 2.63 s; DuckDB's 2 threads per statement, 3.08 s
(5.61 CPU-s). At most 4: each question holds its answers while it runs, and more cores were not measured."""
TABLES = {ALL: "answerability", RETAINED: "answerability_retained"}
"""Where each scope's matrix is stored."""
UNITS = {ALL: "answerability_units_all", RETAINED: "answerability_units_retained"}
"""Where each scope's units not right are stored, one row each; the view `answerability_units` reads every unit."""
JUDGED_UNITS = {ALL: "answerability_judged_all", RETAINED: "answerability_judged_retained"}
"""Where each scope's judged units are stored, once per question: every source judged is judged on the truth's
units, so the units a source got right (most) are these without its units not right."""


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
    causes: tuple[tuple[str, int], ...] = ()
    """(cause code, units) for every unit not right, in the vocabulary's order (analysis/causes.py)."""
    scope: str = ALL

    @property
    def id(self) -> str:
        """How claims cite this cell: `question_id/source`."""
        return f"{self.question_id}/{self.source}"

    @property
    def measured(self) -> bool:
        """False where the ground truth had nothing to compare against (the run had no such order)."""
        return self.orders_total > 0

    @property
    def n(self) -> int:
        """Units judged: orders, or groups for aggregate questions."""
        return self.orders_total

    @property
    def interval(self) -> tuple[float, float]:
        """The Wilson 95% interval of the fraction right."""
        return wilson_interval(self.orders_right, self.orders_total)

    @property
    def few_cases(self) -> bool:
        return 0 < self.orders_total < FEW_CASES

    def counting_right(self, cause: Cause) -> Cell:
        """This cell as it would read if every unit with `cause` were right (how much a verdict rests on it)."""
        count = dict(self.causes).get(cause.code, 0)
        if not count:
            return self
        right = self.orders_right + count
        return replace(self, orders_right=right, fraction=right / self.orders_total, verdict=_verdict(right, self.n),
                       causes=tuple((c, k) for c, k in self.causes if c != cause.code))

    def row(self) -> dict[str, Any]:
        """The cell as stored in the answerability tables."""
        low, high = self.interval if self.n else (None, None)
        return {"question_id": self.question_id, "question": self.question, "source": self.source,
                "verdict": self.verdict, "fraction": self.fraction, "reason": self.reason,
                "orders_right": self.orders_right, "orders_total": self.orders_total, "n": self.n,
                "ci_low": low, "ci_high": high, "few_cases": self.few_cases}


def _verdict(right: int, total: int) -> str:
    return ANSWERS if right == total else PARTIAL if right else CANNOT


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
    conn: duckdb.DuckDBPyConnection, q: Question, source: str, *, has_data: bool | None = None, scope: str = ALL
) -> Cell:
    """One cell: `q` asked of `source` and compared with the ground truth."""
    present = {source} if has_data else set() if has_data is not None else sources_with_data(conn, [source])
    return _Scoring(conn, scope, keep_units=False).question(q, [source], present)[0]


_TRUTH, _ANSWER, _FACTS = "lens_truth", "lens_answer", "lens_facts"
_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)
_ORDER = "order_id"


class _Scoring:
    """One scoring pass over the catalogue in one scope; each question runs on its own cursor (its temp tables and
    shadowing views are that cursor's alone)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, scope: str, *, keep_units: bool) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        self.conn, self.scope, self.keep_units = conn, scope, keep_units
        cursor = conn.cursor()
        try:
            self.db: Database = inspect(cursor)
        finally:
            cursor.close()
        self.left_out = retained_condition(self.db) if scope == RETAINED else None
        self.facts = self._facts_in_scope()
        """Fact cause code -> the condition over ground_truth naming its orders, for causes that concern an order in
        this scope (a scope without deleted runs has no deletion to read)."""
        self.order_facts = self._order_facts() if self.facts else None
        """Per order, whether each fact cause concerns it: read once, registered on each question's cursor."""
        self.units: dict[str, list[pa.Table]] = {}
        """Question id -> its units not right, source by source (kept when `keep_units`)."""
        self.judged: dict[str, pa.Table] = {}
        """Question id -> the units it judged every source on (kept when `keep_units`)."""

    def _facts_in_scope(self) -> dict[str, str]:
        conditions = {cause.code: condition for cause in FACT_CAUSES
                      if (condition := orders_condition(cause, self.db.main, self.db.ground_truth))}
        if not conditions:
            return {}
        within = f"WHERE NOT coalesce({self.left_out}, FALSE)" if self.left_out else ""
        found = run_sql(self.conn, "SELECT " + ", ".join(f"coalesce(bool_or({c}), FALSE) AS {code}"
                                                         for code, c in conditions.items())
                        + f" FROM {self.db.main}.ground_truth {within}")[0]
        return {code: c for code, c in conditions.items() if found[code]}

    def _order_facts(self) -> pa.Table:
        flags = ", ".join(f"coalesce({c}, FALSE) AS {code}" for code, c in self.facts.items())
        cursor = self.conn.cursor()
        try:
            return _arrow(cursor, f"SELECT order_id, {flags} FROM {self.db.main}.ground_truth")
        finally:
            cursor.close()

    def question(self, q: Question, sources: Sequence[str], present: set[str]) -> list[Cell]:
        """`q` asked of each source: the truth is materialized once, each answer once, and every answer is compared
        with the truth in one statement."""

        def cell(source: str, verdict: str, reason: str, right: int = 0, total: int = 0,
                 causes: tuple[tuple[str, int], ...] = ()) -> Cell:
            return Cell(q.id, q.text, source, verdict, right / total if total else 0.0, reason, right, total, causes,
                        self.scope)

        asked = {source: q.sql(source) for source in sources}
        cursor = self.conn.cursor()
        try:
            if self.left_out is not None:
                leave_out(cursor, self.db, self.left_out, sources=True)
            truth: dict[str, str] = {}
            others: dict[str, dict[str, str]] = {}
            params: dict[str, Any] = {}
            truth_rows = False
            prepared: set[str] = set()
            unknown = f"{NOT_MEASURED}: this run has no {q.unit_noun} the question applies to"
            if any(asked[s] is not None and s in present for s in sources):  # else no truth is needed
                try:
                    params_sql = q.params_sql()
                    params = run_sql(cursor, params_sql)[0] if params_sql else {}
                    truth, truth_rows = _materialize(cursor, _TRUTH, q.truth_sql(), params)
                    if truth_rows and _ORDER in q.unit and self.facts:
                        cursor.register(_FACTS, self.order_facts)
                    elif truth_rows:
                        others = self._truths_without(cursor, q, params)
                except (duckdb.Error, IndexError) as err:
                    unknown = f"{NOT_MEASURED}: the ground truth lacks what this question needs ({_first_line(err)})"
                if truth_rows:  # the truth's side of every source's comparison, once
                    sides = {_TRUTH: truth} | {f"{_TRUTH}_{code}": columns for code, columns in others.items()}
                    prepared = {t for t, columns in sides.items() if _prepare_truth_side(cursor, q, columns, t)}
            cells: dict[str, Cell] = {}
            answers: dict[str, dict[str, str]] = {}
            tables: dict[str, str] = {}
            made: dict[str, tuple[str, dict[str, str]]] = {}
            """An answer by its statement: a source asking with the very statement another asked with (Temporal in
            place reading one run's history as the exported history does) reads the same rows, computed once."""
            for source in sources:
                sql = asked[source]
                if sql is None:
                    cells[source] = cell(source, CANNOT, q.cannot_reason(source))
                elif source not in present:
                    cells[source] = cell(source, CANNOT, NO_DATA)
                elif not truth_rows:
                    cells[source] = cell(source, CANNOT, unknown)
                else:
                    try:
                        statement = _statement(sql)
                        if statement not in made:
                            table = _answer_table(source)
                            made[statement] = table, _materialize(cursor, table, sql, params, check_rows=False)[0]
                        tables[source], answer = made[statement]
                        check_answer(q, truth, answer)
                    except (duckdb.Error, MissingColumn) as err:
                        cells[source] = cell(source, CANNOT, f"query failed: {_first_line(err)}")
                    else:
                        answers[source] = answer
            judged = self._judged(cursor, q, truth, others, answers, tables, prepared)
            total = 0
            if any(not isinstance(units, Exception) for units in judged.values()):
                # every source is judged on the truth's units: those not among its units not right, it got right
                truth_units = truth_units_sql(q, truth, truth_table=_TRUTH, truth_prepared=_TRUTH in prepared)
                units_of_truth = _arrow(cursor, f"SELECT {literal(q.id)} AS question_id, unit FROM ({truth_units})")
                total = units_of_truth.num_rows
                if self.keep_units:
                    self.judged[q.id] = units_of_truth
            for source, units in judged.items():
                cells[source] = (cell(source, CANNOT, f"query failed: {_first_line(units)}")
                                 if isinstance(units, Exception) else self._cell(q, source, units, total, cell))
            return [cells[source] for source in sources]
        finally:
            cursor.close()  # its temp tables and views go with it

    def _scope_views(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Put this scope's views on `cursor` (back): none for every order, the shadowing views for fewer."""
        if self.left_out is None:
            restore(cursor, self.db)
        else:
            leave_out(cursor, self.db, self.left_out, sources=True)

    def _truths_without(
        self, cursor: duckdb.DuckDBPyConnection, q: Question, params: dict[str, Any]
    ) -> dict[str, dict[str, str]]:
        """For a question about groups of orders: per fact cause, the truth recomputed without the orders it
        concerns (`lens_truth_<cause>`); returns each one's columns by cause code."""
        others = {}
        if not self.facts:
            return others
        try:
            for code, condition in self.facts.items():
                if not explains(CAUSE_BY_CODE[code], q.id):
                    continue
                left_out = condition if self.left_out is None else f"({self.left_out}) OR ({condition})"
                leave_out(cursor, self.db, left_out, sources=False)
                others[code], _ = _materialize(cursor, f"{_TRUTH}_{code}", q.truth_sql(), params)
        finally:
            self._scope_views(cursor)
        return others

    def _judged(self, cursor: duckdb.DuckDBPyConnection, q: Question, truth: dict[str, str],
                others: dict[str, dict[str, str]], answers: dict[str, dict[str, str]], tables: dict[str, str],
                prepared: set[str]) -> dict[str, pa.Table | Exception]:
        """Every source's units judged, by source: in one statement, or (when that fails) source by source, so that
        a failure is the failing source's alone."""
        if not answers:
            return {}
        try:
            return self._judge(cursor, q, truth, others, answers, tables, prepared)
        except duckdb.Error:
            if len(answers) == 1:
                raise
        judged: dict[str, pa.Table | Exception] = {}
        for source, answer in answers.items():
            try:
                judged |= self._judge(cursor, q, truth, others, {source: answer}, tables, prepared)
            except duckdb.Error as err:
                judged[source] = err
        return judged

    def _judge(self, cursor: duckdb.DuckDBPyConnection, q: Question, truth: dict[str, str],
               others: dict[str, dict[str, str]], answers: dict[str, dict[str, str]], tables: dict[str, str],
               prepared: set[str]) -> dict[str, pa.Table]:
        """Each source's units not right: their names, outcome, cause and detail."""
        judged = self._judged_sql(q, truth, others, answers, tables, prepared)
        units = _arrow(
            cursor,
            f"SELECT {literal(q.id)} AS question_id, source, unit, outcome, cause, "
            f"""CASE outcome WHEN '{RIGHT}' THEN NULL WHEN '{MISSING}' THEN 'no answer for this unit'
                     ELSE format('{{}} of {{}} rows right; {{}} rows answered', matched, expected, answered)
                END AS detail FROM ({judged}) WHERE outcome <> '{RIGHT}'""")
        column = units.column("source")
        return {source: units.filter(pc.equal(column, source)) for source in answers}

    def _cell(self, q: Question, source: str, not_right: pa.Table, total: int, cell: Callable[..., Cell]) -> Cell:
        """`source`'s cell from its units not right, out of the `total` units judged."""
        if self.keep_units:
            self.units.setdefault(q.id, []).append(not_right)
        by_cause = {r["cause"]: (r["unit_count"], r["unit_min"]) for r in
                    not_right.group_by("cause").aggregate([("unit", "count"), ("unit", "min")]).to_pylist()}
        right = total - not_right.num_rows
        noun = q.unit_noun
        if right == total:
            return cell(source, ANSWERS, f"all {total} {noun} right", total, total)
        explained = "; ".join(f"{c.counted(by_cause[c.code][0])} (e.g. {by_cause[c.code][1]})"
                              for c in CAUSES if c.code in by_cause)
        causes = tuple((c.code, by_cause[c.code][0]) for c in CAUSES if c.code in by_cause)
        return cell(source, _verdict(right, total), f"{right} of {total} {noun} right; {explained}", right, total,
                    causes)

    def _judged_sql(self, q: Question, truth: dict[str, str], others: dict[str, dict[str, str]],
                    answers: dict[str, dict[str, str]], tables: dict[str, str], prepared: set[str]) -> str:
        """Every source's truth units with their outcome (compare.py) and, when not right, their cause.

        A unit naming one order (the order, or the order at a moment) reads its order's facts. A group of orders
        gets a fact cause when the answer gets it right against the truth without the orders that cause concerns,
        or when the group vanishes from that truth and the answer lacks it too: the answer is exactly what is left
        after the deletion, encryption or kill.
        """
        units = sources_units_sql(q, truth, answers, truth_table=_TRUTH, answer_tables=tables,
                                  truth_prepared=_TRUTH in prepared)
        branches = [f"WHEN u.outcome = '{RIGHT}' THEN NULL"]
        joins = []
        if _ORDER in q.unit:
            facts = [c for c in FACT_CAUSES if c.code in self.facts and explains(c, q.id)]
            if facts:
                joins.append(f"LEFT JOIN {_FACTS} AS f ON u.order_id = f.order_id")
            branches += [f"WHEN f.{c.code} AND {_among(c, answers)} "
                         f"AND u.outcome IN ({', '.join(literal(o) for o in c.outcomes)}) THEN '{c.code}'"
                         for c in facts]
        for code, columns in others.items():
            cause = CAUSE_BY_CODE[code]
            judged = {}
            for source, answer in answers.items():
                if applies(cause, source):
                    try:
                        check_answer(q, columns, answer)
                    except MissingColumn:
                        continue
                    judged[source] = answer
            if not judged:
                continue
            other = sources_units_sql(q, columns, judged, truth_table=f"{_TRUTH}_{code}", answer_tables=tables,
                                      truth_prepared=f"{_TRUTH}_{code}" in prepared)
            joins.append(f"LEFT JOIN ({other}) AS {code} ON u.source = {code}.source AND u.unit = {code}.unit")
            branches.append(f"WHEN u.source IN ({', '.join(literal(s) for s in judged)}) AND "
                            f"({code}.outcome = '{RIGHT}' OR ({code}.unit IS NULL AND u.outcome = '{MISSING}')) "
                            f"THEN '{code}'")
        branches += [f"WHEN u.outcome = '{outcome}' THEN '{c.code}'" for outcome, c in OUTCOME_CAUSES.items()]
        return f"SELECT u.*, CASE {' '.join(branches)} END AS cause FROM ({units}) AS u {' '.join(joins)}"


def _statement(sql: str) -> str:
    """`sql` without its comment lines and with its white space collapsed: two files asking the same are one
    statement (a comment after code on its line stays, so nothing inside a string is ever taken for one)."""
    return " ".join(_COMMENT_LINE.sub("", sql).split()).rstrip(";").strip()


def _answer_table(source: str) -> str:
    return f"{_ANSWER}_{source}"


def _among(cause: Cause, answers: dict[str, dict[str, str]]) -> str:
    """SQL condition: the unit's source is one `cause` applies to."""
    sources = [s for s in answers if applies(cause, s)]
    return f"u.source IN ({', '.join(literal(s) for s in sources)})" if sources else "FALSE"


def _materialize(
    cursor: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, Any], *, check_rows: bool = True
) -> tuple[dict[str, str], bool]:
    """`sql`'s rows as temp table `table`; returns its columns (name -> DuckDB type) and whether it holds a row
    (True unchecked when not `check_rows`)."""
    statement = sql.strip().rstrip(";")
    cursor.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS\n{statement}\n", _bind(sql, params))
    read = cursor.execute(f"FROM {table} LIMIT {1 if check_rows else 0}")
    columns = {name: str(data_type) for name, data_type, *_ in read.description}
    return columns, not check_rows or bool(read.fetchall())


def _prepare_truth_side(cursor: duckdb.DuckDBPyConnection, q: Question, truth: dict[str, str], table: str) -> bool:
    """Materialize the truth's side of every source's comparison once (compare.truth_side_tables); False where it
    cannot be, and each comparison then meets the same error itself (and is scored as before)."""
    try:
        for name, statement in truth_side_tables(q, truth, truth_table=table):
            cursor.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {statement}")
    except (duckdb.Error, MissingColumn):
        return False
    return True


def _arrow(cursor: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """`sql`'s rows as Arrow, from an executed statement: DuckDB warns that this copies the rows once more and
    suggests its relation API, which binds the statement twice; at 10k orders the comparisons took 0.91 CPU-s a pass
    that way, 0.80 this way (at 21 orders 0.44 and 0.33), so the warning is silenced for this module."""
    return cursor.execute(sql).to_arrow_table()


_ARROW_COPY = "Arrow output on a DB-API result"
warnings.filterwarnings("ignore", message=_ARROW_COPY, category=UserWarning, module=__name__)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200]


def score_answers(
    conn: duckdb.DuckDBPyConnection,
    questions: Sequence[Question] = CATALOGUE,
    sources: Sequence[str] = SOURCES,
    *,
    store: bool = True,
    scope: str = ALL,
) -> list[Cell]:
    """Score every question against every source and store the cells (`answerability`, or
    `answerability_retained` for the retained scope) and their units (`answerability_units`) unless told not.

    Measurements (kind `per_order_measure`: bytes per order) are not answerability: they are left out here and
    reported as measured tables.
    """
    questions = [q for q in questions if q.kind != PER_ORDER_MEASURE]
    present = sources_with_data(conn, sources)
    scoring = _Scoring(conn, scope, keep_units=store)
    threads = run_sql(conn, "SELECT current_setting('threads') AS threads")[0]["threads"]
    conn.execute("SET threads = 1")  # the database's setting, put back below
    writer = None
    cells: list[Cell] = []
    try:
        writer = _Writer(conn, scope) if store else None
        # Questions are independent: each on its own cursor (its own temp tables); cells keep the catalogue's
        # order. Each question's units are written as soon as it finishes, while the others are scored.
        with ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="lens-score") as pool:
            asked = {pool.submit(scoring.question, q, sources, present): q.id for q in questions}
            by_question: dict[str, list[Cell]] = {}
            for done in as_completed(asked):
                by_question[asked[done]] = done.result()
                if writer is not None:  # once no question waits to start, what is pending is written at once
                    judged = scoring.judged.pop(asked[done], None)
                    writer.units(scoring.units.pop(asked[done], []), [judged] if judged is not None else [],
                                 flush=len(questions) - len(by_question) < _PARALLEL)
        cells = [c for q in questions for c in by_question[q.id]]
        if writer is not None:
            writer.commit(cells)
    finally:
        try:
            if writer is not None:
                writer.close()
        finally:
            conn.execute(f"SET threads = {int(threads)}")
    return cells


def store_answerability(conn: duckdb.DuckDBPyConnection, cells: Sequence[Cell], units: Sequence[pa.Table] = (),
                        judged: Sequence[pa.Table] = (), *, scope: str = ALL) -> None:
    """Replace the stored matrix of `scope` with `cells`, its units not right with `units` and its judged units
    with `judged`, in one transaction."""
    writer = _Writer(conn, scope)
    try:
        writer.units(units, judged)
        writer.commit(cells)
    finally:
        writer.close()


_UNITS_BATCH = 2 * 122_880
"""Units written at once: more than a row group (DuckDB's 122,880 rows), which DuckDB writes to the database file as
it comes rather than to its write-ahead log; at 10k orders, when every unit right was a row too, the commit after one
insert per question took 0.30 s, after inserts of row groups 0.17 s."""


class _Writer:
    """One scope's stored matrix and units, replaced in one transaction on a cursor of its own: units as they
    come, the cells last; nothing is visible to others before `commit`, and `close` without it rolls back."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, scope: str) -> None:
        self.scope, self.cursor, self.open = scope, conn.cursor(), False
        self.not_right: list[pa.Table] = []
        self.judged: list[pa.Table] = []
        try:
            _units_as_now(self.cursor)
            self.cursor.execute(files(__package__).joinpath("schema.sql").read_text(encoding="utf-8"))
            self.cursor.execute("BEGIN TRANSACTION")
            self.open = True
            self.cursor.execute(f"DELETE FROM {TABLES[scope]}")
            # A scope's units are tables of their own, emptied whole: nothing of the other scope is rewritten.
            self.cursor.execute(f"TRUNCATE {UNITS[scope]}")
            self.cursor.execute(f"TRUNCATE {JUDGED_UNITS[scope]}")
        except BaseException:
            self.close()
            raise

    def units(self, not_right: Sequence[pa.Table], judged: Sequence[pa.Table] = (), *, flush: bool = False) -> None:
        """Units not right (question_id, source, unit, outcome, cause, detail) and the units questions judged every
        source on (question_id, unit), written once a batch is full or when `flush`."""
        self.not_right += not_right
        self.judged += judged
        pending = sum(t.num_rows for t in self.not_right) + sum(t.num_rows for t in self.judged)
        if not pending or not (flush or pending >= _UNITS_BATCH):
            return
        for tables, table, columns in ((self.not_right, UNITS[self.scope], _NOT_RIGHT_COLUMNS),
                                       (self.judged, JUDGED_UNITS[self.scope], "question_id, unit")):
            if tables:
                self.cursor.register("_units", pa.concat_tables(tables))
                self.cursor.execute(f"INSERT INTO {table} SELECT {columns} FROM _units")
                self.cursor.unregister("_units")
        self.not_right, self.judged = [], []

    def commit(self, cells: Sequence[Cell]) -> None:
        self.units([], flush=True)
        if cells:
            self.cursor.register("_cells", pa.Table.from_pylist([cell.row() for cell in cells]))
            self.cursor.execute(f"INSERT INTO {TABLES[self.scope]} BY NAME SELECT * FROM _cells")
        self.cursor.execute("COMMIT")
        self.open = False

    def close(self) -> None:
        try:
            if self.open:
                self.cursor.execute("ROLLBACK")
        finally:
            self.cursor.close()


_NOT_RIGHT_COLUMNS = "question_id, source, unit, outcome, cause, detail"


def _units_as_now(cursor: duckdb.DuckDBPyConnection) -> None:
    """Databases scored by earlier versions hold their units as stored then: one `answerability_units` table (every
    scope, every unit with its outcome), or per scope a table of units not right and one of units right
    (`answerability_right_<scope>`). They move to today's tables: the units not right as they are, and a question's
    judged units as the units any source of it was judged on (every source is judged on the same ones)."""
    found = dict(cursor.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_name LIKE 'answerability_%'").fetchall())
    single = found.get("answerability_units") == "BASE TABLE"
    right = {scope: f"answerability_right_{scope}" for scope in SCOPES if f"answerability_right_{scope}" in found}
    if not single and not right:
        return
    cursor.execute("BEGIN TRANSACTION")
    if single:
        cursor.execute("ALTER TABLE answerability_units RENAME TO answerability_units_before")
    cursor.execute(files(__package__).joinpath("schema.sql").read_text(encoding="utf-8"))
    for scope in SCOPES:
        if single:
            cursor.execute(f"INSERT INTO {UNITS[scope]} SELECT {_NOT_RIGHT_COLUMNS} FROM answerability_units_before "
                           f"WHERE scope = $scope AND outcome <> '{RIGHT}'", {"scope": scope})
            cursor.execute(f"INSERT INTO {JUDGED_UNITS[scope]} SELECT DISTINCT question_id, unit "
                           "FROM answerability_units_before WHERE scope = $scope", {"scope": scope})
        if scope in right:
            cursor.execute(f"INSERT INTO {JUDGED_UNITS[scope]} SELECT DISTINCT question_id, unit FROM "
                           f"(SELECT question_id, unit FROM {right[scope]} "
                           f"UNION ALL SELECT question_id, unit FROM {UNITS[scope]}) "
                           f"EXCEPT SELECT question_id, unit FROM {JUDGED_UNITS[scope]}")
            cursor.execute(f"DROP TABLE {right[scope]}")
    if single:
        cursor.execute("DROP TABLE answerability_units_before")
    cursor.execute("COMMIT")
