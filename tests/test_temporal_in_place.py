"""Temporal asked in place during a real study: each order's search attributes follow its status, and what the
observer saw of an open order agrees with what the workers' own ledger says was happening at that moment.

The waiting states checked: waiting for the payment confirmation (an expiring bank-transfer order waits 2 s on its
timer), payment authorization retrying (a pending attempt carrying the previous attempt's failure), and shipping in
flight (the ship_order attempt that hangs until its 3 s timeout, or goes silent past its 1 s heartbeat timeout, then
its retry).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from temporal_lens.sample_app import model
from temporal_lens.sample_app.scenario import EXPIRE_AFTER_S

pytestmark = [pytest.mark.server, pytest.mark.study]

SERVER_LAG = timedelta(milliseconds=500)
"""How long after a worker's ledger says an attempt ended the server may still show it pending: the completion's
trip to the server and its processing (the clocks are one host's); and the other way, how long after the server
shows an attempt started the worker's ledger may record its start (the poll's answer's trip to the worker: 6 ms
seen)."""


@pytest.fixture(scope="module")
def db(study_run: tuple[Path, str]) -> duckdb.DuckDBPyConnection:
    run_dir, _ = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as conn:
        yield conn


def _orders(db, scenario: str) -> list[tuple[str, str]]:
    return db.execute("SELECT order_id, workflow_id FROM ground_truth WHERE scenario = ?", [scenario]).fetchall()


def _attempts(db, workflow_id: str, step: str) -> dict[int, tuple]:
    rows = db.execute("SELECT attempt, started_at, ended_at, outcome, error FROM ground_truth_worker_attempts "
                      "WHERE workflow_id = ? AND step = ?", [workflow_id, step]).fetchall()
    return {r[0]: r[1:] for r in rows}


def _pending(db, workflow_id: str, step: str) -> list[tuple]:
    """(asked_at, observed_at, pending activity) of every answered Describe that showed `step` pending."""
    rows = db.execute("SELECT asked_at, observed_at, pending_activities FROM temporal_observations "
                      "WHERE workflow_id = ? AND api = 'describe' AND answered ORDER BY asked_at",
                      [workflow_id]).fetchall()
    return [(asked, seen, a) for asked, seen, pending in rows for a in json.loads(pending)
            if a["activity_type"] == step]


def test_each_orders_search_attributes_carry_every_status_it_recorded(db) -> None:
    orders = db.execute("SELECT workflow_id, expected_order_status, customer, amount_cents, deleted "
                        "FROM ground_truth").fetchall()
    for workflow_id, final, customer, amount_cents, deleted in orders:
        upserted = db.execute(
            """SELECT attributes->'searchAttributes'->'indexedFields'->'OrderStatus'->>'data',
                      attributes->'searchAttributes'->'indexedFields'->'CustomerId'->>'data',
                      CAST(attributes->'searchAttributes'->'indexedFields'->'OrderTotal'->>'data' AS DOUBLE)
               FROM history_events WHERE workflow_id = ? AND event_type = 'UpsertWorkflowSearchAttributes'
               ORDER BY event_id""", [workflow_id]).fetchall()
        if deleted:
            assert upserted == []  # the history went with the run
            continue
        # one upsert per recorded status, in the order the orders service recorded them
        recorded = db.execute("SELECT count(*) FROM ground_truth_worker_attempts WHERE workflow_id = ? AND step = ? "
                              "AND outcome = 'completed'", [workflow_id, model.RECORD_STATUS]).fetchall()[0][0]
        statuses = [s for s, _, _ in upserted]
        assert len(statuses) == recorded and statuses[0] == "received" and statuses[-1] == final, statuses
        assert {(c, t) for _, c, t in upserted} == {(customer, amount_cents / 100)}
    listed = db.execute("""SELECT run->>'workflow_id', run->'search_attributes'->>'OrderStatus' FROM (
                               SELECT unnest(CAST(result AS JSON[])) AS run FROM temporal_visibility
                               WHERE phase = 'final' AND name = 'closed_last_hour')""").fetchall()
    expected = db.execute("SELECT workflow_id, expected_order_status FROM ground_truth WHERE NOT deleted").fetchall()
    assert set(listed) == set(expected)


def _recorded(db, workflow_id: str, by) -> str | None:
    """The status the orders service's worker had last recorded (completed) for the order by `by`."""
    row = db.execute("SELECT arg_max(status, ended_at) FROM ground_truth_worker_attempts WHERE workflow_id = ? AND "
                     "step = ? AND outcome = 'completed' AND ended_at <= ?",
                     [workflow_id, model.RECORD_STATUS, by]).fetchone()
    return row[0]


