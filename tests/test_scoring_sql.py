"""Scoring compares in SQL: checked on hand-made tables for each rule, and against a plain Python reading of the
same rules on every cell of a real study database."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from temporal_lens.analysis import CATALOGUE, SOURCES, Question, run_sql, score_answers
from temporal_lens.analysis.catalogue import AGGREGATE, PER_ORDER_EXACT, PER_ORDER_MEASURE, PER_ORDER_TIMING
from temporal_lens.analysis.compare import MissingColumn, comparison_sql, parse, truth_side_tables, units_sql
from temporal_lens.analysis.scoring import _bind


def _compare(q: Question, truth_sql: str, answer_sql: str) -> tuple[int, int, int, str | None]:
    conn = duckdb.connect()
    conn.execute(f"CREATE TABLE truth AS {truth_sql}")
    conn.execute(f"CREATE TABLE answer AS {answer_sql}")
    columns = {t: {n: ty for n, ty, *_ in conn.execute(f"DESCRIBE {t}").fetchall()} for t in ("truth", "answer")}
    sql = comparison_sql(q, columns["truth"], columns["answer"], truth_table="truth", answer_table="answer")
    result = parse(conn.execute(sql).fetchall()[0])
    # Scoring reads the truth's side from tables made once per question: every unit judged exactly the same.
    for table, statement in truth_side_tables(q, columns["truth"], truth_table="truth"):
        conn.execute(f"CREATE TABLE {table} AS {statement}")
    judged = [sorted(conn.execute(units_sql(q, columns["truth"], columns["answer"], truth_table="truth",
                                            answer_table="answer", truth_prepared=prepared)).fetchall())
              for prepared in (False, True)]
    assert judged[0] == judged[1]
    return result.total, result.right, result.missing, result.example


EXACT = Question(id="t_exact", text="?", category="state")
TIMED = Question(id="t_timed", text="?", category="timing", kind=PER_ORDER_TIMING, key=("step",),
                 timed=(("ms", "floor_ms"),), tolerance_ms=(10.0, 100.0))


def test_numbers_compare_as_numbers_whatever_their_type() -> None:
    truth = "SELECT 'o1' AS order_id, 5::HUGEINT AS n UNION ALL SELECT 'o2', 2::BIGINT"
    answer = "SELECT 'o1' AS order_id, 5.0000001::DOUBLE AS n UNION ALL SELECT 'o2', 2.5::DECIMAL(4, 1)"
    assert _compare(EXACT, truth, answer) == (2, 1, 0, "o2")


def test_a_number_never_equals_the_text_spelling_it() -> None:
    truth = "SELECT 'o1' AS order_id, 5.0::DOUBLE AS n"
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, '5.0' AS n") == (1, 0, 0, "o1")


def test_a_boolean_never_equals_text() -> None:
    truth = "SELECT 'o1' AS order_id, TRUE AS ok"
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, 'true' AS ok")[1] == 0
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, 1 = 1 AS ok")[1] == 1


def test_null_differs_from_every_value() -> None:
    truth = "SELECT 'o1' AS order_id, NULL::VARCHAR AS s UNION ALL SELECT 'o2', 'x'"
    answer = "SELECT 'o1' AS order_id, '∅' AS s UNION ALL SELECT 'o2', 'x'"
    assert _compare(EXACT, truth, answer) == (2, 1, 0, "o1")
    assert _compare(EXACT, truth, truth) == (2, 2, 0, None)


def test_instants_compare_across_time_zone_types() -> None:
    truth = "SELECT 'o1' AS order_id, TIMESTAMPTZ '2026-01-01 01:00:00+01' AS at"
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, TIMESTAMP '2026-01-01 00:00:00' AS at")[1] == 1
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, TIMESTAMP '2026-01-01 01:00:00' AS at")[1] == 0


def test_rows_are_a_multiset_and_column_names_matter() -> None:
    truth = "SELECT 'o1' AS order_id, 'a' AS step UNION ALL SELECT 'o1', 'a' UNION ALL SELECT 'o1', 'b'"
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, unnest(['b', 'a', 'a']) AS step")[1] == 1
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step")[1] == 0
    assert _compare(EXACT, truth, "SELECT 'o1' AS order_id, unnest(['a', 'a', 'b']) AS stage")[1] == 0


def test_units_the_answer_lacks_are_unanswered_and_extra_units_do_not_count() -> None:
    truth = "SELECT unnest(['o1', 'o2', 'o3']) AS order_id, 1 AS n"
    answer = "SELECT unnest(['o1', 'o9']) AS order_id, 1 AS n"
    assert _compare(EXACT, truth, answer) == (3, 1, 2, "o2")


def test_aggregate_units_are_groups_of_several_columns() -> None:
    q = Question(id="t_agg", text="?", category="across", kind=AGGREGATE, unit=("day", "customer"))
    day = "DATE '2026-11-27'"
    truth = f"SELECT {day} AS day, 'c1' AS customer, 300 AS cents UNION ALL SELECT {day}, 'c2', 5"
    answer = f"SELECT {day} AS day, 'c1' AS customer, 300.0 AS cents UNION ALL SELECT {day}, 'c2', 6"
    assert _compare(q, truth, answer) == (2, 1, 0, "2026-11-27 / c2")


def test_timed_answers_fall_within_tolerance_of_the_floor() -> None:
    truth = "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step, 100.0 AS floor_ms"
    assert _compare(TIMED, truth, "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step, 195 AS ms")[1] == 1
    assert _compare(TIMED, truth, "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step, 89 AS ms")[1] == 0
    assert _compare(TIMED, truth, "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step, NULL AS ms")[1] == 0


def test_timed_keys_must_be_the_truths_each_named_once() -> None:
    truth = "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step, 100.0 AS floor_ms"
    duplicate = "SELECT 'o1' AS order_id, unnest(['a', 'b', 'b']) AS step, 120 AS ms"
    extra = "SELECT 'o1' AS order_id, unnest(['a', 'b', 'c']) AS step, 120 AS ms"
    short = "SELECT 'o1' AS order_id, 'a' AS step, 120 AS ms"
    for answer in (duplicate, extra, short):
        assert _compare(TIMED, truth, answer) == (1, 0, 0, "o1"), answer


def test_observed_columns_must_be_present_and_positive() -> None:
    q = Question(id="t_measure", text="?", category="cost", kind=PER_ORDER_MEASURE, observed=("bytes",))
    truth = "SELECT unnest(['o1', 'o2', 'o3']) AS order_id"
    answer = "SELECT 'o1' AS order_id, 10 AS bytes UNION ALL SELECT 'o2', 0 UNION ALL SELECT 'o3', NULL"
    assert _compare(q, truth, answer) == (3, 1, 0, "o2")


def test_a_missing_column_is_named() -> None:
    with pytest.raises(MissingColumn, match="answer has no column ms"):
        _compare(TIMED, "SELECT 'o1' AS order_id, 'a' AS step, 1.0 AS floor_ms",
                 "SELECT 'o1' AS order_id, 'a' AS step, 1 AS duration")
    with pytest.raises(MissingColumn, match="answer has no column order_id"):
        _compare(EXACT, "SELECT 'o1' AS order_id", "SELECT 'o1' AS id")



def test_open_status_truth_leaves_out_a_moment_inside_a_status_recording_attempt() -> None:
    """The attempt writes the orders table, then its log record, then ends: while it runs, the new status may or may
    not be recorded yet, so the ledger cannot say what was true; before and after it, it can."""
    from temporal_lens.analysis.catalogue import question

    conn = duckdb.connect()
    conn.execute("""CREATE TABLE observed_instants AS
                    SELECT 'query' AS api, 'order-o1' AS workflow_id, TIMESTAMPTZ '2026-12-01 10:00:00' + s AS moment
                    FROM (VALUES (INTERVAL 2 SECOND), (INTERVAL 5 SECOND), (INTERVAL 6 SECOND)) AS t(s)""")
    conn.execute("""CREATE TABLE ground_truth AS SELECT 'order-o1' AS workflow_id,
                    TIMESTAMPTZ '2026-12-01 10:00:00' AS started_at,
                    TIMESTAMPTZ '2026-12-01 10:00:09' AS finished_at""")
    conn.execute("""CREATE TABLE ground_truth_worker_attempts AS
                    SELECT 'order-o1' AS workflow_id, 'record_order_status' AS step, status, 'completed' AS outcome,
                           TIMESTAMPTZ '2026-12-01 10:00:00' + a AS started_at,
                           TIMESTAMPTZ '2026-12-01 10:00:00' + e AS ended_at
                    FROM (VALUES ('received', INTERVAL 1 SECOND, INTERVAL 1.5 SECOND),
                                 ('shipped', INTERVAL 4.5 SECOND, INTERVAL 5.5 SECOND)) AS t(status, a, e)""")
    rows = conn.execute(question("open_status").truth_sql().strip().rstrip(";") + " ORDER BY moment").fetchall()
    assert [(second.second, status) for _, second, status in rows] == [(2, "received"), (6, "shipped")]


# ---- the same rules read plainly in Python, applied to every cell of a real study ---------------------------------


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


def _reference(q: Question, truth: list[dict], answer: list[dict]) -> dict[tuple, str]:
    """Each truth unit's outcome (right, missing, incomplete, wrong) by the rules the catalogue states, row by row."""
    def by_unit(rows: list[dict]) -> dict[tuple, list[dict]]:
        grouped: dict[tuple, list[dict]] = defaultdict(list)
        for row in rows:
            grouped[tuple(_normal(row[c]) for c in q.unit)].append(row)
        return grouped

    def rows(group: list[dict]) -> Counter:
        return Counter(repr(sorted((k, _normal(v)) for k, v in r.items() if k not in q.unit)) for r in group)

    def outcome(expected: list[dict], got: list[dict]) -> str:
        if not got:
            return "missing"
        if q.kind == PER_ORDER_EXACT or not (q.timed or q.observed):
            want, have = rows(expected), rows(got)
            return "right" if want == have else "wrong" if have - want else "incomplete"
        key = lambda row: tuple(_normal(row[k]) for k in q.key)  # noqa: E731
        answered = {key(r): r for r in got}
        truth_keys = {key(r) for r in expected}
        if len(answered) != len(got) or not set(answered) <= truth_keys:
            return "wrong"
        below, above = q.tolerance_ms
        for row in expected:
            match = answered.get(key(row))
            if match is None:
                continue
            for answer_column, truth_column in q.timed:
                value = match[answer_column]
                if value is None or not row[truth_column] - below <= float(value) <= row[truth_column] + above:
                    return "wrong"
            if any(match[c] is None or (isinstance(match[c], int | float | Decimal) and match[c] <= 0)
                   for c in q.observed):
                return "wrong"
        return "right" if set(answered) == truth_keys else "incomplete"

    truth_units, answer_units = by_unit(truth), by_unit(answer)
    return {u: outcome(expected, answer_units.get(u, [])) for u, expected in truth_units.items()}


