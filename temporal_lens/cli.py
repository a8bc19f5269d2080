"""The `temporal-lens` command line. Exit codes: 0 success, 2 bad usage or bad input, 1 failure."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from temporal_lens.analysis import CATALOGUE, SCOPES, SOURCES, render_matrix, run_sql, score_answers
from temporal_lens.analysis import question as find_question
from temporal_lens.collectors import BatchWriter, DatabaseInUseError, open_database
from temporal_lens.sample_app.scenario import SCENARIOS

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
collect_app = typer.Typer(no_args_is_help=True, help="Bring a source into the lens database.")
app.add_typer(collect_app, name="collect")
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[Path, typer.Option("--db", help="the lens DuckDB file")]


class BadInput(Exception):
    """Input the user gave is wrong: exit code 2."""


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def _open(db: Path, *, must_exist: bool = False):
    """The lens database; commands that only read it refuse to create an empty one at a mistyped path."""
    if must_exist and not db.is_file():
        raise _fail(f"no lens database at {db} (run `temporal-lens study` or a collector first)", 2)
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
    codec: Annotated[bool, typer.Option(help="encrypt every payload, to show what history then holds")] = False,
    external: Annotated[
        bool, typer.Option(help="use a running stack (docker-compose.yml) instead of starting a dev server")
    ] = False,
    temporal_address: Annotated[
        str, typer.Option(envvar="TEMPORAL_ADDRESS", help="with --external: the Temporal frontend host:port")
    ] = "127.0.0.1:7233",
    namespace: Annotated[str, typer.Option(envvar="TEMPORAL_NAMESPACE", help="with --external")] = "default",
    otlp_endpoint: Annotated[
        str,
        typer.Option(envvar="TEMPORAL_LENS_OTLP_ENDPOINT",
                     help="with --external: where the services export spans and logs (the collector)"),
    ] = "127.0.0.1:4317",
    receive_grpc: Annotated[
        str,
        typer.Option(envvar="TEMPORAL_LENS_RECEIVE_GRPC",
                     help="with --external: host:port this study's OTLP receiver listens on for the collector"),
    ] = "0.0.0.0:14317",
    ui_url: Annotated[
        str, typer.Option(envvar="TEMPORAL_LENS_UI_URL", help="with --external: the Temporal Web UI (printed)")
    ] = "http://127.0.0.1:8080",
) -> None:
    """Run the whole study on this machine (or with --external, against a running stack) and print the matrix."""
    from temporal_lens.services import ServiceError
    from temporal_lens.stack import StackError
    from temporal_lens.study import ExternalStack, StudyOptions, run_study

    kinds = tuple(k.strip() for k in scenarios.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(SCENARIOS))
    if unknown or not kinds:
        raise _fail(f"unknown scenario kind(s) {unknown}; choose among {', '.join(SCENARIOS)}", 2)
    stack = None
    if external:
        stack = ExternalStack(temporal_address=temporal_address, namespace=namespace, otlp_endpoint=otlp_endpoint,
                              receive_grpc=receive_grpc, ui_url=ui_url or None)
        try:
            stack.receiver_bind()
        except ValueError as err:
            raise _fail(f"--receive-grpc: {err}", 2) from err
    options = StudyOptions(orders=orders, seed=seed, scenarios=kinds, runs_dir=runs_dir, headless=headless, codec=codec,
                           timeout=timeout, external=stack)
    try:
        run_study(options, console)
    except (StackError, ServiceError, TimeoutError, OSError) as err:
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
    grpc: Annotated[str, typer.Option(help="host:port for OTLP/gRPC, or 'off'")] = "127.0.0.1:4317",
    http: Annotated[str, typer.Option(help="host:port for OTLP/HTTP (/v1/traces, /v1/logs), or 'off'")] = (
        "127.0.0.1:4318"
    ),
    token: Annotated[
        str | None, typer.Option(envvar="TEMPORAL_LENS_TOKEN", help="require 'Authorization: Bearer TOKEN'")
    ] = None,
    max_request_mb: Annotated[float, typer.Option(min=0.001, help="largest accepted request, MB")] = 16.0,
) -> None:
    """Run OTLP receivers (gRPC and HTTP) that store spans and log records into the database until Ctrl-C."""
    from contextlib import ExitStack

    from temporal_lens.collectors import OtlpHttpReceiver, OtlpReceiver

    addresses = {}
    for flag, value in (("--grpc", grpc), ("--http", http)):
        if value.strip().lower() == "off":
            continue
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise _fail(f"{flag} must be host:port or 'off', got {value!r}", 2)
        addresses[flag] = (host.strip("[]"), int(port))
    if not addresses:
        raise _fail("both --grpc and --http are off; nothing to receive", 2)
    max_bytes = int(max_request_mb * 1024 * 1024)
    conn = _open(db)
    writer = BatchWriter(conn)
    try:
        with ExitStack() as running:
            receivers = []
            if "--grpc" in addresses:
                host, port = addresses["--grpc"]
                receivers.append(
                    running.enter_context(
                        OtlpReceiver(writer, host=host, port=port, token=token, max_message_bytes=max_bytes)
                    )
                )
                console.print(f"OTLP/gRPC receiver at {receivers[-1].endpoint}")
            if "--http" in addresses:
                host, port = addresses["--http"]
                receivers.append(
                    running.enter_context(
                        OtlpHttpReceiver(writer, host=host, port=port, token=token, max_body_bytes=max_bytes)
                    )
                )
                console.print(f"OTLP/HTTP receiver at {receivers[-1].endpoint} (/v1/traces, /v1/logs)")
            console.print(f"writing into {db}{' (bearer token required)' if token else ''}. Ctrl-C stops it.")
            _wait_for_interrupt()
        spans = sum(r.spans_stored for r in receivers)
        logs = sum(r.logs_stored for r in receivers)
        rejected = sum(r.batches_rejected for r in receivers)
        console.print(f"stored {spans} spans and {logs} log records; rejected {rejected} requests")
    except OSError as err:
        raise _fail(str(err), 1) from err
    finally:
        conn.close()


@collect_app.command("history")
def collect_history(
    db: DbOption,
    files: Annotated[
        list[Path] | None, typer.Argument(help="history JSON files or folders of *.json (instead of a server)")
    ] = None,
    address: Annotated[str, typer.Option(help="Temporal frontend host:port")] = "127.0.0.1:7233",
    namespace: Annotated[str, typer.Option()] = "default",
    query: Annotated[str | None, typer.Option(help="visibility list filter")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 8,
    full: Annotated[bool, typer.Option(help="fetch closed runs already stored too")] = False,
) -> None:
    """Fetch workflow histories from a Temporal server (or JSON files) into `history_events` and `workflows`.

    From a server, collection is incremental: closed runs already in the database are skipped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from temporalio.client import Client
    from temporalio.service import RPCError

    from temporal_lens.collectors import CollectProgress, collect_histories, load_history_files

    if files:
        missing = [str(p) for p in files if not p.exists()]
        if missing:
            raise _fail(f"no such file or folder: {', '.join(missing)}", 2)
        conn = _open(db)
        try:
            result = load_history_files(BatchWriter(conn), files, namespace=namespace)
        finally:
            conn.close()
        from rich.markup import escape

        for warning in result.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        for error in result.errors:
            err_console.print(f"[red]error:[/] {escape(error)}", soft_wrap=True)
        console.print(f"loaded {result.events} events from {result.runs} history file(s) into {db}")
        if result.errors or result.warnings:
            raise typer.Exit(2)
        return

    conn = _open(db)
    bar = Progress(
        TextColumn("histories"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=err_console, transient=True,
    )
    task = bar.add_task("collect", total=None, detail="")

    def show(step: CollectProgress) -> None:
        bar.update(task, completed=step.listed, total=step.total,
                   detail=f"{step.fetched} fetched, {step.skipped} unchanged, {step.events} events")

    async def run():
        client = await Client.connect(address, namespace=namespace)
        return await collect_histories(
            client, BatchWriter(conn), query=query, concurrency=concurrency, full=full, progress=show
        )

    try:
        with bar:
            result = asyncio.run(run())
    except (RuntimeError, RPCError) as err:
        raise _fail(f"could not collect from {address}: {err}", 1) from err
    finally:
        conn.close()
    console.print(
        f"collected {result.events} events from {result.runs} runs into {db}"
        f" ({result.fetched} fetched, {result.skipped} unchanged and skipped, {result.missing} gone)"
    )


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
    scope: Annotated[str, typer.Option(help="the matrix over 'all' orders, or 'retained' (no deleted run)")] = "all",
) -> None:
    """Ask catalogue questions (or any SQL) of the lens database; without arguments, score the matrix.

    With --format json or csv, stdout holds only data (one JSON document, or one CSV table whose rows carry
    question_id and source when questions are asked); everything else goes to stderr.
    """
    if output not in ("table", "json", "csv"):
        raise _fail("--format must be table, json or csv", 2)
    if scope not in SCOPES:
        raise _fail(f"--scope must be one of {', '.join(SCOPES)}", 2)
    if source is not None and source not in SOURCES:
        raise _fail(f"unknown source {source!r}; choose among {', '.join(SOURCES)}", 2)
    if sql is not None and question_ids:
        raise _fail("give question ids or --sql, not both", 2)
    questions = []
    for question_id in question_ids or []:
        try:
            questions.append(find_question(question_id))
        except KeyError as err:
            raise _fail(str(err.args[0]), 2) from err
    conn = _open(db, must_exist=True)
    try:
        if sql is not None:
            _print_rows("sql", run_sql(conn, sql), output)
            return
        if not questions:
            cells = score_answers(conn, sources=[source] if source else SOURCES, store=source is None, scope=scope)
            if output == "table":
                console.print(render_matrix(cells))
            else:
                _print_rows("matrix", [cell.__dict__ for cell in cells], output)
            return
        answers = []
        for q in questions:
            for src in [source] if source else SOURCES:
                query = q.sql(src)
                if query is None:
                    answers.append({"question_id": q.id, "source": src, "question": q.text,
                                    "cannot": q.cannot_reason(src), "rows": []})
                    continue
                answers.append({"question_id": q.id, "source": src, "question": q.text, "cannot": None,
                                "rows": run_sql(conn, query, _question_params(conn, q, query))})
        _print_answers(answers, output)
    except Exception as err:
        if isinstance(err, duckdb.Error):
            raise _fail(f"query failed: {err}", 2) from err
        raise
    finally:
        conn.close()


