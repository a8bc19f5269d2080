"""A deleted run the server still holds at collection: recorded as pending, scored as present, never an error;
and crash orders batched: one kill of the payments worker loses every crash order's attempt at once.

The dev server removes a deleted run 18 to 34 s after DeleteWorkflowExecution (measured idle), so a driver that
does not wait (TEMPORAL_LENS_DELETION_WAIT=0) collects the run while its deletion is pending.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from temporal_lens.study import DELETION_WAIT_ENV, DRIVER_CALLS_FILE
from tests.conftest import run_study

pytestmark = [pytest.mark.server, pytest.mark.study]


@pytest.fixture(scope="module")
def pending_run(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DELETION_WAIT_ENV, "0")
        return run_study(tmp_path_factory.mktemp("runs"), "--orders", "3", "--scenarios", "happy,deleted,crash",
                         "--cases", "2")


def test_the_ground_truth_says_what_the_server_held(pending_run) -> None:
    run_dir, stdout = pending_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        rows = db.sql("SELECT order_id, workflow_id, deleted, deletion FROM ground_truth ORDER BY order_id").fetchall()
        deleted = [(o, w) for o, w, d, state in rows if d]
        assert {state for _, _, d, state in rows if not d} == {None}
        assert [state for _, _, d, state in rows if d] == ["pending", "pending"]
        for _, workflow_id in deleted:
            # pending means present: the collector found the run's whole history
            closing = db.execute("SELECT count(*) FROM history_events WHERE workflow_id = ? AND event_type = "
                                 "'WorkflowExecutionCompleted'", [workflow_id]).fetchall()[0][0]
            assert closing == 1, workflow_id
    assert ("deletion still pending at collection (scored as present): "
            + ", ".join(order_id for order_id, _ in deleted)) in stdout
    assert stdout.strip().splitlines()[-1] == f"Run folder: {run_dir}"


def test_the_matrix_scores_a_pending_run_as_present(pending_run) -> None:
    run_dir, _ = pending_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        pending = {r[0] for r in db.sql("SELECT order_id FROM ground_truth WHERE deletion = 'pending'").fetchall()}
        units = db.sql("SELECT scope, question_id, source, unit, outcome, cause FROM answerability_units").fetchall()
    assert pending and units
    causes = {c for *_, c in units}
    assert "run_deleted" not in causes  # nothing was gone when the sources were read
    for scope, question, source, unit, outcome, cause in units:
        order = unit.split(" / ")[0]  # an open-state question's unit is (order, moment)
        if cause == "deletion_pending":
            # only Temporal asked in place can miss a run its deletion is reaching; the exported history is whole
            assert order in pending and outcome != "right" and source == "temporal", (scope, question, source, unit)
        if order in pending and source == "history":
            # present in history: the history source answers the pending run's per-order questions as it does
            # any other run's, and whatever it gets not right is never blamed on a deletion
            assert cause in (None, "not_recorded", "incomplete", "wrong"), cause
    # the retained scope keeps the pending run: the server still held it
    retained = {unit for scope, _, _, unit, _, _ in units if scope == "retained"}
    every = {unit for scope, _, _, unit, _, _ in units if scope == "all"}
    assert pending <= every and pending <= retained


def test_the_driver_times_its_calls(pending_run) -> None:
    run_dir, stdout = pending_run
    written = json.loads((run_dir / DRIVER_CALLS_FILE).read_text())
    assert written["calls"] >= 4  # two starts, a delete, describes of the deleted run
    assert {"start_workflow", "delete", "describe"} <= set(written["by_name"])
    slowest = written["slowest"][0]
    summary = next(line for line in stdout.splitlines() if line.startswith("driver calls: "))
    assert f"driver calls: {written['calls']}, slowest {slowest['name']} {slowest['order'] or '-'} " in summary


def test_one_kill_loses_every_crash_order_attempt(pending_run) -> None:
    run_dir, stdout = pending_run
    assert "ended unlike the plan" not in stdout
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        crashes = db.sql("SELECT order_id, service, step, killed_at, restarted_at FROM ground_truth_crashes "
                         "ORDER BY order_id").fetchall()
        crashed = [r[0] for r in db.sql("SELECT order_id FROM ground_truth WHERE crashed ORDER BY 1").fetchall()]
        assert len(crashes) == 2 and [c[0] for c in crashes] == crashed
        assert len({(c[3], c[4]) for c in crashes}) == 1, "both attempts lost to the same kill"
        assert {(c[1], c[2]) for c in crashes} == {("payments", "authorize_payment")}
        for order_id, workflow_id in db.sql("SELECT order_id, workflow_id FROM ground_truth WHERE crashed").fetchall():
            started = db.execute("SELECT attempt FROM history_events WHERE workflow_id = ? AND event_type = "
                                 "'ActivityTaskStarted' AND activity_type = 'authorize_payment'",
                                 [workflow_id]).fetchall()
            assert started == [(2,)], order_id  # the lost attempt 1, then attempt 2 on the restarted worker
        # no other order lost an attempt: every non-crash order's payment ran once
        others = db.sql("SELECT g.order_id, count(*) FROM ground_truth g JOIN history_events h USING (workflow_id) "
                        "WHERE NOT g.crashed AND NOT g.deleted AND h.event_type = 'ActivityTaskStarted' "
                        "AND h.activity_type = 'authorize_payment' AND h.attempt > 1 GROUP BY 1").fetchall()
        assert others == []
