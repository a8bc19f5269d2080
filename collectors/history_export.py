"""Temporal Cloud's Workflow History Export: protobuf `temporal.api.export.v1.WorkflowExecutions` files.

Cloud writes closed runs hourly into a `<namespace>/<year>/<month>/<day>/<hour>/` folder tree, up to a day late and
at least once, so one run can arrive in two files: the first copy read is kept, later ones are dropped. A file that
does not parse (truncated by an interrupted upload, or not an export at all) is named and skipped; its neighbours
still load.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from google.protobuf.message import DecodeError
from temporalio.api.export.v1 import WorkflowExecutions
from temporalio.client import WorkflowHistory

from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.history_model import CLOSED_STATUSES
from temporal_lens.collectors.history_writer import CollectResult, HistoryRun, write_runs

_GLOB_CHARACTERS = frozenset("*?[")


def export_file_paths(paths_folders_or_globs: Iterable[str | Path]) -> list[Path]:
    """Every file under each folder (the hourly tree, recursively), each file given, each glob's matches; sorted
    within each argument, each file once. A name that matches nothing is returned as is, for the loader to name."""
    found: dict[Path, None] = {}
    for given in paths_folders_or_globs:
        text = str(given)
        if _GLOB_CHARACTERS & set(text):
            matches = sorted(Path(match) for match in glob.glob(text, recursive=True))
        elif Path(text).is_dir():
            matches = sorted(path for path in Path(text).rglob("*") if path.is_file() and not path.name.startswith("."))
        else:
            matches = [Path(text)]
        for path in matches:
            if not path.is_dir():
                found.setdefault(path, None)
    return list(found)


def load_export_files(
    writer: BatchWriter,
    paths_folders_or_globs: Iterable[str | Path],
    *,
    namespace: str = "default",
    runs_per_batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> CollectResult:
    """Load Workflow History Export files into `history_events` and `workflows`, `runs_per_batch` runs a transaction.

    A run already stored as closed (from an earlier load or a live collection) and a run delivered twice are
    skipped (`skipped`); a file that is not a `WorkflowExecutions` message is named in `errors`.

    Args:
        progress: called after each file with (files read, runs written so far).
    """
    if runs_per_batch < 1:
        raise ValueError("runs_per_batch must be at least 1")
    seen = _stored_closed_runs(writer, namespace)
    batch: list[HistoryRun] = []
    errors: list[str] = []
    runs = events = skipped = 0

    def flush() -> None:
        nonlocal batch, runs, events
        if batch:
            events += write_runs(writer, namespace, batch)
            runs += len(batch)
            batch = []

    for index, path in enumerate(export_file_paths(paths_folders_or_globs), start=1):
        try:
            histories = list(_read_export(path))
        except ExportFileError as err:
            errors.append(str(err))
            histories = []
        for history in histories:
            key = (history.workflow_id, history.run_id)
            if key in seen:
                skipped += 1
                continue
            seen.add(key)
            batch.append(HistoryRun(history.workflow_id, history.run_id, history, path=path))
            if len(batch) >= runs_per_batch:
                flush()
        if progress is not None:
            progress(index, runs + len(batch))
    flush()
    return CollectResult(runs=runs, events=events, fetched=runs, skipped=skipped, errors=tuple(errors))


class ExportFileError(ValueError):
    """A file given as a Workflow History Export is unreadable or not a `WorkflowExecutions` message."""


def _read_export(path: Path) -> Iterator[WorkflowHistory]:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ExportFileError(f"{path}: {err.strerror or err}") from err
    try:
        executions = WorkflowExecutions.FromString(raw)
    except DecodeError as err:
        raise ExportFileError(f"{path}: not a Workflow History Export file (protobuf does not parse: {err})") from err
    histories = []
    for position, item in enumerate(executions.items):
        events = list(item.history.events)
        first = events[0] if events else None
        if first is None or not first.HasField("workflow_execution_started_event_attributes"):
            raise ExportFileError(f"{path}: item {position} is not a workflow history (no WorkflowExecutionStarted)")
        started = first.workflow_execution_started_event_attributes
        if not started.workflow_id:
            raise ExportFileError(f"{path}: item {position} does not name its workflow id")
        histories.append(WorkflowHistory(started.workflow_id, events))
    # A file parses or is skipped whole: half a file's runs would look like a complete hour.
    yield from histories


def _stored_closed_runs(writer: BatchWriter, namespace: str) -> set[tuple[str, str]]:
    cursor = writer.connection.cursor()
    try:
        rows = cursor.execute(
            "SELECT workflow_id, run_id FROM workflows WHERE namespace = ? AND list_contains(?, status)",
            [namespace, sorted(CLOSED_STATUSES)],
        ).fetchall()
    finally:
        cursor.close()
    return {(workflow_id, run_id) for workflow_id, run_id in rows}
