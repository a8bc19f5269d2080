from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime

import pytest

from temporal_lens.collectors import AppTableError, BatchWriter, load_sqlite_table, open_database


@pytest.fixture
def orders_db(tmp_path):
    path = tmp_path / "orders.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL, paid BOOLEAN,"
            " created_at DATETIME, note)"
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
            [
                (1, "ann", 12.5, 1, "2026-11-27 19:00:00", "gift"),
                (2, "bob", None, 0, "2026-11-27T20:30:00+01:00", 42),
            ],
        )
        conn.commit()
    return path


def test_table_is_copied_with_types(tmp_path, orders_db) -> None:
    conn = open_database(tmp_path / "lens.duckdb")

    assert load_sqlite_table(BatchWriter(conn), orders_db, "orders", into="app_orders") == 2
    assert load_sqlite_table(conn, orders_db, "orders", into="app_orders") == 2  # replaced, not appended

    types = {name: kind for name, kind, *_ in conn.execute("DESCRIBE app_orders").fetchall()}
    assert types == {
        "id": "BIGINT",
        "customer": "VARCHAR",
        "amount": "DOUBLE",
        "paid": "BOOLEAN",
        "created_at": "TIMESTAMP WITH TIME ZONE",
        "note": "VARCHAR",  # undeclared column with mixed values
    }
    rows = conn.execute("SELECT * FROM app_orders ORDER BY id").fetchall()
    assert rows == [
        (1, "ann", 12.5, True, datetime(2026, 11, 27, 19, 0, tzinfo=UTC), "gift"),
        (2, "bob", None, False, datetime(2026, 11, 27, 19, 30, tzinfo=UTC), "42"),
    ]


def test_missing_file_table_or_bad_name_is_a_clear_error(tmp_path, orders_db) -> None:
    conn = open_database(tmp_path / "lens.duckdb")

    with pytest.raises(FileNotFoundError, match=r"SQLite file not found: .*nope\.sqlite"):
        load_sqlite_table(conn, tmp_path / "nope.sqlite", "orders", into="app_orders")
    assert not (tmp_path / "nope.sqlite").exists()
    with pytest.raises(AppTableError, match=r"has no table 'customers' \(tables: orders\)"):
        load_sqlite_table(conn, orders_db, "customers", into="app_orders")
    with pytest.raises(AppTableError, match="not a table name"):
        load_sqlite_table(conn, orders_db, "orders", into="app_orders; DROP TABLE logs")
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("just text, definitely not a database file " * 10)
    with pytest.raises(AppTableError, match="is not a SQLite database"):
        load_sqlite_table(conn, not_sqlite, "orders", into="app_orders")
