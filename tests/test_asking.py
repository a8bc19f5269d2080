"""`ask_question` and `temporal-lens ask`: parameters bound from the ground truth as the scoring binds them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from temporal_lens.analysis import CATALOGUE, SOURCES, ask_question, question
from temporal_lens.collectors import open_database
from temporal_lens.sample_app.scenario import ground_truth_schema

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Three orders started at START: `inside` closed within the hour after, `later` after it, `open` not yet."""
    path = tmp_path / "lens.duckdb"
    conn = open_database(path)
    conn.execute(ground_truth_schema())
    for order_id, close_time, status in (("inside", START + timedelta(minutes=30), "COMPLETED"),
                                         ("later", START + timedelta(hours=2), "FAILED"),
                                         ("open", None, "RUNNING")):
        conn.execute(
            "INSERT INTO ground_truth (order_id, workflow_id, run_id, scenario, expected_status,"
            " expected_order_status, expected_attempts, customer, amount_cents, payment_method, shipping_address,"
            " card_number, compensations, crashed, deleted, codec, started_at)"
            " VALUES (?, ?, 'r', 'happy', 'completed', 'completed', 1, 'c', 100, 'card', 'a', 'n', '', false,"
            " false, false, ?)",
            [order_id, f"order-{order_id}", START],
        )
        conn.execute(
            "INSERT INTO workflows (namespace, workflow_id, run_id, workflow_type, status, start_time, close_time)"
            " VALUES ('default', ?, 'r', 'OrderWorkflow', ?, ?, ?)",
            [f"order-{order_id}", status, START, close_time],
        )
    conn.close()
    return path


def test_a_question_binds_its_period_from_the_ground_truth(db: Path) -> None:
    conn = open_database(db)
    try:
        answer = ask_question(conn, question("closed_in_period"), "history")
    finally:
        conn.close()
    assert answer.cannot is None
    assert answer.rows == [{"order_id": "inside"}]


def test_a_source_without_a_query_says_why_and_asks_nothing(db: Path) -> None:
    q, source = next((q, s) for q in CATALOGUE for s in SOURCES if q.sql(s) is None)
    conn = open_database(db)
    try:
        answer = ask_question(conn, q, source)
        with pytest.raises(ValueError, match="unknown source 'nowhere'"):
            ask_question(conn, q, "nowhere")
    finally:
        conn.close()
    assert answer.rows == []
    assert answer.cannot == q.cannot_reason(source)


def test_the_cli_asks_through_the_same_binding(db: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "ask", "--db", str(db), "closed_in_period", "--source", "history",
         "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    (answer,) = json.loads(completed.stdout)
    assert answer["question_id"] == "closed_in_period" and answer["source"] == "history"
    assert answer["cannot"] is None
    assert answer["rows"] == [{"order_id": "inside"}]
