"""An application's own SQLite table copied into the lens database (the "keep a database" source)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from temporal_lens.collectors.db import BatchWriter

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AppTableError(ValueError):
    """The file is not a SQLite database, the table is not in it, or the target name is not an identifier."""


def load_sqlite_table(
    writer_or_conn: BatchWriter | duckdb.DuckDBPyConnection,
    sqlite_path: str | Path,
    table: str,
    *,
    into: str,
) -> int:
    """Copy SQLite table `table` into DuckDB as `CREATE OR REPLACE TABLE into`; returns the row count.

    Column names and order are kept; types follow the declared SQLite type (INTEGER -> BIGINT, REAL -> DOUBLE,
    TEXT -> VARCHAR, BLOB -> BLOB, BOOLEAN -> BOOLEAN, DATE -> DATE, DATETIME/TIMESTAMP -> TIMESTAMPTZ with naive
    values taken as UTC). SQLite lets any value into any column: a column whose values do not fit its declared
    type is copied as VARCHAR rather than failing.

    Raises:
        FileNotFoundError: `sqlite_path` does not exist (it is opened read-only, never created).
        AppTableError: not a SQLite file, no such table, or `into` is not a plain identifier.
    """
    if not _IDENTIFIER.fullmatch(into):
        raise AppTableError(f"not a table name: {into!r}")
    path = Path(sqlite_path)
    if not path.is_file():
        raise FileNotFoundError(f"SQLite file not found: {path}")
    # Read-only URI mode: connecting never creates an empty database where the file was expected.
    with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as source:
        try:
            listed = source.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            tables = [row[0] for row in listed]
        except sqlite3.DatabaseError as err:
            raise AppTableError(f"{path} is not a SQLite database ({err})") from err
        if table not in tables:
            raise AppTableError(f"{path} has no table {table!r} (tables: {', '.join(sorted(tables)) or 'none'})")
        quoted = '"' + table.replace('"', '""') + '"'
        declared = [(row[1], row[2]) for row in source.execute(f"PRAGMA table_info({quoted})")]
        rows = source.execute(f"SELECT * FROM {quoted}").fetchall()
    arrays = [_column_array([row[i] for row in rows], declared_type) for i, (_, declared_type) in enumerate(declared)]
    copied = pa.Table.from_arrays(arrays, names=[name for name, _ in declared])

    conn = writer_or_conn.connection if isinstance(writer_or_conn, BatchWriter) else writer_or_conn
    cursor = conn.cursor()
    try:
        cursor.register("_lens_sqlite", copied)
        cursor.execute(f"CREATE OR REPLACE TABLE {into} AS SELECT * FROM _lens_sqlite")
        cursor.unregister("_lens_sqlite")
    finally:
        cursor.close()
    return copied.num_rows


def _column_array(values: list[Any], declared_type: str) -> pa.Array:
    arrow_type, convert = _arrow_type(declared_type)
    try:
        return pa.array([None if value is None else convert(value) for value in values], type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([None if value is None else _as_text(value) for value in values], type=pa.string())


def _arrow_type(declared_type: str) -> tuple[pa.DataType | None, Callable[[Any], Any]]:
    """SQLite's affinity rules (sqlite.org/datatype3.html), plus the date and boolean names apps declare."""
    name = declared_type.upper()
    if not name:  # no declared type: no affinity, let Arrow infer from the values
        return None, _unchanged
    if "INT" in name:
        return pa.int64(), _strict_int
    if any(text in name for text in ("CHAR", "CLOB", "TEXT")):
        return pa.string(), _strict_text
    if "BLOB" in name:
        return pa.binary(), _strict_bytes
    if any(real in name for real in ("REAL", "FLOA", "DOUB")):
        return pa.float64(), float
    if "BOOL" in name:
        return pa.bool_(), _to_bool
    if "TIMESTAMP" in name or "DATETIME" in name:
        return pa.timestamp("us", tz="UTC"), _to_datetime
    if name == "DATE":
        return pa.date32(), _to_date
    return pa.float64(), float  # NUMERIC / DECIMAL affinity


def _unchanged(value: Any) -> Any:
    return value


def _strict_int(value: Any) -> int:
    if not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _strict_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not text: {value!r}")
    return value


def _strict_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"not a blob: {value!r}")
    return value


def _as_text(value: Any) -> str:
    return value.hex() if isinstance(value, bytes) else str(value)


def _to_bool(value: Any) -> bool:
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"not a boolean: {value!r}")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _to_date(value: Any) -> date:
    return date.fromisoformat(value)
