"""Every unit a source gets not-right carries one cause, read from the data: checked on hand-made tables for the
outcomes, and on a real study database (damaged where a test needs it) for the causes and the retained scope."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from temporal_lens.analysis import CATALOGUE, RETAINED, SOURCES, Cell, Question, score_answers, wilson_interval
from temporal_lens.analysis.catalogue import PER_ORDER_TIMING
from temporal_lens.analysis.causes import CAUSE_BY_CODE, RUN_DELETED
from temporal_lens.analysis.compare import units_sql
from temporal_lens.analysis.matrix import cell_label, render_matrix

EXACT = Question(id="t_exact", text="?", category="state", key=("step",))
TIMED = Question(id="t_timed", text="?", category="timing", kind=PER_ORDER_TIMING, key=("step",),
                 timed=(("ms", "floor_ms"),), tolerance_ms=(10.0, 100.0))


def _outcomes(q: Question, truth_sql: str, answer_sql: str) -> dict[str, str]:
    conn = duckdb.connect()
    conn.execute(f"CREATE TABLE truth AS {truth_sql}")
    conn.execute(f"CREATE TABLE answer AS {answer_sql}")
    columns = {t: {n: ty for n, ty, *_ in conn.execute(f"DESCRIBE {t}").fetchall()} for t in ("truth", "answer")}
    sql = units_sql(q, columns["truth"], columns["answer"], truth_table="truth", answer_table="answer")
    return dict(conn.execute(f"SELECT unit, outcome FROM ({sql})").fetchall())


# ---- outcomes: incomplete is not wrong ------------------------------------------------------------------------------


def test_exact_rows_right_but_some_missing_are_incomplete_and_an_extra_row_is_wrong() -> None:
    truth = ("SELECT unnest(['o1', 'o1', 'o2', 'o2', 'o3', 'o4']) AS order_id, "
             "unnest(['a', 'b', 'a', 'b', 'a', 'a']) AS step")
    answer = ("SELECT unnest(['o1', 'o1', 'o2', 'o3', 'o3']) AS order_id, "
              "unnest(['b', 'a', 'a', 'a', 'a']) AS step")
    assert _outcomes(EXACT, truth, answer) == {"o1": "right", "o2": "incomplete", "o3": "wrong", "o4": "missing"}


def test_exact_a_differing_value_is_wrong_even_with_fewer_rows() -> None:
    truth = "SELECT 'o1' AS order_id, unnest(['a', 'b']) AS step"
    assert _outcomes(EXACT, truth, "SELECT 'o1' AS order_id, 'c' AS step") == {"o1": "wrong"}


def test_timed_keys_answered_within_tolerance_but_some_missing_are_incomplete() -> None:
    truth = ("SELECT unnest(['o1', 'o1', 'o2', 'o2']) AS order_id, unnest(['a', 'b', 'a', 'b']) AS step, "
             "100.0 AS floor_ms")
    answer = "SELECT unnest(['o1', 'o2']) AS order_id, 'a' AS step, unnest([150, 5000]) AS ms"
    assert _outcomes(TIMED, truth, answer) == {"o1": "incomplete", "o2": "wrong"}


# ---- Wilson interval --------------------------------------------------------------------------------------------


def test_wilson_interval_on_known_inputs() -> None:
    # reference values: Wilson (1927) score interval, z = 1.96, as tabulated by Newcombe (1998)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson_interval(3, 2)


def test_counting_a_cause_right_recomputes_the_verdict() -> None:
    cell = Cell("q", "?", "history", "partial", 11 / 12, "...", 11, 12, (("run_deleted", 1),))
    assert cell.counting_right(RUN_DELETED).verdict == "answers"
    assert cell.counting_right(CAUSE_BY_CODE["wrong"]) is cell
    assert cell.n == 12 and not cell.few_cases
    assert Cell("q", "?", "logs", "partial", 0.5, "...", 1, 2).few_cases


# ---- the terminal matrix at 80 columns ------------------------------------------------------------------------


def test_matrix_fits_80_columns_without_wrapping_a_cell() -> None:
    sources = SOURCES
    shapes = [(11, 12), (1, 2), (0, 3), (10_007, 10_008), (9_876, 9_999), (999, 999), (0, 0)]
    cells = []
    for i, q in enumerate(CATALOGUE):
        for j, source in enumerate(sources):
            right, total = shapes[(i + j) % len(shapes)]
            verdict = "answers" if total and right == total else "partial" if right else "cannot"
            cells.append(Cell(q.id, q.text, source, verdict, right / total if total else 0.0, "no query", right, total))
    console = Console(width=80, record=True, color_system=None)
    console.print(render_matrix(cells))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    for q in CATALOGUE:
        (row,) = [line for line in lines if line.split() and line.split()[0] == q.id]
        labels = [cell_label(c) for c in cells if c.question_id == q.id]
        position = 0
        for label in labels:  # every label whole, in source order, on the question's own line
            found = row.find(label, position)
            assert found >= 0, (q.id, label, row)
            position = found + len(label)


# ---- causes on a real study -----------------------------------------------------------------------------------


@pytest.fixture
def study_db(study_run: tuple[Path, str]) -> Path:
    """The shared study's database (every scenario kind, one order each): read only, copied to be changed."""
    return study_run[0] / "lens.duckdb"


