from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from temporal_lens.collectors import READ_ORDER, SPANS, BatchWriter, open_database, order_for_reading

_T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _interleaved_spans(runs: int) -> list[dict]:
    """Spans as they arrive: each run's workflow and activity spans one after another, names interleaved."""
    rows = []
    for run in range(runs):
        for step, name in enumerate(("RunWorkflow:Order", "RunActivity:charge", "StartActivity:charge")):
            rows.append({"trace_id": f"t{run}", "span_id": f"s{run}-{step}", "name": name, "service_name": "orders",
                         "start_time": _T0 + timedelta(seconds=run, milliseconds=step),
                         "workflow_id": f"order-{run:03d}", "attributes": "{}", "events": "[]", "resource": "{}",
                         "source": "history" if run % 2 else "otlp", "links": "[]"})
    return rows


def _definition(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    return conn.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]


def test_rows_and_definition_stay_only_the_order_changes(tmp_path) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    BatchWriter(conn).insert("spans", SPANS.from_rows(_interleaved_spans(40)))
    before = sorted(conn.execute("SELECT * FROM spans").fetchall())
    definition = _definition(conn, "spans")

    assert order_for_reading(conn) == ["history_events", "spans", "logs"]  # the tables this database has

    assert sorted(conn.execute("SELECT * FROM spans").fetchall()) == before
    assert _definition(conn, "spans") == definition
    stored = [row[:2] for row in conn.execute("SELECT source, name FROM spans").fetchall()]  # physical order
    assert stored == sorted(stored)
    assert stored[0] == ("history", "RunActivity:charge") and stored[-1] == ("otlp", "StartActivity:charge")
    with pytest.raises(duckdb.ConstraintException):  # the primary key came along with the definition
        conn.execute("INSERT INTO spans (trace_id, span_id, name) VALUES ('t0', 's0-0', 'again')")
    assert set(READ_ORDER["spans"]) <= {name for name, *_ in conn.execute("DESCRIBE spans").fetchall()}


def test_a_failed_rewrite_leaves_the_table_as_it_was(tmp_path) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    BatchWriter(conn).insert("spans", SPANS.from_rows(_interleaved_spans(5)))
    before = conn.execute("SELECT * FROM spans").fetchall()
    conn.execute("CREATE TABLE spans_unordered (x INTEGER)")  # the name the rewrite needs is taken

    with pytest.raises(duckdb.Error):
        order_for_reading(conn, ["spans"])

    assert conn.execute("SELECT * FROM spans").fetchall() == before
    assert conn.execute("SELECT count(*) FROM spans_unordered").fetchall() == [(0,)]
