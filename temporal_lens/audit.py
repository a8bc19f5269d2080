"""`temporal-lens audit`: collect one namespace's histories, its open runs' state and any spans and logs into one
lens database, then answer the generic questions and measure instrumentation coverage.

The composition root for the audit: it calls the collectors, then the analysis, and never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporal_lens.connection import TemporalTarget, connect_namespace
from temporal_lens.settled import run_settled

if TYPE_CHECKING:
    import duckdb


class AuditInputError(ValueError):
    """What the audit was given cannot be audited (nothing in the window, a bad file); one line says what."""


@dataclass(frozen=True)
class AuditInputs:
    """What to audit. `target` None: no server (export files, spans and logs only)."""

    target: TemporalTarget | None
    since: timedelta | None = None
    query: str | None = None
    export_paths: Sequence[str] = ()
    otlp_files: Sequence[Path] = ()
    log_files: Sequence[Path] = ()
    jaeger_url: str | None = None
    jaeger_services: Sequence[str] = ()
    concurrency: int = 32
    min_attempts: int = 3


@dataclass
class AuditProgress:
    """Hooks the command line turns into progress bars: `step(name, total)` starts one, `advance(done, detail)`
    moves it."""

    step: Callable[[str, int | None], None] = lambda name, total: None
    advance: Callable[[int, str], None] = lambda done, detail: None


@dataclass
class AuditCollected:
    """What each input brought in, and the lines to report about bad inputs (the good data around them is kept)."""

    runs: int = 0
    fetched: int = 0
    open_runs: int = 0
    pending_activities: int = 0
    export_runs: int = 0
    spans: int = 0
    logs: int = 0
    errors: list[str] = field(default_factory=list)


def visibility_query(since: timedelta | None, query: str | None, *, now: datetime | None = None) -> str | None:
    """The Visibility filter for a window (runs started or closed in it, and every run still open) and a query."""
    parts = []
    if since is not None:
        start = ((now or datetime.now(UTC)) - since).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(f"(StartTime >= '{start}' OR CloseTime >= '{start}' OR ExecutionStatus = 'Running')")
    if query:
        parts.append(f"({query})")
    return " AND ".join(parts) or None


def collect_for_audit(conn: duckdb.DuckDBPyConnection, inputs: AuditInputs, progress: AuditProgress) -> AuditCollected:
    """Bring every input into `conn`, one transaction per batch (an interruption leaves whole batches only)."""
    from temporal_lens.collectors import BatchWriter

    writer = BatchWriter(conn)
    collected = AuditCollected()
    if inputs.target is not None:
        run_settled(_collect_server, writer, inputs, progress, collected)
    if inputs.export_paths:
        _collect_export(writer, inputs, progress, collected)
    if inputs.otlp_files:
        from temporal_lens.collectors.otlp_files import load_otlp_files

        progress.step("OTLP files", len(inputs.otlp_files))
        result = load_otlp_files(writer, inputs.otlp_files)
        collected.spans += result.spans
        collected.logs += result.logs
        collected.errors += result.errors
        progress.advance(len(inputs.otlp_files), f"{result.spans} spans, {result.logs} records")
    if inputs.log_files:
        from temporal_lens.collectors import load_log_files

        progress.step("log files", len(inputs.log_files))
        for done, result in enumerate(load_log_files(writer, inputs.log_files), start=1):
            collected.logs += result.loaded
            collected.errors += [str(error) for error in result.errors]
            progress.advance(done, f"{collected.logs} records")
    if inputs.jaeger_url:
        from temporal_lens.collectors import collect_jaeger_api

        progress.step("Jaeger traces", len(inputs.jaeger_services))
        for done, service in enumerate(inputs.jaeger_services, start=1):
            collected.spans += collect_jaeger_api(writer, inputs.jaeger_url, service=service,
                                                  since=inputs.since or timedelta(days=1), limit=10_000)
            progress.advance(done, service)
    return collected


async def _collect_server(writer: Any, inputs: AuditInputs, progress: AuditProgress, collected: AuditCollected) -> None:
    from temporal_lens.collectors import CollectProgress, collect_histories
    from temporal_lens.collectors.open_runs import observe_open_runs

    assert inputs.target is not None
    client = await connect_namespace(inputs.target)
    query = visibility_query(inputs.since, inputs.query)
    listed = (await client.count_workflows(query)).count
    if listed == 0:
        raise AuditInputError(
            f"no workflow runs in namespace {inputs.target.namespace!r} at {inputs.target.address}"
            f" match {query or 'any filter'}"
        )
    progress.step("histories", listed)

    def show(step: CollectProgress) -> None:
        progress.advance(step.listed, f"{step.fetched} fetched, {step.skipped} unchanged, {step.events} events")

    result = await collect_histories(client, writer, query=query, concurrency=inputs.concurrency, progress=show)
    collected.runs += result.runs
    collected.fetched += result.fetched
    progress.step("open runs (Describe)", None)
    observed = await observe_open_runs(client, writer, query=inputs.query, concurrency=inputs.concurrency,
                                       progress=lambda done: progress.advance(done, "described"))
    collected.open_runs, collected.pending_activities = observed.runs, observed.pending_activities


def _collect_export(writer: Any, inputs: AuditInputs, progress: AuditProgress, collected: AuditCollected) -> None:
    from temporal_lens.collectors.history_export import export_file_paths, load_export_files

    namespace = inputs.target.namespace if inputs.target else "default"
    progress.step("export files", len(export_file_paths(inputs.export_paths)))
    result = load_export_files(writer, inputs.export_paths, namespace=namespace,
                               progress=lambda files, runs: progress.advance(files, f"{runs} runs"))
    collected.export_runs += result.runs
    collected.runs += result.runs
    collected.errors += result.errors


def write_audit(conn: duckdb.DuckDBPyConnection, out_dir: Path, context: dict[str, Any], *, min_attempts: int = 3
                ) -> dict[str, Path]:
    """Answer the generic questions, measure coverage and write report.html, report.md and audit.json."""
    from temporal_lens.analysis.audit import build_audit, write_audit_report

    if not conn.execute("SELECT count(*) FROM workflows").fetchone()[0]:
        raise AuditInputError("the lens database holds no workflow runs to audit")
    return write_audit_report(build_audit(conn, context, {"min_attempts": min_attempts}), out_dir)
