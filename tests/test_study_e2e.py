"""The whole study as a user runs it: a subprocess, a real dev server, three worker processes, one DuckDB file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import duckdb
import pytest

from temporal_lens.sample_app.scenario import SCENARIOS
from temporal_lens.stack import DevServer

pytestmark = [pytest.mark.server, pytest.mark.study]


def _scalar(db, sql: str, params: list | None = None):
    return db.execute(sql, params or []).fetchall()[0][0]


def test_last_line_names_the_run_folder(study_run) -> None:
    run_dir, stdout = study_run
    assert stdout.strip().splitlines()[-1] == f"Run folder: {run_dir}"
    for name in ("lens.duckdb", "temporal.sqlite", "temporal-server.log", "app_orders.sqlite", "faults.json"):
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "logs").glob("*.jsonl")) == [
        "driver.jsonl", "orders.jsonl", "payments.jsonl", "shipping.jsonl"
    ]


def test_every_scenario_kind_ran_and_every_order_is_in_every_source(study_run) -> None:
    run_dir, _ = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        orders = db.sql("SELECT workflow_id, scenario, deleted FROM ground_truth").fetchall()
        assert sorted(s for _, s, _ in orders) == sorted(SCENARIOS)
        for workflow_id, scenario, deleted in orders:
            events = _scalar(db, "SELECT count(*) FROM history_events WHERE workflow_id = ?", [workflow_id])
            # a deleted workflow (retention expiry) is gone from history, and only from history
            assert (events == 0) == deleted, scenario
            for table in ("spans", "logs"):
                rows = _scalar(db, f"SELECT count(*) FROM {table} WHERE workflow_id = ?", [workflow_id])
                assert rows > 0, f"{table} has nothing for {scenario} order {workflow_id}"
        # an order's workflow and activity spans form one trace, and its log lines carry that trace id
        split = db.sql(
            """SELECT workflow_id FROM spans
               WHERE source = 'otlp' AND workflow_id LIKE 'order-%'
                 AND regexp_matches(name, '^(RunWorkflow|StartActivity|RunActivity):')
               GROUP BY workflow_id HAVING count(DISTINCT trace_id) <> 1"""
        ).fetchall()
        assert split == []
        unjoined = _scalar(
            db,
            """SELECT count(*) FROM logs l WHERE l.workflow_id LIKE 'order-%' AND l.trace_id IS NOT NULL
               AND l.trace_id NOT IN (SELECT trace_id FROM spans WHERE workflow_id = l.workflow_id)""",
        )
        assert unjoined == 0
        services = {r[0] for r in db.sql("SELECT DISTINCT service_name FROM spans").fetchall()}
        assert {"orders", "payments", "shipping", "order-driver"} <= services
        # the crash is in the ground truth, and the order still completed on the restarted worker
        assert _scalar(db, "SELECT count(*) FROM ground_truth_crashes") == 1
        crashed = _scalar(db, "SELECT workflow_id FROM ground_truth WHERE crashed")
        attempts = db.execute(
            """SELECT attempt FROM history_events WHERE workflow_id = ? AND event_type = 'ActivityTaskStarted'
               AND activity_type = 'authorize_payment'""",
            [crashed],
        ).fetchall()
        assert attempts == [(2,)]
        assert _scalar(db, "SELECT count(*) FROM ground_truth_loyalty") >= 1


def test_matrix_cells_are_what_the_data_supports(study_run) -> None:
    run_dir, stdout = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        verdicts = {
            (q, s): (v, f)
            for q, s, v, f in db.sql("SELECT question_id, source, verdict, fraction FROM answerability").fetchall()
        }
    assert "Answerability" in stdout
    for source in ("logs", "app_db"):
        assert verdicts[("order_status", source)][0] == "answers", source
    # the deleted order is gone from history; canceled and expired orders end "completed" as far as spans can tell
    assert verdicts[("order_status", "history")][0] == "partial"
    assert verdicts[("order_status", "traces")][0] == "partial"
    for source in ("traces", "logs"):
        assert verdicts[("payment_attempts", source)][0] == "answers", source
    assert verdicts[("step_durations", "logs")][0] == "answers"
    assert verdicts[("payment_attempts", "app_db")][0] == "cannot"
    assert verdicts[("step_durations", "app_db")][0] == "cannot"
    # History keeps only the last attempt (and the failure before it): the order that failed twice loses attempt 1,
    # and the deleted order loses everything.
    assert verdicts[("payment_attempts", "history")][0] == "partial"
    assert verdicts[("step_durations", "history")][0] == "partial"


def test_audit_of_the_studys_namespace_explains_what_the_study_knows(study_run, tmp_path) -> None:
    """`temporal-lens audit` on the sample app's namespace after a study: its server restarted on the study's SQLite
    file, the study's database audited as a user's own (histories, spans, logs already there)."""
    run_dir, _ = study_run
    server_dir, db, out = tmp_path / "server", tmp_path / "lens.duckdb", tmp_path / "report"
    server_dir.mkdir()
    shutil.copyfile(run_dir / "temporal.sqlite", server_dir / "temporal.sqlite")
    shutil.copyfile(run_dir / "lens.duckdb", db)
    with duckdb.connect(str(db), read_only=True) as lens:
        gone = {r for (r,) in lens.sql("SELECT run_id FROM ground_truth WHERE deletion = 'gone'").fetchall()}
        orders = _scalar(lens, "SELECT count(*) FROM ground_truth")
    with DevServer(server_dir, headless=True) as server:
        completed = subprocess.run(
            [sys.executable, "-m", "temporal_lens", "audit", "--db", str(db), "--address", server.address,
             "--out", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = json.loads((out / "audit.json").read_text())
    assert sum(summary["runs"]["by_type_and_status"]["OrderWorkflow"].values()) == orders - len(gone)
    coverage = summary["coverage"]
    assert {r["instrumented_by"] for r in coverage["attempt_spans"]} == {"lens"}
    (orders_queue,) = [r for r in coverage["attempt_spans"]
                       if (r["workflow_type"], r["task_queue"]) == ("OrderWorkflow", "orders")]
    assert orders_queue["share"] == 1.0
    assert all(r["runs_without_spans"] == 0 for r in coverage["runs_without_spans"])
    # The deleted runs are the only ones spans and logs name that the history no longer has.
    for source in ("traces", "logs"):
        (unknown,) = [r for r in coverage["unknown_runs"] if r["source"] == source]
        assert unknown["unknown_runs"] == len(gone) and set(unknown["examples"] or []) == gone
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
