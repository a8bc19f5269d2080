"""`temporal-lens audit`: the lens on your own Temporal namespace (local server, self-hosted with mTLS, or Cloud)."""

from __future__ import annotations

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
    console,
    err_console,
)

# The `temporal` CLI's environment variables, so a shell set up for `temporal` audits the same namespace.
_ADDRESS_ENV, _NAMESPACE_ENV = "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"
_TLS_ENV = ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME")
_API_KEY_ENV = "TEMPORAL_API_KEY"


def audit(
    db: DbOption,
    address: Annotated[str | None, typer.Option(envvar=_ADDRESS_ENV, show_envvar=True,
                                                help="Temporal frontend host:port [default: 127.0.0.1:7233]")] = None,
    namespace: Annotated[str, typer.Option(envvar=_NAMESPACE_ENV, show_envvar=True)] = "default",
    tls_cert: Annotated[Path | None, typer.Option(envvar=_TLS_ENV[0], help="client certificate (PEM, mTLS)")] = None,
    tls_key: Annotated[Path | None, typer.Option(envvar=_TLS_ENV[1], help="client private key (PEM, mTLS)")] = None,
    tls_ca: Annotated[Path | None, typer.Option(envvar=_TLS_ENV[2], help="CA to verify the server with (PEM)")] = None,
    tls_server_name: Annotated[str | None, typer.Option(envvar=_TLS_ENV[3], help="server name to verify")] = None,
    api_key: Annotated[str | None, typer.Option(envvar=_API_KEY_ENV, help="API key (Temporal Cloud)")] = None,
    since: Annotated[str | None, typer.Option(help="runs started or closed this recently (and all open): 24h")] = None,
    query: Annotated[str | None, typer.Option(help="any Visibility list filter")] = None,
    export: Annotated[list[str] | None, typer.Option(
        "--export", help="Cloud Workflow History Export files, folders or globs (repeatable)")] = None,
    otlp_files: Annotated[list[Path] | None, typer.Option(
        "--otlp-files", help="OTLP/JSON-lines span or log files (repeatable)")] = None,
    logs: Annotated[list[Path] | None, typer.Option("--logs", help="JSON-lines log files or folders")] = None,
    jaeger_url: Annotated[str | None, typer.Option(help="Jaeger query API base URL")] = None,
    jaeger_service: Annotated[list[str] | None, typer.Option(help="service to fetch from Jaeger (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option(help="report folder [default: <db>-audit next to the database]")] = None,
    min_attempts: Annotated[int, typer.Option(min=2, help="an open activity at this attempt counts as stuck")] = 3,
    # 32: the dev server spent less CPU a run and fetched as fast or faster than at 16 (measured side by side)
    concurrency: Annotated[int, typer.Option(min=1, help="histories fetched at once")] = 32,
) -> None:
    """Audit a namespace: histories, open runs (Describe), spans and logs into --db; report.html, report.md, audit.json.

    Collection is incremental (closed runs already stored are not fetched again) and committed per batch, so Ctrl-C
    leaves a consistent database; run again to go on. With --export and no --address, no server is contacted.
    """
    from temporal_lens.cli.collecting import _parse_duration

    # bad usage is told before the heavy parts are imported
    window = _parse_duration(since, "--since") if since else None
    _check_paths_exist([*(otlp_files or []), *(logs or [])])
    for path in (tls_cert, tls_key, tls_ca):
        if path is not None:
            _check_paths_exist([path], files_only=True)
    if jaeger_url and not jaeger_service:
        raise _fail("--jaeger-url needs --jaeger-service (one or more)", BAD_INPUT)
    from rich.markup import escape

    from temporal_lens.audit import AuditInputError, AuditInputs, collect_for_audit, write_audit
    from temporal_lens.connection import DEFAULT_ADDRESS, ConnectionInputError, TemporalTarget
    target = None
    if address or not export:
        target = TemporalTarget(address or DEFAULT_ADDRESS, namespace, tls_cert, tls_key, tls_ca, tls_server_name,
                                api_key or None)
    inputs = AuditInputs(
        target=target, since=window, query=query, export_paths=tuple(export or ()), otlp_files=tuple(otlp_files or ()),
        log_files=tuple(logs or ()), jaeger_url=jaeger_url, jaeger_services=tuple(jaeger_service or ()),
        concurrency=concurrency, min_attempts=min_attempts,
    )
    out_dir = out or db.with_name(f"{db.stem}-audit")
    context = {"namespace": namespace, "address": target.address if target else "none (files only)",
               "window": since or "all", "query": query or "none"}
    failures = {ConnectionInputError: BAD_INPUT, AuditInputError: BAD_INPUT, **_remote_failures()}
    with _database(db, failures=failures) as conn:
        bars = _Bars()
        try:
            with bars.progress:
                collected = collect_for_audit(conn, inputs, bars)
                bars.step("questions and report", 1)
                paths = write_audit(conn, out_dir, context, min_attempts=min_attempts)
                bars.advance(1, str(out_dir))
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted:[/] every batch stored so far is whole; run again to go on")
            raise typer.Exit(FAILURE) from None
    for error in collected.errors:
        err_console.print(f"[red]error:[/] {escape(error)}", soft_wrap=True)
    console.print(
        f"audited {collected.runs} runs ({collected.fetched} fetched, {collected.export_runs} from export files),"
        f" {collected.open_runs} open runs described ({collected.pending_activities} pending activities),"
        f" {collected.spans} spans and {collected.logs} log records stored into {db}"
    )
    console.print(f"report: {paths['report.html']}  {paths['report.md']}  {paths['audit.json']}")
    if collected.errors:
        raise typer.Exit(BAD_INPUT)


def _remote_failures() -> dict[type[BaseException], int]:
    from temporalio.service import RPCError

    from temporal_lens.collectors import JaegerApiError

    return {RPCError: FAILURE, JaegerApiError: FAILURE}


class _Bars:
    """One rich progress bar per audit step, on stderr (stdout stays for the result lines)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=err_console, transient=False,
        )
        self._task = None

    def step(self, name: str, total: int | None) -> None:
        if self._task is not None:
            task = self.progress.tasks[-1]
            self.progress.update(self._task, total=task.completed if task.total is None else task.total)
        self._task = self.progress.add_task(name, total=total, detail="")

    def advance(self, done: int, detail: str) -> None:
        if self._task is not None:
            self.progress.update(self._task, completed=done, detail=detail)