@pytest.mark.server
@pytest.mark.study
def test_sql_scoring_agrees_with_the_plain_reading_on_a_real_study(study_run: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, _ = study_run
    db = tmp_path / "lens.duckdb"
    shutil.copy(run_dir / "lens.duckdb", db)
    with duckdb.connect(str(db)) as conn:
        cells = {c.id: c for c in score_answers(conn)}
        stored = defaultdict(dict)
        for question_id, source, unit, outcome in conn.execute(
                "SELECT question_id, source, unit, outcome FROM answerability_units WHERE scope = 'all'").fetchall():
            stored[(question_id, source)][unit] = outcome
        compared = 0
        for q in CATALOGUE:
            if q.kind == PER_ORDER_MEASURE:
                assert f"{q.id}/history" not in cells  # a measurement, not an answerability verdict
                continue
            params_sql = q.params_sql()
            params = run_sql(conn, params_sql)[0] if params_sql else {}
            truth = run_sql(conn, q.truth_sql(), _bind(q.truth_sql(), params))
            for source in SOURCES:
                sql = q.sql(source)
                cell = cells[f"{q.id}/{source}"]
                if sql is None or not truth or cell.reason == "no data collected":
                    continue
                outcomes = _reference(q, truth, run_sql(conn, sql, _bind(sql, params)))
                right = sum(1 for o in outcomes.values() if o == "right")
                assert (cell.orders_total, cell.orders_right) == (len(outcomes), right), cell
                # units as people read them: one column as its value, several joined by ' / '
                shown = {" / ".join("None" if v is None else str(v) for v in u): o for u, o in outcomes.items()}
                if q.unit == ("order_id",):
                    assert stored[(q.id, source)] == shown, cell
                else:
                    assert sorted(stored[(q.id, source)].values()) == sorted(shown.values()), cell
                compared += 1
    assert compared >= 60


_UNITS_BEFORE = {
    # scope, question, source, unit, outcome, cause
    ("all", "q", "history", "o1", "right", None), ("all", "q", "history", "o2", "missing", "not_recorded"),
    ("all", "q", "traces", "o1", "right", None), ("all", "q", "traces", "o2", "right", None),
    ("all", "g", "logs", "a / 1", "wrong", "wrong"),  # a unit no source got right
    ("retained", "q", "history", "o1", "incomplete", "incomplete"),
}


def _older_layout(conn: duckdb.DuckDBPyConnection, layout: str) -> None:
    """`_UNITS_BEFORE` stored as an earlier version stored units, next to their cells."""
    from temporal_lens.analysis import ALL, RETAINED
    from temporal_lens.analysis.scoring import Cell, store_answerability

    for scope in (ALL, RETAINED):
        rows = [u for u in _UNITS_BEFORE if u[0] == scope]
        cells = []
        for q, source in sorted({(u[1], u[2]) for u in rows}):
            right = sum(1 for u in rows if u[1:3] == (q, source) and u[4] == "right")
            total = len({u[3] for u in rows if u[1] == q})
            cells.append(Cell(q, "?", source, "partial", right / total, "-", right, total, scope=scope))
        store_answerability(conn, cells, scope=scope)
    conn.execute("DROP VIEW answerability_units")
    for scope in (ALL, RETAINED):
        conn.execute(f"DROP TABLE answerability_judged_{scope}")
        if layout == "one table":
            conn.execute(f"DROP TABLE answerability_units_{scope}")
    if layout == "one table":
        conn.execute("CREATE TABLE answerability_units (scope VARCHAR NOT NULL, question_id VARCHAR NOT NULL, "
                     "source VARCHAR NOT NULL, unit VARCHAR NOT NULL, outcome VARCHAR NOT NULL, cause VARCHAR, "
                     "detail VARCHAR)")
        conn.executemany("INSERT INTO answerability_units VALUES (?, ?, ?, ?, ?, ?, NULL)", sorted(_UNITS_BEFORE,
                                                                                                   key=str))
        return
    for scope, q, source, unit, outcome, cause in sorted(_UNITS_BEFORE, key=str):
        conn.execute(f"CREATE TABLE IF NOT EXISTS answerability_right_{scope} (question_id VARCHAR NOT NULL, "
                     "source VARCHAR NOT NULL, unit VARCHAR NOT NULL)")
        if outcome == "right":
            conn.execute(f"INSERT INTO answerability_right_{scope} VALUES (?, ?, ?)", [q, source, unit])
        else:
            conn.execute(f"INSERT INTO answerability_units_{scope} VALUES (?, ?, ?, ?, ?, NULL)",
                         [q, source, unit, outcome, cause])


@pytest.mark.parametrize("layout", ["one table", "right units per scope"])
def test_an_older_databases_units_read_the_same_and_scoring_one_scope_keeps_the_other(
        tmp_path: Path, layout: str) -> None:
    from temporal_lens.analysis import ALL, RETAINED
    from temporal_lens.analysis.scoring import store_answerability

    with duckdb.connect(str(tmp_path / "lens.duckdb")) as conn:
        _older_layout(conn, layout)
        store_answerability(conn, [], scope=RETAINED)  # moves the units to today's tables, then empties retained
        units = "SELECT scope, question_id, source, unit, outcome, cause FROM answerability_units"
        assert set(conn.execute(units).fetchall()) == {u for u in _UNITS_BEFORE if u[0] == ALL}
        kinds = dict(conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                                  "WHERE table_name LIKE 'answerability_%'").fetchall())
        assert kinds == {"answerability_retained": "BASE TABLE",
                         "answerability_units": "VIEW", "answerability_units_all": "BASE TABLE",
                         "answerability_units_retained": "BASE TABLE", "answerability_judged_all": "BASE TABLE",
                         "answerability_judged_retained": "BASE TABLE"}