def _question_params(conn, q, query: str) -> dict:
    """The values a question binds (its period, say), read from the ground truth as the scoring does."""
    params_sql = q.params_sql()
    if params_sql is None:
        return {}
    params = run_sql(conn, params_sql)[0]
    return {name: value for name, value in params.items() if f"${name}" in query}


def _print_answers(answers: list[dict], output: str) -> None:
    if output == "json":
        print(json.dumps(answers, default=str, indent=1))
        return
    if output == "csv":
        for answer in answers:
            if answer["cannot"]:
                err_console.print(f"{answer['question_id']} / {answer['source']}: cannot: {answer['cannot']}")
        rows = [{"question_id": a["question_id"], "source": a["source"], **row} for a in answers for row in a["rows"]]
        _print_rows("answers", rows, output)
        return
    for answer in answers:
        title = f"{answer['question_id']} / {answer['source']}: {answer['question']}"
        if answer["cannot"]:
            console.print(f"{title}\n  cannot: {answer['cannot']}")
        else:
            _print_rows(title, answer["rows"], output)


def _print_rows(title: str, rows: list[dict], output: str) -> None:
    if output == "json":
        print(json.dumps(rows, default=str, indent=1))
    elif output == "csv":
        import csv

        # rows of several answers can differ in columns: the header is their union, in first-seen order
        fieldnames = list(dict.fromkeys(column for row in rows for column in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=title)
        for column in rows[0] if rows else ["(no rows)"]:
            table.add_column(str(column))
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


@app.command()
def report(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="the HTML report to write (report.md goes next to it)")] = Path(
        "report.html"
    ),
    markdown: Annotated[Path | None, typer.Option("--md", help="where to write the Markdown summary")] = None,
    ui_url: Annotated[
        str | None, typer.Option(help="the Temporal Web UI, for links to each workflow (stored in the database)")
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="the workflows' namespace (stored in the database)")] = None,
) -> None:
    """Write a self-contained HTML report (matrix, claims, questions, timelines) and a Markdown summary."""
    from temporal_lens.analysis import store_settings, write_report

    if not db.is_file():
        raise _fail(f"no such database: {db}", 2)
    conn = _open(db, must_exist=True)
    try:
        store_settings(conn, ui_url=ui_url, namespace=namespace)
        html_path, md_path = write_report(conn, out, markdown)
    except OSError as err:
        raise _fail(str(err), 1) from err
    finally:
        conn.close()
    console.print(f"Report: {html_path}", soft_wrap=True, highlight=False, markup=False)
    console.print(f"Summary: {md_path}", soft_wrap=True, highlight=False, markup=False)


