"""Opening the lens database and writing batches into it."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb
import pyarrow as pa

from temporal_lens.collectors.tables import ADDED_COLUMNS


class DatabaseInUseError(RuntimeError):
    """Another process holds the DuckDB file open for writing."""


def _schema_sql() -> str:
    return files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def open_database(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a lens database with the collectors' tables in place.

    Raises:
        DatabaseInUseError: another process has the file open for writing (DuckDB allows one writer).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(str(path))
    except duckdb.IOException as err:
        message = str(err)
        if "lock" not in message.lower():
            raise
        raise DatabaseInUseError(
            f"database {path} is in use by {_lock_holder(message)}; stop that process or use another --db"
        ) from err
    conn.execute(_schema_sql())
    # A database created before a column was added gets it here, so every writer can rely on the current shape.
    present = set(conn.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall())
    for table, column, definition, fill in ADDED_COLUMNS:
        if (table, column) in present:
            continue
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        if fill is not None:
            conn.execute(f"UPDATE {table} SET {column} = {fill}")
    return conn


def _lock_holder(message: str) -> str:
    """Who holds the lock, as far as DuckDB's message (PID) and /proc (command line) tell."""
    found = re.search(r"\(PID (\d+)\)", message)
    if not found:
        return "another process"
    pid = found.group(1)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # not Linux, or the process just exited
        return f"PID {pid}"
    command = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return f"PID {pid} ({command})" if command else f"PID {pid}"


class BatchWriter:
    """Writes Arrow batches into one connection from any thread, one transaction per batch.

    A batch lands whole or not at all; rows whose primary key is already present are skipped, so re-sending a
    batch (an exporter's retry, a collector run twice) never duplicates. A table without a primary key
    (`history_events`) relies on `replace_where` instead: the writer replaces whole units it holds once each.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._conn

    def insert(
        self, table: str, batch: pa.Table, *, replace_where: tuple[str, list] | None = None, keyed: bool = True
    ) -> int:
        """Insert `batch` into `table`; returns the number of rows newly stored.

        Args:
            replace_where: optional `(sql_condition, params)`; matching rows are deleted in the same transaction
                first, so a re-collected unit (one workflow run, one log file) replaces its earlier copy.
            keyed: the table has a primary key, and rows already present are skipped; False for a table without.
        """
        return self.insert_together([Part(table, batch, replace_where, keyed)])[0]

    def insert_together(self, parts: Sequence[Part]) -> list[int]:
        """Insert several batches (into one table or several, in order) in one transaction: all land or none.
        Returns the rows newly stored per part."""
        for part in parts:
            if not _IDENTIFIER.fullmatch(part.table):
                raise ValueError(f"not a table name: {part.table!r}")
        stored = []
        with self._lock:
            cursor = self._conn.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                for part in parts:
                    stored.append(self._insert(cursor, part))
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        return stored

    @staticmethod
    def _insert(cursor: duckdb.DuckDBPyConnection, part: Part) -> int:
        if part.replace_where is not None:
            condition, params = part.replace_where
            cursor.execute(f"DELETE FROM {part.table} WHERE {condition}", params)
        before = cursor.execute(f"SELECT count(*) FROM {part.table}").fetchall()[0][0]
        if part.batch.num_rows:
            cursor.register("_lens_batch", part.batch)
            verb = "INSERT OR IGNORE" if part.keyed else "INSERT"
            cursor.execute(f"{verb} INTO {part.table} BY NAME SELECT * FROM _lens_batch")
            cursor.unregister("_lens_batch")
        return cursor.execute(f"SELECT count(*) FROM {part.table}").fetchall()[0][0] - before


@dataclass(frozen=True)
class Part:
    """One batch for `BatchWriter.insert_together`; fields as `BatchWriter.insert` takes them."""

    table: str
    batch: pa.Table
    replace_where: tuple[str, list] | None = None
    keyed: bool = True


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
