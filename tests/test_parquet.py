"""Parquet export: Hive layout per table, read back by DuckDB and by pyarrow with the same rows and columns."""

from __future__ import annotations

import duckdb
import pyarrow.dataset as ds
import pytest

from temporal_lens.collectors import PARTITIONING, export_parquet, open_database


@pytest.fixture
def lens(tmp_path) -> duckdb.DuckDBPyConnection:
    conn = open_database(tmp_path / "lens.duckdb")
    conn.execute(
        """INSERT INTO history_events (namespace, workflow_id, run_id, event_id, event_time, event_type, attributes)
           VALUES ('default', 'w1', 'r1', 1, '2026-11-26 23:59:59+00', 'WorkflowExecutionStarted', '{"a": 1}'),
                  ('default', 'w1', 'r1', 2, '2026-11-27 00:00:01+00', 'WorkflowTaskScheduled', '{}'),
                  ('billing', 'w2', 'r2', 1, '2026-11-27 08:00:00+00', 'WorkflowExecutionStarted', NULL)"""
    )
    conn.execute(
        """INSERT INTO workflows (namespace, workflow_id, run_id, workflow_type, start_time)
           VALUES ('default', 'w1', 'r1', 'Order', '2026-11-26 23:59:59+00')"""
    )
    conn.execute(
        """INSERT INTO spans (trace_id, span_id, name, start_time, end_time, source, attributes)
           VALUES ('t1', 's1', 'RunWorkflow:Order', '2026-11-27 08:00:00+00', '2026-11-27 08:00:01+00', 'otlp', '{}'),
                  ('t1', 's2', 'RunWorkflow:Order', '2026-11-27 08:00:00+00', NULL, 'history', '{}')"""
    )
    conn.execute(
        """INSERT INTO logs (time, level, event, service_name, source_file, line_no)
           VALUES ('2026-11-27 08:00:00+00', 'info', 'charged', 'payments', 'p.jsonl', 1),
                  ('2026-11-27 08:00:00+00', 'info', 'orphan', NULL, 'x.jsonl', 1)"""
    )
    conn.execute("CREATE TABLE ground_truth AS SELECT 'w1' AS workflow_id, 2 AS attempts")
    return conn


def test_export_layout_and_read_back(lens, tmp_path) -> None:
    out = tmp_path / "parquet"

    written = export_parquet(lens, out)
    export_parquet(lens, out)  # again: replaces, never duplicates

    assert written == {"ground_truth": 1, "history_events": 3, "logs": 2, "spans": 2, "workflows": 1}
    folders = {str(p.relative_to(out).parent) for p in out.rglob("*.parquet")}
    assert "table=history_events/namespace=default/date=2026-11-26" in folders
    assert "table=history_events/namespace=billing/date=2026-11-27" in folders
    assert "table=spans/source=history/date=2026-11-27" in folders
    assert "table=logs/service_name=payments/date=2026-11-27" in folders
    assert "table=ground_truth" in folders

    reader = duckdb.connect()
    for table, rows in written.items():
        columns = [row[0] for row in lens.execute(f"DESCRIBE {table}").fetchall()]
        expected = set(columns) | ({"date"} if PARTITIONING.get(table) else set())
        glob = str(out / f"table={table}" / "**" / "*.parquet")
        relation = reader.execute(f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true)")
        names = {c[0] for c in relation.description} - {"table"}
        assert (len(relation.fetchall()), names) == (rows, expected), table

        dataset = ds.dataset(out / f"table={table}", format="parquet", partitioning="hive")
        arrow = dataset.to_table()
        assert (arrow.num_rows, set(arrow.column_names)) == (rows, expected), table

    logs = reader.execute(
        f"SELECT event, service_name FROM read_parquet('{out}/table=logs/**/*.parquet', hive_partitioning=true)"
        " ORDER BY event"
    ).fetchall()
    assert logs == [("charged", "payments"), ("orphan", None)]


def test_unknown_table_is_refused(lens, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"no such table.*orders"):
        export_parquet(lens, tmp_path / "out", tables=["orders"])
