"""Temporal Cloud's Workflow History Export: protobuf `temporal.api.export.v1.WorkflowExecutions` files.

Cloud writes closed runs hourly into a `<namespace>/<year>/<month>/<day>/<hour>/` folder tree, up to a day late and
at least once, so one run can arrive in two files: the first copy read is kept, later ones are dropped (a run
already stored as closed is not loaded again). A file that
does not parse (truncated by an interrupted upload, or not an export at all) is named and skipped; its neighbours
still load.
"""

from __future__ import annotations

import glob
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf.message import DecodeError
from temporalio.api.export.v1 import WorkflowExecutions
from temporalio.client import WorkflowHistory

from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.history_model import CLOSED_STATUSES, flatten_history, workflow_row
from temporal_lens.collectors.history_writer import CollectResult, write_runs

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
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CollectResult:
    """Load Workflow History Export files into `history_events` and `workflows`, one transaction per file.

    A run already stored as closed (from an earlier load or a live collection) and a run delivered twice are
    skipped (`skipped`); a file that is not a `WorkflowExecutions` message is named in `errors`. Files are parsed
    and flattened on `workers` processes (default: one per core; flattening is the cost), written here in order.

    Args:
        progress: called after each file with (files read, runs written so far).
    """
    paths = export_file_paths(paths_folders_or_globs)
    seen = _stored_closed_runs(writer, namespace)
    errors: list[str] = []
    runs = events = skipped = 0
    for index, (flat, error) in enumerate(_flattened(paths, namespace, workers), start=1):
        if error is not None:
            errors.append(error)
        if flat is not None:
            table, rows = flat
            fresh = []
            for row in rows:
                key = (row["workflow_id"], row["run_id"])
                if key in seen:
                    skipped += 1
                else:
                    seen.add(key)
                    fresh.append(row)
            if len(fresh) < len(rows):
                table = table.filter(pc.is_in(_run_keys(table), pa.array([f"{r['workflow_id']}/{r['run_id']}"
                                                                          for r in fresh], pa.string())))
            if fresh:
                events += write_runs(writer, namespace, [], [table], fresh)
                runs += len(fresh)
        if progress is not None:
            progress(index, runs)
    return CollectResult(runs=runs, events=events, fetched=runs, skipped=skipped, errors=tuple(errors))


_Flat = tuple[pa.Table, list[dict[str, Any]]]


def _flattened(paths: list[Path], namespace: str, workers: int | None) -> Iterator[tuple[_Flat | None, str | None]]:
    """Each file's (events, workflows rows) or its error, in order; on a process pool when there is more than one
    file (spawned: the parent holds a database and threads that a fork would copy), a few files read ahead."""
    count = workers or os.cpu_count() or 1
    if len(paths) < 2 or count < 2:
        yield from (flatten_export_file(path, namespace) for path in paths)
        return
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn")) as pool:
        ahead: deque[Future[tuple[_Flat | None, str | None]]] = deque()
        pending = iter(paths)
        for path in itertools.islice(pending, 2 * count):
            ahead.append(pool.submit(flatten_export_file, path, namespace))
        while ahead:
            result = ahead.popleft().result()
            for path in itertools.islice(pending, 1):
                ahead.append(pool.submit(flatten_export_file, path, namespace))
            yield result


def flatten_export_file(path: Path, namespace: str) -> tuple[_Flat | None, str | None]:
    """One export file as `history_events` rows and `workflows` rows (a run twice in the file: its first copy), or
    the one line saying why it cannot be read."""
    try:
        histories = list(_read_export(path))
    except ExportFileError as err:
        return None, str(err)
    tables, rows, keys = [], [], set()
    for history in histories:
        key = (history.workflow_id, history.run_id)
        if key in keys:
            continue
        keys.add(key)
        tables.append(flatten_history(history, namespace=namespace, run_id=history.run_id))
        rows.append(workflow_row(history, None, namespace=namespace, run_id=history.run_id))
    if not tables:
        return None, None
    return (pa.concat_tables(tables), rows), None


def _run_keys(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(table.column("workflow_id"), table.column("run_id"), "/")


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
