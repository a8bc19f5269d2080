"""The driver's parts that need no server: its call timer, its backoff, and how deletion facts select orders."""

from __future__ import annotations

import asyncio
import json

import duckdb

from temporal_lens.analysis.causes import DELETION_PENDING, RUN_DELETED, orders_condition
from temporal_lens.analysis.scopes import inspect, retained_condition
from temporal_lens.sample_app.call_timer import CallTimer, TimedCall
from temporal_lens.sample_app.driver import scenario_timeout
from temporal_lens.sample_app.scenario import ground_truth_schema
from temporal_lens.sample_app.waiting import Backoff


def test_the_timer_keeps_waits_apart_and_names_the_slowest_call(tmp_path) -> None:
    calls = CallTimer()
    calls.calls += [TimedCall("query", "o1", 0.1), TimedCall("describe", "o2", 0.5)]
    calls.waits += [TimedCall("result", "o3", 9.0)]
    assert calls.slowest(1)[0] == TimedCall("describe", "o2", 0.5)  # waiting for a result is not a slow call
    assert calls.quantile(0.99) == 0.5 and calls.quantile(0.5) == 0.1
    assert calls.summary() == "driver calls: 2, slowest describe o2 0.500 s, p99 0.500 s"
    calls.write(tmp_path / "calls.json")
    written = json.loads((tmp_path / "calls.json").read_text())
    assert written["slowest"][0] == {"name": "describe", "order": "o2", "seconds": 0.5}
    assert written["by_name"]["query"]["count"] == 1


def test_timed_records_a_call_that_raised() -> None:
    calls = CallTimer()
    try:
        with calls.timed("delete", "o1"):
            raise RuntimeError("server said no")
    except RuntimeError:
        pass
    assert [(c.name, c.order) for c in calls.calls] == [("delete", "o1")]
    assert CallTimer().summary() == "driver made no calls"


def test_backoff_asks_until_ready_and_at_least_once() -> None:
    asked: list[int] = []

    async def ready_third_time() -> bool:
        asked.append(1)
        return len(asked) >= 3

    fast = Backoff(first=0.001, factor=2.0, most=0.002)
    assert asyncio.run(fast.until(ready_third_time, timeout=30.0)) is True
    assert len(asked) == 3

    never: list[int] = []

    async def not_ready() -> bool:
        never.append(1)
        return False

    assert asyncio.run(fast.until(not_ready, timeout=0.0)) is False
    assert never == [1]


def test_the_scenario_timeout_grows_with_the_waves_of_orders() -> None:
    assert scenario_timeout(21, 16) < scenario_timeout(200, 16) < scenario_timeout(1000, 16)
    assert scenario_timeout(1000, 16) > scenario_timeout(1000, 64)
    assert scenario_timeout(21, 16) >= 150.0  # never below the flat bound the demo had


def _truth(deletions: list[tuple[str, bool, str | None]], *, with_deletion: bool = True) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute(ground_truth_schema())
    if not with_deletion:
        conn.execute("ALTER TABLE ground_truth DROP COLUMN deletion")
    for order_id, deleted, deletion in deletions:
        extra = ", deletion" if with_deletion else ""
        values = [order_id, f"order-{order_id}", deleted, *([deletion] if with_deletion else [])]
        conn.execute(
            "INSERT INTO ground_truth (order_id, workflow_id, scenario, expected_status, expected_order_status, "
            "expected_attempts, customer, amount_cents, payment_method, shipping_address, card_number, "
            f"compensations, crashed, deleted, codec, started_at{extra}) VALUES (?, ?, 'deleted', 'completed', "
            "'completed', 1, 'c', 100, 'card', 'a', 'n', '', false, ?, false, now()"
            + (", ?" if with_deletion else "") + ")", values)
    return conn


def _selected(conn: duckdb.DuckDBPyConnection, condition: str | None) -> set[str]:
    assert condition is not None
    return {r[0] for r in conn.execute(f"SELECT order_id FROM ground_truth WHERE {condition}").fetchall()}


def test_a_pending_deletion_is_neither_a_deleted_run_nor_left_out_of_the_retained_scope() -> None:
    conn = _truth([("gone", True, "gone"), ("pending", True, "pending"), ("kept", False, None)])
    db = inspect(conn.cursor())
    assert _selected(conn, orders_condition(RUN_DELETED, db.main, db.ground_truth)) == {"gone"}
    assert _selected(conn, orders_condition(DELETION_PENDING, db.main, db.ground_truth)) == {"pending"}
    assert _selected(conn, retained_condition(db)) == {"gone"}


def test_a_database_from_before_the_deletion_column_still_names_its_deleted_runs() -> None:
    conn = _truth([("gone", True, None), ("kept", False, None)], with_deletion=False)
    db = inspect(conn.cursor())
    assert _selected(conn, orders_condition(RUN_DELETED, db.main, db.ground_truth)) == {"gone"}
    assert orders_condition(DELETION_PENDING, db.main, db.ground_truth) is None


def test_waiting_for_a_result_is_timed_apart() -> None:
    calls = CallTimer()
    with calls.timed("result", "o1"):
        pass
    with calls.timed("signal", "o1"):
        pass
    assert [c.name for c in calls.waits] == ["result"] and [c.name for c in calls.calls] == ["signal"]