@pytest.fixture
def copy(study_db: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    path = tmp_path / "lens.duckdb"
    shutil.copy(study_db, path)
    conn = duckdb.connect(str(path))
    yield conn
    conn.close()


_PER_ORDER = {q.id for q in CATALOGUE if q.unit == ("order_id",)}


def _units(conn: duckdb.DuckDBPyConnection, scope: str = "all", where: str = "TRUE") -> dict[tuple, tuple]:
    rows = conn.execute(f"SELECT question_id, source, unit, outcome, cause FROM answerability_units "
                        f"WHERE scope = ? AND {where}", [scope]).fetchall()
    return {(q, s, u): (o, c) for q, s, u, o, c in rows}


def test_every_unit_not_right_has_one_cause_and_deleted_orders_carry_run_deleted(copy) -> None:
    cells = score_answers(copy)
    units = _units(copy)
    assert units and all((o == "right") == (c is None) for o, c in units.values())
    assert all(c is None or c in CAUSE_BY_CODE for _, c in units.values())
    deleted = {r[0] for r in copy.execute("SELECT order_id FROM ground_truth WHERE deleted").fetchall()}
    assert deleted, "the study has a deleted order"
    history_units = {(q, u): v for (q, s, u), v in units.items() if s == "history" and q in _PER_ORDER}
    for (q, unit), (outcome, cause) in history_units.items():
        if unit in deleted and outcome in ("missing", "incomplete"):
            assert cause == "run_deleted", (q, unit, outcome, cause)
        if cause == "run_deleted":
            assert unit in deleted, (q, unit)
    assert any(c == "run_deleted" for (_, _), (_, c) in history_units.items())
    # the reason names every cause with its count, and an example that has that cause
    status = next(c for c in cells if c.id == "order_status/history")
    assert status.reason.startswith(f"{status.orders_right} of {status.n} orders right; ")
    assert "1 run deleted before collection (e.g. " in status.reason
    example = status.reason.split("run deleted before collection (e.g. ")[1].split(")")[0]
    assert example in deleted
    stored = copy.execute("SELECT n, ci_low, ci_high, few_cases FROM answerability "
                          "WHERE question_id = 'order_status' AND source = 'history'").fetchall()[0]
    assert (stored[0], stored[3]) == (status.n, status.few_cases)
    assert stored[1:3] == pytest.approx(status.interval)


def test_a_damaged_status_is_wrong_on_exactly_the_damaged_orders(copy) -> None:
    damaged = {r[0] for r in copy.execute("SELECT order_id FROM app_orders WHERE status <> 'completed'").fetchall()}
    assert damaged
    copy.execute("UPDATE app_orders SET status = 'completed' WHERE status <> 'completed'")
    q = next(q for q in CATALOGUE if q.id == "order_status")
    score_answers(copy, [q])
    not_right = {u: (o, c) for (_, _, u), (o, c) in _units(copy, where="source = 'app_db'").items() if o != "right"}
    assert set(not_right) == damaged
    assert set(not_right.values()) == {("wrong", "wrong")}


def test_an_order_whose_records_are_gone_is_not_recorded_by_that_source(copy) -> None:
    (order_id, workflow_id) = copy.execute(
        "SELECT order_id, workflow_id FROM ground_truth WHERE NOT deleted AND NOT crashed ORDER BY order_id LIMIT 1"
    ).fetchall()[0]
    copy.execute("DELETE FROM logs WHERE workflow_id = ?", [workflow_id])
    q = next(q for q in CATALOGUE if q.id == "order_status")
    score_answers(copy, [q])
    not_right = {u: (o, c) for (_, _, u), (o, c) in _units(copy, where="source = 'logs'").items() if o != "right"}
    assert not_right == {order_id: ("missing", "not_recorded")}



def test_a_status_only_in_the_result_payload_is_named_for_spans_and_for_status_questions_alone(copy) -> None:
    """A canceled or expired order's run completes; its business status is only in the result payload, which spans
    do not record: its status units in traces carry that cause, and no other question's units do."""
    score_answers(copy)
    in_payload = {r[0] for r in copy.execute("SELECT order_id FROM ground_truth WHERE expected_status = 'completed' "
                                             "AND expected_order_status <> 'completed'").fetchall()}
    assert in_payload, "the study has a canceled or an expired order"
    named = _units(copy, where="cause = 'status_in_payload'")
    status = _units(copy, where="question_id = 'order_status' AND source = 'traces'")
    assert {u for (q, s, u) in named if q == "order_status" and s == "traces"} == {
        u for (_, _, u), (o, _) in status.items() if u in in_payload and o != "right"}
    assert any(u in in_payload and o != "right" for (_, _, u), (o, _) in status.items())
    assert {q for q, _, _ in named} <= {"order_status", "orders_by_status"}
    assert {s for _, s, _ in named} <= {"traces", "history_traces"}
    assert any(q == "order_status" for q, _, _ in named)

def test_the_retained_scope_differs_exactly_on_the_deleted_orders_units(copy) -> None:
    score_answers(copy)
    retained_cells = score_answers(copy, scope=RETAINED)
    deleted = {r[0] for r in copy.execute("SELECT order_id FROM ground_truth WHERE deleted").fetchall()}
    # closed_in_period's period starts at the first order's start, which may be a deleted order's: left out here
    compared = _PER_ORDER - {"closed_in_period"}
    every = {k: v for k, v in _units(copy).items() if k[0] in compared}
    retained = {k: v for k, v in _units(copy, RETAINED).items() if k[0] in compared}
    assert {k: v for k, v in every.items() if k[2] not in deleted} == retained
    assert not any(k[2] in deleted for k in retained)
    assert any(k[2] in deleted for k in every)
    assert all(c != "run_deleted" for _, c in _units(copy, RETAINED).values())
    stored = copy.execute("SELECT count(*) FROM answerability_retained").fetchall()[0][0]
    assert stored == len(retained_cells)
    # a group whose count was off by the deleted run only is right without it
    by_status = next(c for c in retained_cells if c.id == "orders_by_status/history")
    every_by_status = _units(copy, where="question_id = 'orders_by_status' AND source = 'history'")
    if any(c == "run_deleted" for _, c in every_by_status.values()):
        assert "run_deleted" not in dict(by_status.causes)


def test_ask_prints_the_retained_matrix(study_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    shutil.copy(study_db, db)
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "ask", "--db", str(db), "--scope", "retained", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    cells = json.loads(completed.stdout)
    cells = cells.get("matrix", cells) if isinstance(cells, dict) else cells
    assert cells and {c["scope"] for c in cells} == {RETAINED}
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM answerability_retained").fetchall()[0][0] == len(cells)
    bad = subprocess.run([sys.executable, "-m", "temporal_lens", "ask", "--db", str(db), "--scope", "some"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "--scope" in bad.stderr