# ---- Jaeger, history-derived traces, Parquet -------------------------------------------------------------------

export_app = typer.Typer(no_args_is_help=True, help="Write the lens database out in formats other tools open.")
app.add_typer(export_app, name="export")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(text: str, option: str):
    from datetime import timedelta

    number, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not number.replace(".", "", 1).isdigit():
        raise _fail(f"{option} must be a number followed by s, m, h or d (like 90m), got {text!r}", 2)
    return timedelta(seconds=float(number) * _DURATION_UNITS[unit])


@collect_app.command("jaeger")
def collect_jaeger(
    db: DbOption,
    file: Annotated[list[Path] | None, typer.Option("--file", help="Jaeger JSON file (repeatable)")] = None,
    url: Annotated[str | None, typer.Option(help="Jaeger query API base URL, like http://127.0.0.1:16686")] = None,
    service: Annotated[str | None, typer.Option(help="service to fetch traces of (with --url)")] = None,
    since: Annotated[str, typer.Option(help="how far back to fetch (with --url): 30m, 1h, 2d")] = "1h",
    limit: Annotated[int, typer.Option(min=1, help="most traces to fetch (with --url)")] = 100,
) -> None:
    """Import Jaeger JSON traces (files, or a running Jaeger's query API) into `spans` with source 'jaeger'."""
    from temporal_lens.collectors import JaegerApiError, JaegerFormatError, collect_jaeger_api, load_jaeger_file

    if bool(file) == bool(url):
        raise _fail("give either --file (one or more) or --url with --service", 2)
    if url and not service:
        raise _fail("--url needs --service", 2)
    window = _parse_duration(since, "--since")
    missing = [str(p) for p in file or [] if not p.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}", 2)
    conn = _open(db)
    try:
        writer = BatchWriter(conn)
        if file:
            stored = sum(load_jaeger_file(writer, path) for path in file)
        else:
            stored = collect_jaeger_api(writer, url, service=service, since=window, limit=limit)
    except JaegerFormatError as err:
        raise _fail(str(err), 2) from err
    except JaegerApiError as err:
        raise _fail(str(err), 1) from err
    finally:
        conn.close()
    console.print(f"stored {stored} spans into {db}")


