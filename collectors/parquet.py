"""Export the lens database as Hive-partitioned Parquet, the layout DuckDB, Spark, Trino and ClickHouse read.

Layout: `{out}/table=<table>/<partition>=<value>/.../*.parquet`. Partition columns per table:

| table            | partitioned by                                   |
|------------------|--------------------------------------------------|
| `history_events` | `namespace`, `date` (UTC day of `event_time`)     |
| `workflows`      | `namespace`, `date` (UTC day of `start_time`)     |
| `spans`          | `source`, `date` (UTC day of `start_time`)        |
| `logs`           | `service_name`, `date` (UTC day of `time`)        |
| any other table  | not partitioned (ground truth, app tables: small) |

`date` is an added column; partition values are not repeated inside the files, so read with Hive partitioning
(`read_parquet('…/**/*.parquet', hive_partitioning=true)`, `pyarrow.dataset.dataset(…, partitioning="hive")`).
A missing value lands in DuckDB's `NULL` partition. Exporting again replaces each exported table's folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Partitioning:
    """How one table is laid out: partition columns, and the timestamp column its `date` comes from."""

    columns: tuple[str, ...]
    date_from: str | None = None


PARTITIONING: dict[str, Partitioning] = {
    "history_events": Partitioning(("namespace", "date"), "event_time"),
    "workflows": Partitioning(("namespace", "date"), "start_time"),
    "spans": Partitioning(("source", "date"), "start_time"),
    "logs": Partitioning(("service_name", "date"), "time"),
}


def export_parquet(
    conn: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    tables: list[str] | None = None,
) -> dict[str, int]:
    """Write every (or each named) table with rows as Parquet under `out_dir`; returns rows written per table.

    Raises:
        ValueError: a named table does not exist.
    """
    out_dir = Path(out_dir)
    cursor = conn.cursor()
    try:
        existing = [
            row[0]
            for row in cursor.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        if tables is not None:
            unknown = sorted(set(tables) - set(existing))
            if unknown:
                raise ValueError(f"no such table(s): {', '.join(unknown)}; the database has {', '.join(existing)}")
        written: dict[str, int] = {}
        for table in tables or existing:
            rows = cursor.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            if not rows:
                continue  # an empty table would leave an empty folder no reader can glob
            target = out_dir / f"table={table}"
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            cursor.execute(_copy_statement(table, target))
            written[table] = rows
    finally:
        cursor.close()
    return written


def _copy_statement(table: str, target: Path) -> str:
    # COPY takes neither its query's table nor its target as a bound parameter; the table name comes from the
    # catalog and the path is quoted as a SQL string literal.
    path = str(target).replace("'", "''")
    layout = PARTITIONING.get(table)
    if layout is None:
        return f"COPY \"{table}\" TO '{path}/data.parquet' (FORMAT parquet)"
    date = f', CAST(timezone(\'UTC\', "{layout.date_from}") AS DATE) AS date' if layout.date_from else ""
    partition_by = ", ".join(layout.columns)
    return (
        f'COPY (SELECT *{date} FROM "{table}") TO \'{path}\''
        f" (FORMAT parquet, PARTITION_BY ({partition_by}), FILENAME_PATTERN 'part_{{i}}')"
    )
