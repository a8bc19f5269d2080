"""What every command shares: the consoles, the `--db` option, the database's open and close, exit codes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    import duckdb

    from temporal_lens.interrupts import StopRequest

BAD_INPUT, FAILURE = 2, 1
"""Exit codes besides 0: bad usage or input (the user can fix the command), and failure (something else broke)."""

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[Path, typer.Option("--db", help="the lens DuckDB file")]

Failures = Mapping[type[BaseException], int]
"""Exception types a command turns into a one-line error, each with its exit code (the first match wins)."""


def _fail(message: str, code: int) -> typer.Exit:
    from rich.markup import escape

    # escaped: a message quoting a file or a library's error can hold brackets rich would take for markup
    err_console.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(code)


@contextmanager
def _exits(failures: Failures, *, context: str = "") -> Iterator[None]:
    """Exceptions of a `failures` type become `error: <context><message>` and their exit code; others pass on."""
    try:
        yield
    except typer.Exit:
        raise  # click's Exit is a RuntimeError: it must not be taken for one a command maps
    except tuple(failures) as err:
        code = next(code for kind, code in failures.items() if isinstance(err, kind))
        raise _fail(f"{context}{str(err) or type(err).__name__}", code) from err


@contextmanager
def _database(
    db: Path, *, must_exist: bool = False, failures: Failures | None = None, context: str = ""
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lens database, closed on the way out; failures inside map to exit codes as `_exits` maps them.

    Commands that only read it pass `must_exist`: they refuse to create an empty database at a mistyped path. A file
    that is not a DuckDB database, or one DuckDB cannot read in full, is bad input (exit 2) for every command.
    """
    if must_exist and not db.is_file():
        raise _fail(f"no lens database at {db} (run `temporal-lens study` or a collector first)", BAD_INPUT)
    # imported here, as every part a command needs: `--help` and bad usage stay free of duckdb and pyarrow
    from temporal_lens.collectors import DatabaseFileError, DatabaseInUseError, DatabasePlaceError, open_database

    try:
        conn = open_database(db)
    except (DatabaseInUseError, DatabaseFileError, DatabasePlaceError) as err:
        raise _fail(str(err), BAD_INPUT) from err
    try:
        with _exits(failures or {}, context=context):
            yield conn
    finally:
        conn.close()


def _address(text: str, option: str) -> tuple[str, int]:
    """`text` as (host, port), or exit with bad input naming `option`."""
    from temporal_lens.collectors import parse_host_port

    try:
        return parse_host_port(text, option=option)
    except ValueError as err:
        raise _fail(str(err), BAD_INPUT) from err


def _check_paths_exist(paths: list[Path], *, files_only: bool = False) -> None:
    missing = [str(p) for p in paths if not (p.is_file() if files_only else p.exists())]
    if missing:
        raise _fail(f"no such {'file' if files_only else 'file or folder'}: {', '.join(missing)}", BAD_INPUT)


@contextmanager
def _stopped_cleanly(what: str, stopped: str) -> Iterator[StopRequest]:
    """Within: the first SIGTERM or SIGINT unwinds everything entered inside (children stopped, receivers drained,
    the database closed), or ends `StopRequest.wait()`. On the way out a signal means exit code 128 + its number
    (130, 143) and one line: `<what> stopped by SIGTERM; <stopped>`.
    """
    from temporal_lens.interrupts import stop_on_signals

    with stop_on_signals() as stop:
        try:
            yield stop
        except (Exception, KeyboardInterrupt):  # typer.Exit too: a wait a signal cut short may fail on its own
            if stop.signum is None:
                raise
        if stop.signum is not None:
            err_console.print(f"{what} stopped by {stop.name}; {stopped}", highlight=False, markup=False)
            raise typer.Exit(stop.exit_code)
