"""The `temporal-lens` command line. Exit codes: 0 success, 2 bad usage or bad input, 1 failure."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from temporal_lens.analysis import CATALOGUE, SOURCES, render_matrix, run_sql, score_answers
from temporal_lens.analysis import question as find_question
from temporal_lens.collectors import BatchWriter, DatabaseInUseError, open_database
from temporal_lens.sample_app.scenario import SCENARIOS

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
collect_app = typer.Typer(no_args_is_help=True, help="Bring a source into the lens database.")
app.add_typer(collect_app, name="collect")
console = Console(soft_wrap=True)
err_console = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", help="the lens DuckDB file")]


class BadInput(Exception):
    """Input the user gave is wrong: exit code 2."""


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def _open(db: Path):
    try:
        return open_database(db)
    except DatabaseInUseError as err:
        raise _fail(str(err), 2) from err


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


@app.command()
def study(
    orders: Annotated[int, typer.Option(min=1, help="how many orders to drive")] = 12,
    seed: Annotated[int, typer.Option(help="seed for the scenario mix and injected faults")] = 7,
    scenarios: Annotated[str, typer.Option(help=f"comma-separated kinds among {', '.join(SCENARIOS)}")] = ",".join(
        SCENARIOS
    ),
    runs_dir: Annotated[Path, typer.Option(help="where run folders are created")] = Path("runs"),
    headless: Annotated[bool, typer.Option(help="start the dev server without its Web UI")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for all orders to close")] = 150.0,
) -> None:
    """Run the whole study on this machine and print the answerability matrix."""
    from temporal_lens.services import ServiceError
    from temporal_lens.stack import StackError
    from temporal_lens.study import StudyOptions, run_study

    kinds = tuple(k.strip() for k in scenarios.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(SCENARIOS))
    if unknown or not kinds:
        raise _fail(f"unknown scenario kind(s) {unknown}; choose among {', '.join(SCENARIOS)}", 2)
    options = StudyOptions(orders=orders, seed=seed, scenarios=kinds, runs_dir=runs_dir, headless=headless,
                           timeout=timeout)
    try:
        run_study(options, console)
    except (StackError, ServiceError, TimeoutError) as err:
        raise _fail(str(err) or type(err).__name__, 1) from err
    except KeyboardInterrupt:
        raise _fail("interrupted; every process the study started has been stopped", 130) from None


@app.command()
def dev(
    workdir: Annotated[Path, typer.Option(help="folder for the server's SQLite file and log")] = Path("runs/dev"),
    port: Annotated[int | None, typer.Option(help="frontend gRPC port (default: a free one)")] = None,
    ui_port: Annotated[int | None, typer.Option(help="Web UI port (default: a free one)")] = None,
) -> None:
    """Start a Temporal dev server and keep it running until Ctrl-C."""
    from temporal_lens.stack import DevServer, StackError

    try:
        with DevServer(workdir, port=port, ui_port=ui_port) as server:
            console.print(f"Temporal dev server at {server.address}; Web UI at {server.ui_url}. Ctrl-C stops it.")
            _wait_for_interrupt()
    except StackError as err:
        raise _fail(str(err), 1) from err


@app.command()
def receive(
    db: DbOption,
    grpc: Annotated[str, typer.Option(help="host:port for OTLP/gRPC")] = "127.0.0.1:4317",
) -> None:
    """Run an OTLP/gRPC receiver that stores spans into the database until Ctrl-C."""
    from temporal_lens.collectors import OtlpReceiver

    host, _, port = grpc.rpartition(":")
    if not host or not port.isdigit():
        raise _fail(f"--grpc must be host:port, got {grpc!r}", 2)
    conn = _open(db)
    try:
        with OtlpReceiver(BatchWriter(conn), host=host, port=int(port)) as receiver:
            console.print(f"OTLP/gRPC receiver at {receiver.endpoint} writing into {db}. Ctrl-C stops it.")
            _wait_for_interrupt()
            console.print(f"stored {receiver.spans_stored} spans")
    except OSError as err:
        raise _fail(str(err), 1) from err
    finally:
        conn.close()


@collect_app.command("history")
def collect_history(
    db: DbOption,
    address: Annotated[str, typer.Option(help="Temporal frontend host:port")] = "127.0.0.1:7233",
    namespace: Annotated[str, typer.Option()] = "default",
    query: Annotated[str | None, typer.Option(help="visibility list filter")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 8,
) -> None:
    """Fetch workflow histories from a Temporal server into `history_events` and `workflows`."""
    from temporalio.client import Client
    from temporalio.service import RPCError

    from temporal_lens.collectors import collect_histories

    conn = _open(db)

    async def run():
        client = await Client.connect(address, namespace=namespace)
        return await collect_histories(client, BatchWriter(conn), query=query, concurrency=concurrency)

    try:
        result = asyncio.run(run())
    except (RuntimeError, RPCError) as err:
        raise _fail(f"could not collect from {address}: {err}", 1) from err
    finally:
        conn.close()
    console.print(f"collected {result.events} events from {result.runs} runs into {db}")


@collect_app.command("logs")
def collect_logs(
    paths: Annotated[list[Path], typer.Argument(help="JSON-lines files or folders of *.jsonl")],
    db: DbOption,
) -> None:
    """Load structlog / logging JSON-lines files into `logs`. Bad lines are reported; good ones still load."""
    from temporal_lens.collectors import load_log_files

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"no such file or folder: {', '.join(missing)}", 2)
    conn = _open(db)
    try:
        results = load_log_files(BatchWriter(conn), paths)
    finally:
        conn.close()
    errors = [error for result in results for error in result.errors]
    for error in errors:
        err_console.print(f"[yellow]{error}[/]")
    console.print(f"loaded {sum(r.loaded for r in results)} log records from {len(results)} file(s)")
    if errors:
        raise typer.Exit(2)


@app.command()
def ask(
    db: DbOption,
    question_ids: Annotated[list[str] | None, typer.Argument(help="question ids (default: the matrix)")] = None,
    source: Annotated[str | None, typer.Option(help=f"one of {', '.join(SOURCES)}")] = None,
    sql: Annotated[str | None, typer.Option(help="run this SQL instead of a catalogue question")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Ask catalogue questions (or any SQL) of the lens database; without arguments, score the matrix."""
    if output not in ("table", "json", "csv"):
        raise _fail("--format must be table, json or csv", 2)
    if source is not None and source not in SOURCES:
        raise _fail(f"unknown source {source!r}; choose among {', '.join(SOURCES)}", 2)
    conn = _open(db)
    try:
        if sql is not None:
            _print_rows("sql", run_sql(conn, sql), output)
            return
        if not question_ids:
            console.print(render_matrix(score_answers(conn)))
            return
        for question_id in question_ids:
            try:
                q = find_question(question_id)
            except KeyError as err:
                raise _fail(str(err.args[0]), 2) from err
            for src in [source] if source else SOURCES:
                query = q.sql(src)
                title = f"{q.id} / {src}: {q.text}"
                if query is None:
                    console.print(f"{title}\n  cannot: {q.cannot.get(src, 'no query for this source')}")
                    continue
                _print_rows(title, run_sql(conn, query), output)
    except Exception as err:
        if type(err).__module__.startswith("duckdb"):
            raise _fail(f"query failed: {err}", 2) from err
        raise
    finally:
        conn.close()


def _print_rows(title: str, rows: list[dict], output: str) -> None:
    if output == "json":
        print(json.dumps(rows, default=str, indent=1))
    elif output == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=title)
        for column in rows[0] if rows else ["(no rows)"]:
            table.add_column(str(column))
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


def main() -> None:
    app(prog_name="temporal-lens")


__all__ = ["CATALOGUE", "app", "main"]
