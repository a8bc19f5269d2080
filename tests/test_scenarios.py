"""Every scenario kind ends as planned, and leaves the history shape Temporal is known to write for it."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import run_study

pytestmark = [pytest.mark.server, pytest.mark.study]


@pytest.fixture(scope="module")
def db(study_run):
    run_dir, _ = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as conn:
        yield conn


def _order(db, scenario: str) -> tuple[str, str]:
    return db.execute("SELECT order_id, workflow_id FROM ground_truth WHERE scenario = ?", [scenario]).fetchall()[0]


def _events(db, workflow_id: str) -> list[tuple]:
    return db.execute(
        """SELECT event_type, activity_type, attempt, failure_type, failure_message, signal_name, update_name
           FROM history_events WHERE workflow_id = ? ORDER BY run_id, event_id""",
        [workflow_id],
    ).fetchall()


def test_every_order_ended_as_planned(db, study_run) -> None:
    _, stdout = study_run
    assert "ended unlike the plan" not in stdout
    mismatched = db.sql(
        """SELECT g.scenario, g.expected_status, w.status FROM ground_truth g JOIN workflows w USING (workflow_id)
           WHERE NOT g.deleted AND lower(w.status) <> g.expected_status"""
    ).fetchall()
    assert mismatched == []
    app = dict(db.sql("SELECT order_id, status FROM app_orders").fetchall())
    truth = dict(db.sql("SELECT order_id, expected_order_status FROM ground_truth").fetchall())
    assert app == truth


def test_retry_and_decline(db) -> None:
    _, retry = _order(db, "retry")
    started = [e for e in _events(db, retry) if e[0] == "ActivityTaskStarted" and e[1] == "authorize_payment"]
    assert [e[2] for e in started] == [3]  # two injected failures: history shows only the third attempt
    assert "(attempt 2)" in started[0][4]  # carrying the second attempt's failure, and nothing of the first
    _, decline = _order(db, "decline")
    events = _events(db, decline)
    assert ("ActivityTaskFailed", "authorize_payment") in [e[:2] for e in events]
    assert [e[1] for e in events if e[0] == "ActivityTaskScheduled" and e[1] != "record_order_status"] == [
        "reserve_stock", "authorize_payment", "release_stock"
    ]
    assert events[-1][0] == "WorkflowExecutionFailed" and events[-1][3] == "PaymentDeclined"


def test_out_of_stock_compensates_in_reverse(db) -> None:
    _, workflow_id = _order(db, "out_of_stock")
    scheduled = [e[1] for e in _events(db, workflow_id) if e[0] == "ActivityTaskScheduled"]
    work = [s for s in scheduled if s != "record_order_status"]
    assert work == ["reserve_stock", "authorize_payment", "ship_order", "refund_payment", "release_stock"]


@pytest.mark.parametrize("scenario, kind", [("timeout", "StartToClose"), ("heartbeat", "Heartbeat")])
def test_timeouts_retry_the_step(db, scenario, kind) -> None:
    _, workflow_id = _order(db, scenario)
    started = [e for e in _events(db, workflow_id) if e[0] == "ActivityTaskStarted" and e[1] == "ship_order"]
    assert [e[2] for e in started] == [2]
    assert kind.lower() in (started[0][4] or "").lower()


def test_signals_updates_and_timers(db) -> None:
    _, cancel = _order(db, "cancel")
    events = _events(db, cancel)
    assert ("WorkflowExecutionSignaled", "cancel_order") in [(e[0], e[5]) for e in events]
    assert "TimerStarted" in [e[0] for e in events]
    _, update = _order(db, "address_update")
    events = _events(db, update)
    accepted = [e for e in events if e[0] == "WorkflowExecutionUpdateAccepted"]
    # the validator's rejection leaves no trace in history: only the accepted update is there
    assert [e[6] for e in accepted] == ["change_address"]
    assert ("WorkflowExecutionSignaled", "confirm_payment") in [(e[0], e[5]) for e in events]
    _, expire = _order(db, "expire")
    assert {"TimerStarted", "TimerFired"} <= {e[0] for e in _events(db, expire)}


def test_crashed_worker_recovers(db) -> None:
    order_id, workflow_id = _order(db, "crash")
    assert db.execute("SELECT service FROM ground_truth_crashes WHERE order_id = ?", [order_id]).fetchall() == [
        ("payments",)
    ]
    events = _events(db, workflow_id)
    started = [e for e in events if e[0] == "ActivityTaskStarted" and e[1] == "authorize_payment"]
    assert [e[2] for e in started] == [2] and "heartbeat" in started[0][4].lower()
    assert events[-1][0] == "WorkflowExecutionCompleted"


def test_child_workflow_and_continue_as_new(db) -> None:
    _, happy = _order(db, "happy")
    assert "StartChildWorkflowExecutionInitiated" in [e[0] for e in _events(db, happy)]
    invoices = db.sql("SELECT count(*) FROM workflows WHERE workflow_type = 'InvoiceWorkflow'").fetchall()[0][0]
    completed = db.sql("SELECT count(*) FROM ground_truth WHERE expected_order_status = 'completed'").fetchall()[0][0]
    assert invoices == completed  # the deleted order's invoice child stays: only the parent was deleted
    runs = dict(db.sql(
        "SELECT workflow_id, count(*) FROM workflows WHERE workflow_type = 'LoyaltyWorkflow' GROUP BY 1"
    ).fetchall())
    expected = dict(db.sql("SELECT workflow_id, expected_events FROM ground_truth_loyalty").fetchall())
    assert set(runs) == set(expected)
    for workflow_id, events in expected.items():
        assert runs[workflow_id] >= 1 + (events - 1) // 3 if events else runs[workflow_id] == 1
    assert max(runs.values()) >= 2, "some customer's loyalty workflow continued as new"


def test_encrypting_codec_keeps_customer_data_out_of_history(tmp_path) -> None:
    run_dir, _ = run_study(tmp_path, "--orders", "3", "--scenarios", "happy,retry,decline", "--codec", "--cases", "1")
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as conn:
        cards = [r[0] for r in conn.sql("SELECT card_number FROM ground_truth").fetchall()]
        assert all(conn.sql("SELECT bool_and(codec) FROM ground_truth").fetchall()[0])
        for card in cards:
            hits = conn.execute("SELECT count(*) FROM history_events WHERE attributes::VARCHAR LIKE ?",
                                [f"%{card}%"]).fetchall()[0][0]
            assert hits == 0, f"{card} readable in history despite the codec"
        # the study still ran: every order is in history, encrypted
        assert conn.sql("SELECT count(DISTINCT workflow_id) FROM history_events WHERE workflow_id LIKE 'order-%'"
                        ).fetchall()[0][0] == 3


def test_without_a_codec_history_holds_customer_data(db) -> None:
    # the other side of the codec test: the same check finds the sentinel card when payloads are plain
    card = db.sql("SELECT card_number FROM ground_truth WHERE NOT deleted LIMIT 1").fetchall()[0][0]
    hits = db.execute("SELECT count(*) FROM history_events WHERE attributes::VARCHAR LIKE ?", [f"%{card}%"])
    assert hits.fetchall()[0][0] > 0
