"""`temporal-lens collect ...`: bring a source (histories, logs, Jaeger traces) into the lens database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from temporal_lens.cli._common import (
    BAD_INPUT,
    FAILURE,
    DbOption,
    _check_paths_exist,
    _database,
    _fail,
    _stopped_cleanly,
    console,
    err_console,
)

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
    export: Annotated[list[str] | None, typer.Option(
        "--export", help="Temporal Cloud Workflow History Export files, folders or globs (repeatable)")] = None,
) -> None:
    """Fetch workflow histories from a Temporal server (or JSON files, or Cloud export files) into `history_events`
    and `workflows`.

    From a server, collection is incremental: closed runs already in the database are skipped. SIGTERM or SIGINT
    stops it with what was committed kept (exit 143 or 130); run it again to fetch the rest.
    """
    if files and export:
        raise _fail("give history JSON files or --export files, not both", BAD_INPUT)
    if files:
        _load_history_files(db, files, namespace)
        return
    if export:
        _load_export_files(db, export, namespace)
        return

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from temporalio.client import Client
    from temporalio.service import RPCError

    from temporal_lens.collectors import BatchWriter, CollectProgress, collect_histories

    with (
        # a run whose events were committed is complete in the database; the next collect fetches the rest
        _stopped_cleanly("collecting", f"every history fetched so far is committed into {db}"),
        _database(db, failures=dict.fromkeys((RuntimeError, RPCError), FAILURE),
                  context=f"could not collect from {address}: ") as conn,
    ):
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

        with bar:
            result = asyncio.run(run())
    console.print(
        f"collected {result.events} events from {result.runs} runs into {db}"
        f" ({result.fetched} fetched, {result.skipped} unchanged and skipped, {result.missing} gone)"
    )


def _load_history_files(db: Path, files: list[Path], namespace: str) -> None:
    """History JSON files into the database; a bad file is reported (exit 2) and the good ones still load."""
    from rich.markup import escape

    from temporal_lens.collectors import BatchWriter, load_history_files

    _check_paths_exist(files)
    with _database(db) as conn:
        result = load_history_files(BatchWriter(conn), files, namespace=namespace)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    for error in result.errors:
        err_console.print(f"[red]error:[/] {escape(error)}", soft_wrap=True)
    console.print(f"loaded {result.events} events from {result.runs} history file(s) into {db}")
    if result.errors or result.warnings:
        raise typer.Exit(BAD_INPUT)


def _load_export_files(db: Path, export: list[str], namespace: str) -> None:
    """Cloud export files into the database; a corrupt file is named (exit 2) and its neighbours still load."""
    from rich.markup import escape

    from temporal_lens.collectors import BatchWriter, export_file_paths, load_export_files

    paths = export_file_paths(export)
    if not paths:
        raise _fail(f"no files found at {', '.join(export)}", BAD_INPUT)
    with _database(db) as conn:
        result = load_export_files(BatchWriter(conn), paths, namespace=namespace)
    for error in result.errors:
        err_console.print(f"[red]error:[/] {escape(error)}", soft_wrap=True)
    console.print(f"loaded {result.events} events from {result.runs} runs in {len(paths)} export file(s) into {db}"
                  f" ({result.skipped} delivered again or already stored, skipped)")
    if result.errors:
        raise typer.Exit(BAD_INPUT)


def collect_logs(
    paths: Annotated[list[Path], typer.Argument(help="JSON-lines files or folders of *.jsonl")],
    db: DbOption,
) -> None:
    """Load structlog / logging JSON-lines files into `logs`. Bad lines are reported; good ones still load."""
    from temporal_lens.collectors import BatchWriter, load_log_files

    _check_paths_exist(paths)
    with _database(db) as conn:
        results = load_log_files(BatchWriter(conn), paths)
    errors = [error for result in results for error in result.errors]
    from rich.markup import escape

    for error in errors:
        err_console.print(f"[yellow]{escape(str(error))}[/]")  # a quoted bad value may hold brackets
    console.print(f"loaded {sum(r.loaded for r in results)} log records from {len(results)} file(s)")
    if errors:
        raise typer.Exit(BAD_INPUT)


def collect_jaeger(
    db: DbOption,
    file: Annotated[list[Path] | None, typer.Option("--file", help="Jaeger JSON file (repeatable)")] = None,
    url: Annotated[str | None, typer.Option(help="Jaeger query API base URL, like http://127.0.0.1:16686")] = None,
    service: Annotated[str | None, typer.Option(help="service to fetch traces of (with --url)")] = None,
    since: Annotated[str, typer.Option(help="how far back to fetch (with --url): 30m, 1h, 2d")] = "1h",
    limit: Annotated[int, typer.Option(min=1, help="most traces to fetch (with --url)")] = 100,
) -> None:
    """Import Jaeger JSON traces (files, or a running Jaeger's query API) into `spans` with source 'jaeger'."""
    from temporal_lens.collectors import (
        BatchWriter,
        JaegerApiError,
        JaegerFormatError,
        collect_jaeger_api,
        load_jaeger_file,
    )

    if bool(file) == bool(url):
        raise _fail("give either --file (one or more) or --url with --service", BAD_INPUT)
    if url and not service:
        raise _fail("--url needs --service", BAD_INPUT)
    window = _parse_duration(since, "--since")
    _check_paths_exist(file or [], files_only=True)
    bad_files: list[str] = []
    with _database(db, failures={JaegerFormatError: BAD_INPUT, JaegerApiError: FAILURE}) as conn:
        writer = BatchWriter(conn)
        stored = 0
        if url:
            stored = collect_jaeger_api(writer, url, service=service, since=window, limit=limit)
        for path in file or []:  # a bad file is reported and the good ones around it still load
            try:
                stored += load_jaeger_file(writer, path)
            except JaegerFormatError as err:
                bad_files.append(str(err))
    from rich.markup import escape

    for error in bad_files:
        err_console.print(f"[red]error:[/] {escape(error)}")
    console.print(f"stored {stored} spans into {db}")
    if bad_files:
        raise typer.Exit(BAD_INPUT)


def _parse_duration(text: str, option: str) -> timedelta:
    number, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not number.replace(".", "", 1).isdigit():
        raise _fail(f"{option} must be a number followed by s, m, h or d (like 90m), got {text!r}", BAD_INPUT)
    return timedelta(seconds=float(number) * _DURATION_UNITS[unit])


def collect_history_traces(
    db: DbOption,
    workflow_id: Annotated[str | None, typer.Option(help="only this workflow's runs")] = None,
) -> None:
    """Synthesize spans from `history_events` (source 'history') for every collected run, replacing earlier ones."""
    from temporal_lens.collectors import synthesize_history_spans

    with _database(db, must_exist=True) as conn:
        where = ("workflow_id = ?", [workflow_id]) if workflow_id else None
        written = synthesize_history_spans(conn, where=where)
    console.print(f"wrote {written} history-derived spans into {db}")
