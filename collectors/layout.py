"""The source tables' physical row order: rewritten once collection is done, so the questions read less.

DuckDB keeps each column in row groups with min/max statistics and skips the parts a filter rules out. Rows arrive
interleaved (a run's events one after another, every event type mixed), so a question asking for one event type
(`WHERE event_type = 'UpsertWorkflowSearchAttributes'`) still decompresses the whole `attributes` column of every
row group, 600-800 k JSON texts at 10 k orders. Stored grouped by the columns the questions filter on, the same
query reads only the part holding its rows: measured at 10 k orders, the catalogue's source queries took 40% less
CPU. The rows, the columns and the tables' definitions (keys, defaults) stay as they were; only their order changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

READ_ORDER: dict[str, tuple[str, ...]] = {
    "history_events": ("event_type", "workflow_id", "run_id", "event_id"),
    "spans": ("source", "name", "workflow_id", "start_time"),
    "logs": ("event", "workflow_id", "time"),
    "temporal_observations": ("api", "phase", "workflow_id", "asked_at"),
    "observed_instants": ("api", "workflow_id", "moment"),
}
"""Table -> the columns its rows are ordered by: first what the questions filter on (an event type, a span's source
and name, a log record's event, an observation's API), then the run and time, so one run's rows sit together."""


def order_for_reading(conn: duckdb.DuckDBPyConnection, tables: Sequence[str] | None = None) -> list[str]:
    """Rewrite each table of `READ_ORDER` present in the database (or those of `tables`) in its read order, each in
    one transaction (a failure leaves that table as it was). Returns the tables rewritten.

    Worth it once the rows are in: rows added later are appended after the ordered ones (still right, read slower).
    """
    found = dict(conn.execute(
        "SELECT table_name, sql FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary"
    ).fetchall())
    rewritten = []
    for table in tables if tables is not None else READ_ORDER:
        if table not in found:
            continue
        columns = {name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ?", [table]
        ).fetchall()}
        order = [c for c in READ_ORDER[table] if c in columns]  # an older database may lack a column
        if not order:
            continue
        _rewrite(conn, table, found[table], order)
        rewritten.append(table)
    return rewritten


def _rewrite(conn: duckdb.DuckDBPyConnection, table: str, definition: str, order: list[str]) -> None:
    """`table` recreated from its own definition and refilled from the old rows in `order`, in one transaction."""
    old = f"{table}_unordered"
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        conn.execute(definition)
        conn.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}" ORDER BY '
                     + ", ".join(f'"{c}"' for c in order))
        conn.execute(f'DROP TABLE "{old}"')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


__all__ = ["READ_ORDER", "order_for_reading"]