def test_waiting_for_payment_confirmation_agrees_with_the_workers_ledger(db) -> None:
    orders = _orders(db, "expire")
    assert orders
    for order_id, workflow_id in orders:
        seen = db.execute("SELECT asked_at, observed_at FROM temporal_observations WHERE workflow_id = ? AND "
                          "api = 'query' AND answered AND answer = '\"awaiting_payment\"'", [workflow_id]).fetchall()
        assert seen, f"order {order_id} waited {EXPIRE_AFTER_S}s for payment and was never seen waiting"
        reserved = _attempts(db, workflow_id, model.RESERVE_STOCK)
        released = _attempts(db, workflow_id, model.RELEASE_STOCK)
        for asked, observed in seen:
            # the status the worker had recorded when the query was asked or answered (the workflow reports a status
            # once it is recorded, and keeps it while the expiry's compensation runs, until 'expired' is recorded)
            assert reserved[1][1] <= observed and reserved[1][2] == "completed"
            assert "awaiting_payment" in {_recorded(db, workflow_id, asked - SERVER_LAG),
                                          _recorded(db, workflow_id, observed)}, (order_id, asked, observed)
        # and at least once during the wait itself: before the timer fired and the compensation began
        assert any(observed < released[1][0] for _, observed in seen), (order_id, seen, released)


def test_a_retrying_payment_shows_its_attempt_and_the_previous_failure_as_the_worker_saw_them(db) -> None:
    checked = 0
    for order_id, workflow_id in _orders(db, "retry"):
        attempts = _attempts(db, workflow_id, model.AUTHORIZE_PAYMENT)
        for asked, observed, pending in _pending(db, workflow_id, model.AUTHORIZE_PAYMENT):
            attempt = pending["attempt"]
            if attempt == 1:
                continue
            _, ended, outcome, error = attempts[attempt - 1]
            assert outcome == "failed" and ended <= observed, (order_id, attempt, attempts)
            assert pending["last_failure_message"] == error
            assert pending["last_failure_type"] == "PaymentGatewayTimeout"
            later = attempts.get(attempt)
            assert later is None or later[1] is None or later[1] >= asked - SERVER_LAG  # not yet over when asked
            checked += 1
    assert checked, "no Describe caught a payment between its attempts"


def test_shipping_in_flight_shows_the_attempt_the_worker_was_running(db) -> None:
    checked = 0
    for kind in ("timeout", "heartbeat"):
        for order_id, workflow_id in _orders(db, kind):
            attempts = _attempts(db, workflow_id, model.SHIP_ORDER)
            shown = _pending(db, workflow_id, model.SHIP_ORDER)
            assert shown, order_id
            if kind == "timeout":  # the hung attempt runs 3 s before its start-to-close timeout: always seen
                assert any(p["attempt"] == 1 and p["state"] == "STARTED" for _, _, p in shown), (order_id, shown)
            for asked, observed, pending in shown:
                if pending["attempt"] == 2:  # after the server timed attempt 1 out (its worker may learn it later)
                    assert attempts[1][2] in ("timed_out", "canceled")
                    assert pending["last_failure_type"] == "Timeout"
                if pending["state"] == "STARTED":
                    started, ended, _, _ = attempts[pending["attempt"]]
                    assert started <= observed + SERVER_LAG and (ended is None or ended >= asked - SERVER_LAG), (
                        order_id, pending)
                checked += 1
    assert checked


def test_a_deleted_run_is_unanswered_and_scored_as_deleted(db) -> None:
    (workflow_id,) = db.execute("SELECT workflow_id FROM ground_truth WHERE deleted").fetchone()
    final = db.execute("SELECT api, answered, error FROM temporal_observations WHERE workflow_id = ? "
                       "AND phase = 'final'", [workflow_id]).fetchall()
    assert set(final) == {("describe", False, "not found"), ("query", False, "not found")}
    causes = db.execute("""SELECT DISTINCT cause FROM answerability_units u JOIN ground_truth g ON u.unit = g.order_id
                           WHERE u.source = 'temporal' AND g.deleted AND u.scope = 'all'
                             AND u.question_id = 'order_status'""").fetchall()
    assert causes == [("run_deleted",)]


def test_every_source_is_asked_the_open_state_questions_as_of_the_observed_moments(db) -> None:
    from temporal_lens.analysis import score_answers
    from temporal_lens.analysis.catalogue import question

    questions = [question(q) for q in ("open_status", "open_step", "payment_wait")]
    cells = {c.id: c for c in score_answers(db, questions, store=False)}
    for q in questions:
        for source in ("temporal", "history", "logs"):
            cell = cells[f"{q.id}/{source}"]
            assert not cell.reason.startswith("query failed"), cell
            assert cell.measured, cell
    # a retry caught between attempts: Describe says which attempt comes next and why, as the ledger does
    retrying = db.execute(
        f"""WITH truth AS ({question('open_step').truth_sql().strip().rstrip(';')})
            SELECT count(*) FROM truth t JOIN ground_truth g USING (order_id)
            WHERE g.scenario = 'retry' AND t.step = 'authorize_payment' AND t.attempt > 1""").fetchall()[0][0]
    assert retrying > 0
    assert cells["open_step/temporal"].orders_right > 0
