"""Which orders a scoring looks at: all of them, or all but some (the deleted runs, say), without copying data.

Leaving orders out works by temp views on one cursor that shadow the tables a question's SQL names: DuckDB resolves
an unqualified name in the temp schema before the main one, so the catalogue's SQL runs unchanged over fewer orders.
The views read the main tables by their qualified names, so a view never reads itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from temporal_lens.analysis.causes import RUN_DELETED, orders_condition

ALL, RETAINED = "all", "retained"
SCOPES = (ALL, RETAINED)
SCOPE_TITLES = {ALL: "every order", RETAINED: "without the deleted runs (what an operator sees inside retention)"}

SOURCE_TABLES = {"history_events": "workflow_id", "workflows": "workflow_id", "spans": "workflow_id",
                 "logs": "workflow_id", "app_orders": "order_id", "app_order_status_changes": "order_id",
                 "temporal_observations": "workflow_id"}
"""Source tables and the column naming whose record a row is; rows naming none (service start-up) stay."""


@dataclass(frozen=True)
class Database:
    """What the cursor's database holds: its main schema's quoted name, and each table's column names."""

    main: str
    columns: dict[str, set[str]]

    @property
    def ground_truth(self) -> dict[str, set[str]]:
        return {t: c for t, c in self.columns.items() if t.startswith("ground_truth")}


def inspect(cursor: duckdb.DuckDBPyConnection) -> Database:
    catalog = cursor.execute("SELECT current_database()").fetchall()[0][0]
    rows = cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return Database('"' + catalog.replace('"', '""') + '".main', columns)


def retained_condition(db: Database) -> str | None:
    """The orders the retained scope leaves out (deleted runs), or None where the ground truth records none.

    A run whose deletion was still pending when the sources were read is retained: the server still held it, so an
    operator inside retention would still see it (RUN_DELETED never names it)."""
    return orders_condition(RUN_DELETED, db.main, db.ground_truth)


def leave_out(cursor: duckdb.DuckDBPyConnection, db: Database, condition: str, *, sources: bool) -> None:
    """Shadow every ground truth table (and, with `sources`, every source table) by a view without the orders
    `condition` (over the main ground_truth table) names."""
    excluded = f"SELECT order_id FROM {db.main}.ground_truth WHERE {condition}"
    for table, columns in db.ground_truth.items():
        if "order_id" in columns:
            cursor.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {db.main}.{table} "
                           f"WHERE order_id NOT IN ({excluded})")
    if not sources:
        return
    # An order's records are its workflow's and its child workflows' (the invoice), as the server relates them.
    workflows = f"SELECT workflow_id FROM {db.main}.ground_truth WHERE {condition}"
    if "parent_workflow_id" in db.columns.get("workflows", set()):
        workflows += (f" UNION SELECT workflow_id FROM {db.main}.workflows WHERE parent_workflow_id IN "
                      f"(SELECT workflow_id FROM {db.main}.ground_truth WHERE {condition})")
    for table, column in SOURCE_TABLES.items():
        if column not in db.columns.get(table, set()):
            continue
        ids = excluded if column == "order_id" else workflows
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {db.main}.{table} "
                       f"WHERE {column} IS NULL OR {column} NOT IN ({ids})")


def restore(cursor: duckdb.DuckDBPyConnection, db: Database) -> None:
    """Drop every shadowing view: unqualified names read the main tables again."""
    for table in [*db.ground_truth, *SOURCE_TABLES]:
        cursor.execute(f"DROP VIEW IF EXISTS temp.main.{table}")
