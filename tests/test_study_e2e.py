"""The whole study as a user runs it: a subprocess, a real dev server, three worker processes, one DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    runs = tmp_path_factory.mktemp("runs")
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "study", "--orders", "5", "--headless", "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (run_dir,) = list(runs.iterdir())
    return run_dir, completed.stdout


def test_last_line_names_the_run_folder(study_run) -> None:
    run_dir, stdout = study_run
    assert stdout.strip().splitlines()[-1] == f"Run folder: {run_dir}"
    for name in ("lens.duckdb", "temporal.sqlite", "temporal-server.log", "app_orders.sqlite", "faults.json"):
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "logs").glob("*.jsonl")) == [
        "driver.jsonl", "orders.jsonl", "payments.jsonl", "shipping.jsonl"
    ]


def test_every_order_is_in_every_source(study_run) -> None:
    run_dir, _ = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        orders = db.sql("SELECT workflow_id FROM ground_truth").fetchall()
        assert len(orders) == 5
        for (workflow_id,) in orders:
            for table in ("history_events", "spans", "logs"):
                rows = db.execute(f"SELECT count(*) FROM {table} WHERE workflow_id = ?", [workflow_id]).fetchall()
                assert rows[0][0] > 0, f"{table} has nothing for {workflow_id}"
        # the spans of one order share one trace, and its log lines carry that trace id
        mixed = db.sql(
            """SELECT s.workflow_id FROM spans s GROUP BY s.workflow_id HAVING count(DISTINCT s.trace_id) <> 1"""
        ).fetchall()
        assert mixed == []
        unjoined = db.sql(
            """SELECT count(*) FROM logs l WHERE l.workflow_id LIKE 'order-%' AND l.trace_id IS NOT NULL
               AND l.trace_id NOT IN (SELECT trace_id FROM spans WHERE workflow_id = l.workflow_id)"""
        ).fetchall()[0][0]
        assert unjoined == 0
        services = {r[0] for r in db.sql("SELECT DISTINCT service_name FROM spans").fetchall()}
        assert {"orders", "payments", "shipping", "order-driver"} <= services


def test_matrix_cells_are_what_the_data_supports(study_run) -> None:
    run_dir, stdout = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        verdicts = {
            (q, s): (v, f)
            for q, s, v, f in db.sql("SELECT question_id, source, verdict, fraction FROM answerability").fetchall()
        }
        two_failures = db.sql(
            "SELECT count(*) FROM ground_truth WHERE scenario = 'retry' AND expected_attempts = 3"
        ).fetchall()[0][0]
        total = db.sql("SELECT count(*) FROM ground_truth").fetchall()[0][0]
    assert "Answerability" in stdout
    for source in ("history", "traces", "logs", "app_db"):
        assert verdicts[("order_status", source)][0] == "answers", source
    for source in ("traces", "logs"):
        assert verdicts[("payment_attempts", source)][0] == "answers", source
        assert verdicts[("step_durations", source)][0] == "answers", source
    assert verdicts[("payment_attempts", "app_db")][0] == "cannot"
    assert verdicts[("step_durations", "app_db")][0] == "cannot"
    # History keeps only the last attempt (and the failure before it): orders that failed twice lose attempt 1.
    verdict, fraction = verdicts[("payment_attempts", "history")]
    assert fraction == pytest.approx((total - two_failures) / total)
    assert verdict == ("answers" if two_failures == 0 else "partial")
    assert verdicts[("step_durations", "history")][0] == "answers"
