"""History JSON files loaded into `history_events` and `workflows`.

Two readers, one decision per file: `read_history_sql` has DuckDB read a whole batch of files in one statement (see
`history_json_sql`); a file it does not vouch for is read by `read_history_protobuf` (the SDK's own parser), which
loads it or says exactly what is wrong with it. Batches are read ahead on a small pool while the one before them is
written, in order.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import json_format
from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import decode_typed_search_attributes

from temporal_lens.collectors import history_json_sql
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.history_model import (
    KNOWN_EVENT_TYPES,
    camel_name,
    event_type_name,
    merge_search_attributes,
    search_attributes_json,
)
from temporal_lens.collectors.history_writer import CollectResult, HistoryRun, write_runs
from temporal_lens.collectors.tables import HISTORY_EVENTS_SCHEMA

# DuckDB reads one batch of files on one thread: two batches are read at once, each on its own cursor.
_READERS = 2
_READ_AHEAD = 3
_BATCH_BYTES = 64 * 1024 * 1024  # a batch's files together, so batches in flight stay small whatever the files
_PASCAL = re.compile(r"(?<!^)(?=[A-Z])")

class HistoryFileError(ValueError):
    """A file given as a workflow history is not valid JSON or not a history."""


def load_history_json(
    writer: BatchWriter,
    path: str | Path,
    *,
    namespace: str = "default",
    workflow_id: str | None = None,
    run_id: str | None = None,
) -> CollectResult:
    """Load one history exported by `temporal workflow show --output json`, the Web UI or `to_json()`.

    The workflow id defaults to the started event's `workflow_id`, the run id to its `original_execution_run_id`.
    An event whose type this library does not know (a newer server's) is stored with the type name and the raw
    attributes the file gives, and named in `warnings`. Read by DuckDB (see `history_json_sql`): payloads inside
    `attributes` stay base64 as in the file, where `flatten_history` decodes them.

    Raises:
        HistoryFileError: the file is not JSON, not a workflow history, or does not say which workflow it is.
    """
    runs, events, warnings, _ = _load_batch(
        writer, namespace, [Path(path)], workflow_id=workflow_id, run_id=run_id, raise_errors=True
    )
    return CollectResult(runs=runs, events=events, fetched=runs, warnings=warnings)


def load_history_files(
    writer: BatchWriter,
    paths_or_dirs: Iterable[str | Path],
    *,
    namespace: str = "default",
    pattern: str = "*.json",
    runs_per_batch: int = 1000,
) -> CollectResult:
    """Load many history JSON files (and every `pattern` file directly inside each folder), batched.

    A file that is not a history is named in `errors` and the others still load; every `runs_per_batch` files
    (fewer when they are large: at most 64 MiB of files to a batch) are read by DuckDB in one SQL statement (see
    `history_json_sql`), two batches at a time, and written in one transaction.
    Loading again replaces the same runs' rows. Payloads inside `attributes` stay base64 as in the files.
    """
    if runs_per_batch < 1:
        raise ValueError("runs_per_batch must be at least 1")
    paths: list[Path] = []
    for given in paths_or_dirs:
        given = Path(given)
        paths += sorted(given.glob(pattern)) if given.is_dir() else [given]
    # A file named twice (given alone and inside its folder) is read once, where it was first named.
    first: dict[Path, Path] = {}
    for path in paths:
        first.setdefault(_same_file(path), path)
    paths = list(first.values())
    runs = events = 0
    warnings: list[str] = []
    errors: list[str] = []
    batches = list(_batches(paths, runs_per_batch, _BATCH_BYTES))
    # Batches are read on the pool while this thread writes the batch before them (in order; at most _READ_AHEAD
    # batches held in memory).
    options = {"namespace": namespace}
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="lens-history-read") as pool:
        def read(batch: list[Path]) -> Future[list[history_json_sql.SqlBatch]]:
            return pool.submit(read_history_sql, writer.connection, batch, options)

        ahead = deque(read(batch) for batch in batches[:_READ_AHEAD])
        for index, batch in enumerate(batches):
            read_batches = ahead.popleft().result()
            if index + _READ_AHEAD < len(batches):
                ahead.append(read(batches[index + _READ_AHEAD]))
            batch_runs, batch_events, batch_warnings, batch_errors = _write_batch(
                writer, namespace, batch, read_batches
            )
            runs, events = runs + batch_runs, events + batch_events
            warnings += batch_warnings
            errors += batch_errors
    return CollectResult(runs=runs, events=events, fetched=runs, warnings=tuple(warnings), errors=tuple(errors))


def read_history_sql(
    conn: duckdb.DuckDBPyConnection, paths: Sequence[Path], options: Mapping[str, Any]
) -> list[history_json_sql.SqlBatch]:
    """DuckDB reads the batch in one statement; a batch it cannot read as a whole is read file by file (a file it
    cannot read at all is left to `read_history_protobuf`, which says what is wrong with it)."""
    sql_paths = [path for path in paths if history_json_sql.sql_readable(path)]
    try:
        return [history_json_sql.read_history_batch(conn, sql_paths, **options)]
    except duckdb.Error:
        batches = []
        for path in sql_paths:
            with contextlib.suppress(duckdb.Error):  # read_history_protobuf names what is wrong
                batches.append(history_json_sql.read_history_batch(conn, [path], **options))
        return batches


def _write_batch(
    writer: BatchWriter,
    namespace: str,
    paths: Sequence[Path],
    batches: Sequence[history_json_sql.SqlBatch],
    *,
    workflow_id: str | None = None,
    run_id: str | None = None,
    raise_errors: bool = False,
) -> tuple[int, int, tuple[str, ...], tuple[str, ...]]:
    """Write what the SQL reader read, and read the files it did not vouch for the protobuf way (which loads each
    or says why it is not a history); one transaction: (runs, events, warnings, errors)."""
    sql_rows: dict[Path, dict[str, Any]] = {}
    for batch in batches:
        for run in batch.runs:
            with contextlib.suppress(Exception):  # search attributes protobuf cannot parse: the exact reader says why
                sql_rows[run.path] = _sql_workflow_row(run, namespace)
    warnings: list[str] = []
    errors: list[str] = []
    exact: list[HistoryRun] = []
    for path in paths:
        if path in sql_rows:
            continue
        try:
            history, unknown = read_history_protobuf(path, workflow_id)
        except (HistoryFileError, OSError) as err:
            if raise_errors:
                raise
            errors.append(str(err) if isinstance(err, HistoryFileError) else f"{path}: {err.strerror or err}")
            continue
        warnings += _unknown_warnings(path, unknown)
        exact.append(HistoryRun(history.workflow_id, run_id or history.run_id, history, None, unknown, path))
    # Two files holding one run: the later file's copy is written, once.
    key_of = {path: (row["workflow_id"], row["run_id"]) for path, row in sql_rows.items()}
    key_of.update({run.path: (run.workflow_id, run.run_id) for run in exact})
    last = {key_of[path]: path for path in paths if path in key_of}
    sql_rows = {path: row for path, row in sql_rows.items() if last[key_of[path]] == path}
    exact = list({key_of[run.path]: run for run in exact if last[key_of[run.path]] == run.path}.values())
    sql_events = [
        batch.events.filter(pc.is_in(batch.events.column("_file"), pa.array([str(p) for p in sql_rows], pa.string())))
        .drop_columns(["_file"])
        .cast(HISTORY_EVENTS_SCHEMA)
        for batch in batches
    ]
    events = write_runs(writer, namespace, exact, sql_events, list(sql_rows.values()))
    return len(sql_rows) + len(exact), events, tuple(warnings), tuple(errors)


def _sql_workflow_row(run: history_json_sql.SqlRun, namespace: str) -> dict[str, Any]:
    """The `workflows` row `workflow_row` gives, from what the SQL reader read."""
    parts = [
        (is_started, json_format.Parse(text, SearchAttributes(), ignore_unknown_fields=True))
        for is_started, text in run.search_attributes
    ]
    search_attributes = decode_typed_search_attributes(merge_search_attributes(parts))
    return {
        "namespace": namespace,
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "status": run.status,
        "start_time": run.start_time,
        "close_time": run.close_time,
        "task_queue": run.task_queue,
        "parent_workflow_id": run.parent_workflow_id,
        "parent_run_id": run.parent_run_id,
        "history_length": run.history_length,
        "search_attributes": search_attributes_json(search_attributes),
    }


def read_history_json(path: str | Path, *, workflow_id: str | None = None) -> WorkflowHistory:
    """Parse a history JSON file; see `load_history_json`."""
    return read_history_protobuf(Path(path), workflow_id)[0]


def read_history_protobuf(path: Path, workflow_id: str | None) -> tuple[WorkflowHistory, dict[int, tuple[str, str]]]:
    """The history, and {event_id: (type name, raw attributes JSON)} for events of types this library lacks."""
    try:
        parsed = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HistoryFileError(f"{path}: not valid JSON ({err})") from err
    except RecursionError as err:  # Python's parser recurses per level; no history nests that deep
        raise HistoryFileError(f"{path}: not a workflow history (JSON nested too deeply)") from err
    if isinstance(parsed, list):  # some exports are the bare event list
        parsed = {"events": parsed}
    unknown = _unknown_events(parsed)
    try:
        history = WorkflowHistory.from_json(workflow_id or "", parsed)
    except (ValueError, TypeError, AttributeError, RecursionError, json_format.ParseError) as err:
        raise HistoryFileError(f"{path}: not a workflow history ({err})") from err
    if not history.events:
        raise HistoryFileError(f"{path}: not a workflow history (no events)")
    first = history.events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        kind = event_type_name(first.event_type) if first.event_type else "an event without a type"
        raise HistoryFileError(f"{path}: not a workflow history (first event is {kind}, not WorkflowExecutionStarted)")
    seen: set[int] = set()
    for event in history.events:
        if event.event_id in seen:  # the key of history_events: a second copy would silently replace nothing
            raise HistoryFileError(f"{path}: not a workflow history (event id {event.event_id} appears twice)")
        seen.add(event.event_id)
    if not history.workflow_id:
        named = first.workflow_execution_started_event_attributes.workflow_id
        if not named:
            raise HistoryFileError(f"{path}: the history does not name its workflow id; pass workflow_id")
        history = WorkflowHistory(named, history.events)
    return history, unknown


def _unknown_events(parsed: Any) -> dict[int, tuple[str, str]]:
    """Events whose `eventType` is not in this library's EventType enum (a newer server's), by event id."""
    events = parsed.get("events") if isinstance(parsed, dict) else None
    if not isinstance(events, list):
        return {}
    unknown: dict[int, tuple[str, str]] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("eventType")
        if isinstance(kind, str) and kind:
            enum_name = kind if kind.startswith("EVENT_TYPE_") else "EVENT_TYPE_" + _PASCAL.sub("_", kind).upper()
            if enum_name in KNOWN_EVENT_TYPES:
                continue
            name = camel_name(enum_name, "EVENT_TYPE_")
        elif isinstance(kind, int) and not isinstance(kind, bool) and kind not in EventType.values():
            name = f"EventType{kind}"
        else:
            continue
        try:
            event_id = int(event.get("eventId"))
        except (TypeError, ValueError):
            continue
        raw = {key: value for key, value in event.items() if key.endswith("Attributes")}
        unknown[event_id] = (name, json.dumps(raw, ensure_ascii=False))
    return unknown


def _unknown_warnings(path: Path, unknown: Mapping[int, tuple[str, str]]) -> tuple[str, ...]:
    """One line per file, however many of its events have a type this temporalio version does not know."""
    if not unknown:
        return ()
    if len(unknown) == 1:
        ((event_id, (name, _)),) = unknown.items()
        return (f"{path}: event {event_id} has type {name}, unknown to this temporalio version; "
                "stored with its raw attributes",)
    events = ", ".join(f"{event_id} ({name})" for event_id, (name, _) in sorted(unknown.items()))
    return (f"{path}: events {events} have types unknown to this temporalio version; stored with their raw "
            "attributes",)


def _batches(paths: Sequence[Path], files: int, max_bytes: int) -> Iterator[list[Path]]:
    """`paths` in order, at most `files` to a batch and at most `max_bytes` of them (a larger file goes alone)."""
    batch: list[Path] = []
    size = 0
    for path in paths:
        try:
            length = path.stat().st_size
        except OSError:
            length = 0  # the loader names what is wrong with it
        if batch and (len(batch) >= files or size + length > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


def _same_file(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _load_batch(
    writer: BatchWriter,
    namespace: str,
    paths: Sequence[Path],
    *,
    workflow_id: str | None = None,
    run_id: str | None = None,
    raise_errors: bool = False,
) -> tuple[int, int, tuple[str, ...], tuple[str, ...]]:
    """Load `paths` in one transaction: (runs, events, warnings, errors)."""
    options = {"namespace": namespace, "workflow_id": workflow_id, "run_id": run_id}
    read_batches = read_history_sql(writer.connection, paths, options)
    return _write_batch(writer, namespace, paths, read_batches, workflow_id=workflow_id, run_id=run_id,
                        raise_errors=raise_errors)
