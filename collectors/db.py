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


class DatabaseFileError(RuntimeError):
    """The file is not a DuckDB database, or DuckDB cannot read all of it (truncated, corrupt)."""


class DatabasePlaceError(OSError):
    """The database cannot be created or written where it was asked for (a read-only folder, a file as folder)."""


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(magic)) == magic
    except OSError:
        return False


def _schema_sql() -> str:
    return files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def open_database(path: str | Path, *, verify: bool | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a lens database with the collectors' tables in place.

    Args:
        verify: read every row of every table first (`verify_database`); None: when the file already existed, so
            a truncated or corrupt file is reported before anything is read from or written into it.

    Raises:
        DatabaseInUseError: another process has the file open for writing (DuckDB allows one writer).
        DatabaseFileError: the file is not a DuckDB database, or part of it cannot be read.
        DatabasePlaceError: the file or its folder cannot be created or written.
    """
    path = Path(path)
    existed = path.is_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatabasePlaceError(
            f"cannot create the folder for {path} ({err.strerror or err}); choose a --db in a folder you can write"
        ) from err
    if existed and _starts_with(path, _SQLITE_MAGIC):
        # DuckDB would fetch its SQLite extension from the network to attach it: say what the file is instead
        raise DatabaseFileError(f"{path} is a SQLite database, not a lens (DuckDB) database; check the --db path")
    try:
        conn = duckdb.connect(str(path))
    except duckdb.Error as err:
        raise _open_error(path, err) from err
    try:
        if verify or (verify is None and existed):
            verify_database(conn, path)  # before the schema is touched: nothing is written into a damaged file
        conn.execute(_schema_sql())
        # A database created before a column was added gets it here, so every writer can rely on the current shape.
        present = set(conn.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall())
        for table, column, definition, fill in ADDED_COLUMNS:
            if (table, column) in present:
                continue
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            if fill is not None:  # filled from what the rows already hold
                conn.execute(f"UPDATE {table} SET {column} = {fill}")
    except duckdb.Error as err:
        conn.close()
        raise _open_error(path, err) from err
    except BaseException:
        conn.close()
        raise
    return conn


def verify_database(conn: duckdb.DuckDBPyConnection, path: str | Path = "the database") -> None:
    """Read every column of every row of every table, so a block DuckDB cannot read fails here, not later.

    DuckDB checks a block's checksum only when it reads the block, and the analysis turns a failed query into an
    answer that "cannot" be given: without this a damaged file would be reported on as if it were merely empty.

    Raises:
        DatabaseFileError: naming the table that cannot be read and DuckDB's reason.
    """
    tables = conn.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT internal ORDER BY table_name"
    ).fetchall()
    for schema, table in tables:
        try:
            conn.execute(f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{schema}"."{table}"').fetchall()
        except duckdb.Error as err:
            raise DatabaseFileError(
                f"{path} cannot be read in full (table {table}: {_first_line(err)}); it is damaged or truncated: "
                "restore it, or collect into a new --db"
            ) from err


def _open_error(path: Path, err: duckdb.Error) -> Exception:
    message = _first_line(err)
    lowered = message.lower()
    if "lock" in lowered and isinstance(err, duckdb.IOException):
        return DatabaseInUseError(
            f"database {path} is in use by {_lock_holder(str(err))}; stop that process or use another --db"
        )
    if "permission denied" in lowered or "read-only file system" in lowered or "cannot open file" in lowered:
        return DatabasePlaceError(f"cannot open or create {path} for writing ({message}); choose a --db in a "
                                     "folder you can write")
    return DatabaseFileError(f"{path} is not a readable lens database ({message}); check the --db path")


def _first_line(err: BaseException) -> str:
    """DuckDB's message without the hints and stack it sometimes appends on further lines."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


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
