"""Scoring is not circular: damage one source's data in a real study database and only that source's verdict drops."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from temporal_lens.analysis import ANSWERS, CATALOGUE, KINDS, SOURCES, score_answers
from temporal_lens.analysis.claims import judge_claims
from tests.conftest import run_study


@pytest.fixture(scope="module")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real study for this module (every scenario kind, as a user runs it)."""
    from temporal_lens.sample_app.scenario import SCENARIOS

    run_dir, _ = run_study(tmp_path_factory.mktemp("runs"), "--orders", str(len(SCENARIOS)), "--cases", "1")
    return run_dir / "lens.duckdb"


@pytest.fixture
def damaged(study_db: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A private copy of the study database to corrupt."""
    copy = tmp_path / "lens.duckdb"
    shutil.copy(study_db, copy)
    conn = duckdb.connect(str(copy))
    yield conn
    conn.close()


def _verdicts(conn: duckdb.DuckDBPyConnection, question_id: str) -> dict[str, tuple[str, float]]:
    q = next(q for q in CATALOGUE if q.id == question_id)
    return {c.source: (c.verdict, c.fraction) for c in score_answers(conn, [q], store=False)}


def _dropped(before: tuple[str, float], after: tuple[str, float]) -> bool:
    return after[1] < before[1] or (before[0] == ANSWERS and after[0] != ANSWERS)


@pytest.mark.server
@pytest.mark.study
def test_deleting_failure_logs_costs_only_the_logs(damaged) -> None:
    before = _verdicts(damaged, "payment_attempts")
    assert before["logs"][0] == ANSWERS
    # half of the 'activity failed' records of payment authorization vanish (a lossy log pipeline)
    damaged.execute(
        """DELETE FROM logs WHERE (source_file, line_no) IN (
               SELECT source_file, line_no FROM logs
               WHERE event = 'activity failed' AND attributes->>'$."temporal.activity_type"' = 'authorize_payment'
               ORDER BY time LIMIT (SELECT (count(*) + 1) // 2 FROM logs WHERE event = 'activity failed'
                                    AND attributes->>'$."temporal.activity_type"' = 'authorize_payment'))"""
    )
    after = _verdicts(damaged, "payment_attempts")
    assert _dropped(before["logs"], after["logs"]), (before, after)
    assert {s: v for s, v in after.items() if s != "logs"} == {s: v for s, v in before.items() if s != "logs"}


@pytest.mark.server
@pytest.mark.study
def test_stretching_spans_costs_only_the_traces(damaged) -> None:
    before = _verdicts(damaged, "step_durations")
    assert before["traces"][0] == ANSWERS
    damaged.execute("UPDATE spans SET duration_ms = duration_ms * 20 + 5000 WHERE source <> 'history'")
    after = _verdicts(damaged, "step_durations")
    assert _dropped(before["traces"], after["traces"]), (before, after)
    assert {s: v for s, v in after.items() if s != "traces"} == {s: v for s, v in before.items() if s != "traces"}


@pytest.mark.server
@pytest.mark.study
def test_changing_an_app_db_status_costs_only_the_app_db(damaged) -> None:
    before = _verdicts(damaged, "order_status")
    assert before["app_db"][0] == ANSWERS
    damaged.execute("UPDATE app_orders SET status = 'completed' WHERE status <> 'completed'")
    after = _verdicts(damaged, "order_status")
    assert _dropped(before["app_db"], after["app_db"]), (before, after)
    assert {s: v for s, v in after.items() if s != "app_db"} == {s: v for s, v in before.items() if s != "app_db"}


@pytest.mark.server
@pytest.mark.study
def test_an_emptied_source_scores_no_data(damaged) -> None:
    damaged.execute("DELETE FROM logs")
    cells = score_answers(damaged, store=False)
    for cell in cells:
        if cell.source == "logs":
            assert cell.verdict == "cannot"
            assert cell.reason == "no data collected" or cell.reason == next(
                q for q in CATALOGUE if q.id == cell.question_id).cannot_reason("logs")


@pytest.mark.server
@pytest.mark.study
def test_the_same_database_scores_the_same_matrix(study_db: Path) -> None:
    with duckdb.connect(str(study_db), read_only=True) as conn:
        first = [(c.id, c.verdict, c.fraction, c.reason) for c in score_answers(conn, store=False)]
        second = [(c.id, c.verdict, c.fraction, c.reason) for c in score_answers(conn, store=False)]
    assert first == second


def test_every_question_has_sql_or_a_reason_for_every_source() -> None:
    for q in CATALOGUE:
        assert q.kind in KINDS
        assert q.truth_sql().startswith("--"), q.id
        for source in SOURCES:
            sql = q.sql(source)
            if sql is None:
                assert source in q.cannot, f"{q.id}/{source}: no SQL and no reason"
            else:
                assert sql.startswith("--"), f"{q.id}/{source}.sql must start with a comment saying what it asks"
                assert source not in q.cannot, f"{q.id}/{source}: both SQL and a reason"


@pytest.mark.server
@pytest.mark.study
def test_no_query_fails_and_claims_cite_real_cells(study_db: Path) -> None:
    with duckdb.connect(str(study_db), read_only=True) as conn:
        cells = score_answers(conn, store=False)
    assert not [c for c in cells if c.reason.startswith("query failed")]
    ids = {c.id for c in cells}
    claims = judge_claims(cells)
    assert len(claims) == 5
    for claim in claims:
        assert claim.verdict in ("supported", "contradicted", "partly", "not yet measured")
        assert claim.cited and set(claim.cited) <= ids, claim.id