@collect_app.command("history-traces")
def collect_history_traces(
    db: DbOption,
    workflow_id: Annotated[str | None, typer.Option(help="only this workflow's runs")] = None,
) -> None:
    """Synthesize spans from `history_events` (source 'history') for every collected run, replacing earlier ones."""
    from temporal_lens.collectors import synthesize_history_spans

    conn = _open(db, must_exist=True)
    try:
        where = ("workflow_id = ?", [workflow_id]) if workflow_id else None
        written = synthesize_history_spans(conn, where=where)
    finally:
        conn.close()
    console.print(f"wrote {written} history-derived spans into {db}")


@export_app.command("jaeger")
def export_jaeger_files(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="folder for the files, one <trace id>.json per trace")],
    trace_id: Annotated[str | None, typer.Option(help="only this trace")] = None,
    workflow_id: Annotated[str | None, typer.Option(help="only traces holding spans of this workflow")] = None,
) -> None:
    """Write traces as Jaeger JSON files that the Jaeger UI's "JSON File" upload opens."""
    from temporal_lens.collectors import export_jaeger

    if trace_id and workflow_id:
        raise _fail("give --trace-id or --workflow-id, not both", 2)
    conn = _open(db, must_exist=True)
    try:
        written = export_jaeger(conn, out, trace_id=trace_id, workflow_id=workflow_id)
    finally:
        conn.close()
    if not written and (trace_id or workflow_id):
        raise _fail(f"no spans for {'trace ' + trace_id if trace_id else 'workflow ' + str(workflow_id)}", 2)
    console.print(f"wrote {len(written)} trace file(s) into {out}")


@export_app.command("parquet")
def export_parquet_files(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="folder for the Hive-partitioned Parquet dataset")],
) -> None:
    """Write every table as Parquet, partitioned Hive-style (spans by source/date, history by namespace/date...)."""
    from temporal_lens.collectors import export_parquet

    conn = _open(db, must_exist=True)
    try:
        written = export_parquet(conn, out)
    finally:
        conn.close()
    for table, rows in written.items():
        console.print(f"{table}: {rows} rows -> {out / f'table={table}'}")


@app.command("receive-jaeger-agent")
def receive_jaeger_agent(
    db: DbOption,
    udp: Annotated[str, typer.Option(help="host:port for Jaeger agent compact-Thrift datagrams")] = "127.0.0.1:6831",
) -> None:
    """Receive legacy jaeger-client spans (agent protocol, UDP) into the database until Ctrl-C."""
    from temporal_lens.collectors import JaegerAgentReceiver

    host, _, port = udp.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise _fail(f"--udp must be host:port, got {udp!r}", 2)
    conn = _open(db)
    try:
        with JaegerAgentReceiver(BatchWriter(conn), host=host.strip("[]"), port=int(port)) as receiver:
            console.print(f"Jaeger agent receiver on udp {host}:{receiver.port} writing into {db}. Ctrl-C stops it.")
            _wait_for_interrupt()
        console.print(f"stored {receiver.spans_stored} spans; {receiver.datagrams_rejected} bad datagram(s) dropped")
    except (OSError, ImportError) as err:
        raise _fail(str(err), 1) from err
    finally:
        conn.close()


def main() -> None:
    app(prog_name="temporal-lens")


__all__ = ["CATALOGUE", "app", "main"]
