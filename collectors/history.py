"""Temporal event histories flattened into `history_events` and `workflows` rows.

Histories come from the server (`collect_histories`) or from JSON exports (`load_history_json`). Each run is
written with a delete-first condition on its (namespace, workflow_id, run_id), so collecting again replaces the
earlier copy instead of adding to it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.converter import PayloadConverter, decode_typed_search_attributes
from temporalio.converter import default as default_converter
from temporalio.service import RPCError, RPCStatusCode

from temporal_lens.collectors import history_json
from temporal_lens.collectors.db import BatchWriter, Part

HISTORY_EVENTS_SCHEMA = pa.schema(
    [
        ("namespace", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("event_id", pa.int64()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("event_type", pa.string()),
        ("task_queue", pa.string()),
        ("activity_id", pa.string()),
        ("activity_type", pa.string()),
        ("attempt", pa.int32()),
        ("scheduled_event_id", pa.int64()),
        ("started_event_id", pa.int64()),
        ("failure_message", pa.string()),
        ("failure_type", pa.string()),
        ("retry_state", pa.string()),
        ("timer_id", pa.string()),
        ("signal_name", pa.string()),
        ("update_name", pa.string()),
        ("identity", pa.string()),
        ("attributes", pa.string()),
    ]
)

WORKFLOWS_SCHEMA = pa.schema(
    [
        ("namespace", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("workflow_type", pa.string()),
        ("status", pa.string()),
        ("start_time", pa.timestamp("us", tz="UTC")),
        ("close_time", pa.timestamp("us", tz="UTC")),
        ("task_queue", pa.string()),
        ("parent_workflow_id", pa.string()),
        ("parent_run_id", pa.string()),
        ("history_length", pa.int64()),
        ("search_attributes", pa.string()),
    ]
)

_CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
}
_PAYLOAD = Payload.DESCRIPTOR.full_name


class HistoryFileError(ValueError):
    """A file given as a workflow history is not valid JSON or not a history."""


@dataclass(frozen=True)
class CollectResult:
    """What a collection covers: runs and events now in the database, runs listed but gone before being read.

    `fetched` and `skipped` say how the work split: histories read this time, and closed runs already stored by an
    earlier collection and left alone. They do not take part in equality: two collections that leave the same
    rows are equal however much each had to fetch. `warnings` name events stored without being fully understood
    (an event type newer than this library), `errors` the files that could not be loaded at all.
    """

    runs: int = 0
    events: int = 0
    missing: int = 0
    fetched: int = field(default=0, compare=False)
    skipped: int = field(default=0, compare=False)
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CollectProgress:
    """Handed to a `collect_histories` progress callback after each listed run is dealt with.

    `total` is the server's count for the query when it gave one (the listing may still grow or shrink).
    """

    listed: int
    total: int | None
    fetched: int
    skipped: int
    missing: int
    events: int


# A run whose history is in the database and will not change: the workflows table keeps the incremental state.
CLOSED_STATUSES = frozenset(["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT"])


def event_type_name(event_type: int) -> str:
    """`EVENT_TYPE_ACTIVITY_TASK_STARTED` -> `ActivityTaskStarted`, the form Temporal's UI shows; a number this
    library does not know (a newer server's type) -> `EventType<number>`."""
    if event_type not in _EVENT_TYPE_NUMBERS:
        return f"EventType{event_type}"
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_")
    return "".join(word.capitalize() for word in name.split("_"))


def flatten_history(
    history: WorkflowHistory,
    *,
    namespace: str,
    run_id: str | None = None,
    payload_converter: PayloadConverter | None = None,
) -> pa.Table:
    """One `history_events` row per event.

    Args:
        run_id: the run the history belongs to; defaults to the started event's `original_execution_run_id`,
            which for a reset run names the run it was reset from, so pass the real one when you know it.
        payload_converter: decodes payloads inside `attributes`; Temporal's default converter if not given.
            A payload keeps its shape (`metadata`, `data`); `data` becomes the decoded JSON value where the
            converter yields one (json/plain, binary/null) and stays base64 otherwise (encrypted, binary).
    """
    converter = payload_converter or default_converter().payload_converter
    run_id = run_id or history.run_id
    by_id = {event.event_id: event for event in history.events}
    rows = [_event_row(event, by_id, converter) for event in history.events]
    columns: dict[str, list[Any]] = {name: [] for name in HISTORY_EVENTS_SCHEMA.names}
    for row in rows:
        row.update(namespace=namespace, workflow_id=history.workflow_id, run_id=run_id)
        for name, values in columns.items():
            values.append(row.get(name))
    return pa.table(columns, schema=HISTORY_EVENTS_SCHEMA)


def workflow_row(
    history: WorkflowHistory,
    execution: WorkflowExecution | None = None,
    *,
    namespace: str,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The `workflows` row for one run, from its history and, when given, its visibility record.

    The history is read after the listing, so a close event in it wins over the listed status.
    """
    first, last = history.events[0], history.events[-1]
    started = first.workflow_execution_started_event_attributes
    closed = _CLOSE_STATUS.get(last.event_type)
    if closed:
        status, close_time = closed, _event_time(last)
    elif execution is not None:
        status = execution.status.name if execution.status else None
        close_time = execution.close_time
    else:
        status, close_time = "RUNNING", None
    if execution is not None:
        search_attributes = execution.typed_search_attributes
    else:
        search_attributes = decode_typed_search_attributes(_merged_search_attributes(history.events))
    parent = started.parent_workflow_execution if started.HasField("parent_workflow_execution") else None
    return {
        "namespace": namespace,
        "workflow_id": history.workflow_id,
        "run_id": run_id or (execution.run_id if execution else history.run_id),
        "workflow_type": started.workflow_type.name or (execution.workflow_type if execution else None),
        "status": status,
        "start_time": _event_time(first),
        "close_time": close_time,
        "task_queue": started.task_queue.name or (execution.task_queue if execution else None),
        "parent_workflow_id": parent.workflow_id if parent else None,
        "parent_run_id": parent.run_id if parent else None,
        "history_length": len(history.events),
        "search_attributes": json.dumps(
            {pair.key.name: pair.value for pair in search_attributes}, default=_json_default, ensure_ascii=False
        ),
    }


async def collect_histories(
    client: Client,
    writer: BatchWriter,
    *,
    query: str | None = None,
    concurrency: int = 8,
    runs_per_batch: int = 50,
    full: bool = False,
    progress: Callable[[CollectProgress], None] | None = None,
) -> CollectResult:
    """Collect every run `client.list_workflows(query)` returns (open and closed) into the database.

    Incremental: a run the `workflows` table already holds as closed is skipped (its history cannot change); new
    runs and runs that were still open last time are fetched. Histories are fetched with at most `concurrency`
    requests in flight; every `runs_per_batch` runs are written in one transaction (their `history_events` and
    `workflows` rows together), replacing those runs' earlier rows, so an interrupted run is fetched again.

    Args:
        full: fetch every listed run, closed and stored or not.
        progress: called (on the event loop) after each listed run is fetched, skipped or found gone.
    """
    if concurrency < 1 or runs_per_batch < 1:
        raise ValueError("concurrency and runs_per_batch must be at least 1")
    namespace = client.namespace
    stored_closed = {} if full else await asyncio.to_thread(_stored_closed_runs, writer, namespace)
    total = await _count(client, query) if progress else None
    listed = fetched = skipped = missing = events = skipped_events = 0
    pending: list[_Run] = []

    def report() -> None:
        if progress is not None:
            progress(CollectProgress(listed, total, fetched, skipped, missing, events + skipped_events))

    def known(execution: WorkflowExecution) -> bool:
        return (execution.id, execution.run_id) in stored_closed

    # One batch is written (on a thread) while the next is fetched; at most one write in flight.
    writing: asyncio.Future[int] | None = None
    writing_runs = 0

    async def written() -> None:
        nonlocal writing, events, fetched
        if writing is not None:
            task, writing = writing, None
            events += await task
            fetched += writing_runs

    try:
        async with aclosing(_fetch_histories(client, query, concurrency, known)) as results:
            async for execution, history in results:
                listed += 1
                if history is _SKIPPED:
                    skipped += 1
                    skipped_events += stored_closed[(execution.id, execution.run_id)]
                elif history is None or not history.events:
                    missing += 1
                else:
                    pending.append(_Run(execution.id, execution.run_id, history, execution))
                    if len(pending) >= runs_per_batch:
                        await written()
                        writing = asyncio.ensure_future(asyncio.to_thread(_write_runs, writer, namespace, pending))
                        writing_runs, pending = len(pending), []
                report()
        await written()
        if pending:
            events += await asyncio.to_thread(_write_runs, writer, namespace, pending)
            fetched += len(pending)
            report()
    finally:
        if writing is not None:  # failed or cancelled while a batch was being written: let it finish first
            await asyncio.gather(writing, return_exceptions=True)
    return CollectResult(
        runs=fetched + skipped,
        events=events + skipped_events,
        missing=missing,
        fetched=fetched,
        skipped=skipped,
    )


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
    attributes the file gives, and named in `warnings`. Read by DuckDB (see `history_json`): payloads inside
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
    `history_json`), two batches at a time, and written in one transaction.
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
    # DuckDB reads one batch of files on one thread: two batches are read at once, each on its own cursor, while
    # this thread writes the batch before them (in order; at most _READ_AHEAD batches held in memory).
    options = {"namespace": namespace}
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="lens-history-read") as pool:
        ahead = deque(pool.submit(_read_fast, writer.connection, batch, options) for batch in batches[:_READ_AHEAD])
        for index, batch in enumerate(batches):
            fast = ahead.popleft().result()
            if index + _READ_AHEAD < len(batches):
                ahead.append(pool.submit(_read_fast, writer.connection, batches[index + _READ_AHEAD], options))
            batch_runs, batch_events, batch_warnings, batch_errors = _write_batch(writer, namespace, batch, fast)
            runs, events = runs + batch_runs, events + batch_events
            warnings += batch_warnings
            errors += batch_errors
    return CollectResult(runs=runs, events=events, fetched=runs, warnings=tuple(warnings), errors=tuple(errors))


_READERS = 2
_READ_AHEAD = 3
_BATCH_BYTES = 64 * 1024 * 1024  # a batch's files together, so batches in flight stay small whatever the files


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
    fast = _read_fast(writer.connection, paths, options)
    return _write_batch(writer, namespace, paths, fast, workflow_id=workflow_id, run_id=run_id,
                        raise_errors=raise_errors)


def _read_fast(
    conn: duckdb.DuckDBPyConnection, paths: Sequence[Path], options: Mapping[str, Any]
) -> list[history_json.FastBatch]:
    """DuckDB reads the batch in one statement; a batch it cannot read as a whole is read file by file (a file it
    cannot read at all is left to the protobuf way, which says what is wrong with it)."""
    fast_paths = [path for path in paths if history_json.fast_readable(path)]
    try:
        return [history_json.read_history_batch(conn, fast_paths, **options)]
    except duckdb.Error:
        batches = []
        for path in fast_paths:
            with contextlib.suppress(duckdb.Error):  # the slow path names what is wrong with it
                batches.append(history_json.read_history_batch(conn, [path], **options))
        return batches


def _write_batch(
    writer: BatchWriter,
    namespace: str,
    paths: Sequence[Path],
    batches: Sequence[history_json.FastBatch],
    *,
    workflow_id: str | None = None,
    run_id: str | None = None,
    raise_errors: bool = False,
) -> tuple[int, int, tuple[str, ...], tuple[str, ...]]:
    """Write what the fast path read, and read the files it did not vouch for the protobuf way (which loads each
    or says why it is not a history); one transaction: (runs, events, warnings, errors)."""
    fast_rows: dict[Path, dict[str, Any]] = {}
    for batch in batches:
        for fast in batch.runs:
            with contextlib.suppress(Exception):  # search attributes protobuf cannot parse: the slow path says why
                fast_rows[fast.path] = _fast_workflow_row(fast, namespace)
    warnings: list[str] = []
    errors: list[str] = []
    slow: list[_Run] = []
    for path in paths:
        if path in fast_rows:
            continue
        try:
            history, unknown = _read_history(path, workflow_id)
        except (HistoryFileError, OSError) as err:
            if raise_errors:
                raise
            errors.append(str(err) if isinstance(err, HistoryFileError) else f"{path}: {err.strerror or err}")
            continue
        warnings += _unknown_warnings(path, unknown)
        slow.append(_Run(history.workflow_id, run_id or history.run_id, history, None, unknown, path))
    # Two files holding one run: the later file's copy is written, once.
    key_of = {path: (row["workflow_id"], row["run_id"]) for path, row in fast_rows.items()}
    key_of.update({run.path: (run.workflow_id, run.run_id) for run in slow})
    last = {key_of[path]: path for path in paths if path in key_of}
    fast_rows = {path: row for path, row in fast_rows.items() if last[key_of[path]] == path}
    slow = list({key_of[run.path]: run for run in slow if last[key_of[run.path]] == run.path}.values())
    fast_events = [
        batch.events.filter(pc.is_in(batch.events.column("_file"), pa.array([str(p) for p in fast_rows], pa.string())))
        .drop_columns(["_file"])
        .cast(HISTORY_EVENTS_SCHEMA)
        for batch in batches
    ]
    events = _write_runs(writer, namespace, slow, fast_events, list(fast_rows.values()))
    return len(fast_rows) + len(slow), events, tuple(warnings), tuple(errors)


def _fast_workflow_row(fast: history_json.FastRun, namespace: str) -> dict[str, Any]:
    """The `workflows` row `workflow_row` gives, from what the fast path read."""
    parts = [
        (is_started, json_format.Parse(text, SearchAttributes(), ignore_unknown_fields=True))
        for is_started, text in fast.search_attributes
    ]
    search_attributes = decode_typed_search_attributes(_merge_search_attributes(parts))
    return {
        "namespace": namespace,
        "workflow_id": fast.workflow_id,
        "run_id": fast.run_id,
        "workflow_type": fast.workflow_type,
        "status": fast.status,
        "start_time": fast.start_time,
        "close_time": fast.close_time,
        "task_queue": fast.task_queue,
        "parent_workflow_id": fast.parent_workflow_id,
        "parent_run_id": fast.parent_run_id,
        "history_length": fast.history_length,
        "search_attributes": json.dumps(
            {pair.key.name: pair.value for pair in search_attributes}, default=_json_default, ensure_ascii=False
        ),
    }


def read_history_json(path: str | Path, *, workflow_id: str | None = None) -> WorkflowHistory:
    """Parse a history JSON file; see `load_history_json`."""
    return _read_history(Path(path), workflow_id)[0]


@dataclass(frozen=True)
class _Run:
    workflow_id: str
    run_id: str
    history: WorkflowHistory
    execution: WorkflowExecution | None = None
    unknown_events: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    path: Path | None = None  # the file it was read from

_SKIPPED: Any = object()
_PASCAL = re.compile(r"(?<!^)(?=[A-Z])")
_KNOWN_EVENT_TYPES = frozenset(EventType.keys())
_EVENT_TYPE_NUMBERS = frozenset(EventType.values())


def _read_history(path: Path, workflow_id: str | None) -> tuple[WorkflowHistory, dict[int, tuple[str, str]]]:
    """The history, and {event_id: (type name, raw attributes JSON)} for events of types this library lacks."""
    try:
        parsed = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HistoryFileError(f"{path}: not valid JSON ({err})") from err
    if isinstance(parsed, list):  # some exports are the bare event list
        parsed = {"events": parsed}
    unknown = _unknown_events(parsed)
    try:
        history = WorkflowHistory.from_json(workflow_id or "", parsed)
    except (ValueError, TypeError, AttributeError, json_format.ParseError) as err:
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
            if enum_name in _KNOWN_EVENT_TYPES:
                continue
            name = "".join(word.capitalize() for word in enum_name.removeprefix("EVENT_TYPE_").split("_"))
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
    return tuple(
        f"{path}: event {event_id} has type {name}, unknown to this temporalio version; stored with its raw attributes"
        for event_id, (name, _) in sorted(unknown.items())
    )


def _stored_closed_runs(writer: BatchWriter, namespace: str) -> dict[tuple[str, str], int]:
    cursor = writer.connection.cursor()
    try:
        rows = cursor.execute(
            "SELECT workflow_id, run_id, coalesce(history_length, 0) FROM workflows"
            " WHERE namespace = ? AND list_contains(?, status)",
            [namespace, sorted(CLOSED_STATUSES)],
        ).fetchall()
    finally:
        cursor.close()
    return {(workflow_id, run_id): length for workflow_id, run_id, length in rows}


async def _count(client: Client, query: str | None) -> int | None:
    try:
        return (await client.count_workflows(query)).count
    except RPCError:  # the bar then shows progress without a total
        return None


async def _fetch_histories(
    client: Client, query: str | None, concurrency: int, skip: Callable[[WorkflowExecution], bool]
) -> AsyncIterator[tuple[WorkflowExecution, WorkflowHistory | None]]:
    """Yield (run, history) as fetches finish; history is None for a run deleted since it was listed, `_SKIPPED`
    for a run `skip` says not to fetch."""
    semaphore = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task[tuple[WorkflowExecution, WorkflowHistory | None]]] = set()

    async def fetch(execution: WorkflowExecution) -> tuple[WorkflowExecution, WorkflowHistory | None]:
        try:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            return execution, await handle.fetch_history()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return execution, None
            raise
        finally:
            semaphore.release()

    try:
        async for execution in client.list_workflows(query):
            if skip(execution):
                yield execution, _SKIPPED
                continue
            await semaphore.acquire()
            in_flight.add(asyncio.create_task(fetch(execution)))
            for task in [task for task in in_flight if task.done()]:
                in_flight.discard(task)
                yield task.result()
        while in_flight:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


def _write_runs(
    writer: BatchWriter,
    namespace: str,
    runs: Sequence[_Run],
    flat_events: Sequence[pa.Table] = (),
    flat_workflows: Sequence[Mapping[str, Any]] = (),
) -> int:
    """Write `runs` (flattened here) and already flattened runs (`flat_events`, `flat_workflows`) in one
    transaction, replacing those runs' earlier rows."""
    # A run listed twice (it moved in visibility while being listed) is written once, its last copy.
    runs = list({(run.workflow_id, run.run_id): run for run in runs}.values())
    keys = [(run.workflow_id, run.run_id) for run in runs]
    keys += [(row["workflow_id"], row["run_id"]) for row in flat_workflows]
    if not keys:
        return 0
    # A semi-join, not a chain of ORs: DuckDB plans that as a hash join, whatever the number of runs.
    condition = (
        "namespace = ? AND (workflow_id, run_id) IN (SELECT unnest(?::VARCHAR[]) AS w, unnest(?::VARCHAR[]) AS r)"
    )
    params: list[Any] = [namespace, [workflow_id for workflow_id, _ in keys], [run_id for _, run_id in keys]]
    events = pa.concat_tables(
        [
            *flat_events,
            *(
                _with_unknown_events(flatten_history(run.history, namespace=namespace, run_id=run.run_id), run)
                for run in runs
            ),
        ]
    )
    rows = [*flat_workflows]
    rows += [workflow_row(run.history, run.execution, namespace=namespace, run_id=run.run_id) for run in runs]
    # One transaction: the incremental collection trusts a closed `workflows` row to mean its events are stored.
    writer.insert_together([
        Part("history_events", events, (condition, params), keyed=False),
        Part("workflows", _workflows_table(rows), (condition, params)),
    ])
    return events.num_rows


def _with_unknown_events(table: pa.Table, run: _Run) -> pa.Table:
    if not run.unknown_events:
        return table
    event_ids = table.column("event_id").to_pylist()
    types = table.column("event_type").to_pylist()
    attributes = table.column("attributes").to_pylist()
    for i, event_id in enumerate(event_ids):
        if event_id in run.unknown_events:
            types[i], attributes[i] = run.unknown_events[event_id]
    table = table.set_column(table.schema.get_field_index("event_type"), "event_type", pa.array(types, pa.string()))
    return table.set_column(table.schema.get_field_index("attributes"), "attributes", pa.array(attributes, pa.string()))


def _workflows_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    return pa.table({name: [row.get(name) for row in rows] for name in WORKFLOWS_SCHEMA.names}, schema=WORKFLOWS_SCHEMA)


def _event_row(event: HistoryEvent, by_id: Mapping[int, HistoryEvent], converter: PayloadConverter) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "event_time": _event_time(event),
        "event_type": event_type_name(event.event_type),
    }
    which = event.WhichOneof("attributes")
    if which is None:
        return row
    attrs = getattr(event, which)
    row["attributes"] = _attributes_json(attrs, converter)

    scheduled_id = _get(attrs, "scheduled_event_id") or None
    started_id = _get(attrs, "started_event_id") or None
    row.update(scheduled_event_id=scheduled_id, started_event_id=started_id)
    row["task_queue"] = _queue_name(_get(attrs, "task_queue"))
    row["attempt"] = _get(attrs, "attempt") or None
    if event.HasField("activity_task_scheduled_event_attributes"):
        row.update(activity_id=attrs.activity_id, activity_type=attrs.activity_type.name)

    # Close events point back at their scheduled/started events; fill what those carry.
    scheduled = by_id.get(scheduled_id) if scheduled_id else None
    if scheduled is not None and scheduled.HasField("activity_task_scheduled_event_attributes"):
        origin = scheduled.activity_task_scheduled_event_attributes
        row.update(activity_id=origin.activity_id, activity_type=origin.activity_type.name)
        row["task_queue"] = row["task_queue"] or _queue_name(origin.task_queue)
        started = by_id.get(started_id) if started_id else None
        if started is not None and started.HasField("activity_task_started_event_attributes"):
            row["attempt"] = row["attempt"] or started.activity_task_started_event_attributes.attempt or None
    elif scheduled is not None and scheduled.HasField("workflow_task_scheduled_event_attributes"):
        origin = scheduled.workflow_task_scheduled_event_attributes
        row["task_queue"] = row["task_queue"] or _queue_name(origin.task_queue)
        row["attempt"] = row["attempt"] or origin.attempt or None

    # ActivityTaskStarted is written when the activity closes; its last_failure is the previous attempt's.
    failure = _get(attrs, "failure") or _get(attrs, "last_failure")
    if failure is not None:
        row.update(failure_message=failure.message, failure_type=_failure_type(failure))
    retry_state = _get(attrs, "retry_state")
    if retry_state:
        row["retry_state"] = RetryState.Name(retry_state).removeprefix("RETRY_STATE_")
    row["timer_id"] = _get(attrs, "timer_id") or None
    row["signal_name"] = _get(attrs, "signal_name") or None
    row["identity"] = _get(attrs, "identity") or None
    row["update_name"] = _update_name(attrs, by_id)
    return row


def _get(attrs: Message, name: str) -> Any:
    """The field's value, or None if this attributes message has no such field (or an unset message field)."""
    field = attrs.DESCRIPTOR.fields_by_name.get(name)
    if field is None:
        return None
    if field.message_type is not None and not field.is_repeated and not attrs.HasField(name):
        return None
    return getattr(attrs, name)


def _queue_name(task_queue: Any) -> str | None:
    if task_queue is None:
        return None
    # A sticky queue is one worker's private queue; the normal name is the queue the user chose.
    return task_queue.normal_name or task_queue.name or None


def _failure_type(failure: Failure) -> str | None:
    kind = failure.WhichOneof("failure_info")
    if kind == "application_failure_info":
        return failure.application_failure_info.type or None
    if kind is None:
        return None
    return "".join(word.capitalize() for word in kind.removesuffix("_info").split("_"))


def _update_name(attrs: Message, by_id: Mapping[int, HistoryEvent]) -> str | None:
    for request_field in ("request", "accepted_request", "rejected_request"):
        request = _get(attrs, request_field)
        if request is not None and request.input.name:
            return request.input.name
    accepted_id = _get(attrs, "accepted_event_id")
    accepted = by_id.get(accepted_id) if accepted_id else None
    if accepted is not None and accepted.HasField("workflow_execution_update_accepted_event_attributes"):
        return accepted.workflow_execution_update_accepted_event_attributes.accepted_request.input.name or None
    return None


def _event_time(event: HistoryEvent) -> datetime | None:
    return event.event_time.ToDatetime(tzinfo=UTC) if event.HasField("event_time") else None


def _merged_search_attributes(events: Sequence[HistoryEvent]) -> SearchAttributes:
    parts = []
    for event in events:
        if event.HasField("workflow_execution_started_event_attributes"):
            parts.append((True, event.workflow_execution_started_event_attributes.search_attributes))
        elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
            parts.append((False, event.upsert_workflow_search_attributes_event_attributes.search_attributes))
    return _merge_search_attributes(parts)


def _merge_search_attributes(parts: Iterable[tuple[bool, SearchAttributes]]) -> SearchAttributes:
    """The started event's search attributes (`True`) updated by each upsert (`False`), in history order."""
    merged = SearchAttributes()
    for is_started, attributes in parts:
        if is_started:
            merged.indexed_fields.update(attributes.indexed_fields)
            continue
        for key, payload in attributes.indexed_fields.items():
            if payload.data:
                merged.indexed_fields[key].CopyFrom(payload)
            else:  # an empty payload removes the attribute
                merged.indexed_fields.pop(key, None)
    return merged


def _attributes_json(attrs: Message, converter: PayloadConverter) -> str:
    as_dict = json_format.MessageToDict(attrs)
    _decode_payloads(as_dict, attrs.DESCRIPTOR, converter)
    return json.dumps(as_dict, ensure_ascii=False)


def _decode_payloads(value: dict[str, Any], descriptor: Descriptor, converter: PayloadConverter) -> None:
    """Replace payloads inside a MessageToDict result, guided by the message descriptor (never by key guessing)."""
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key)
        if field is None or field.message_type is None:
            continue
        message_type = field.message_type
        if message_type.GetOptions().map_entry:
            entry_type = message_type.fields_by_name["value"].message_type
            if entry_type is not None and isinstance(item, dict):
                for entry_key, entry in item.items():
                    item[entry_key] = _decode_message(entry, entry_type, converter)
        elif isinstance(item, list):
            value[key] = [_decode_message(element, message_type, converter) for element in item]
        else:
            value[key] = _decode_message(item, message_type, converter)


def _decode_message(item: Any, descriptor: Descriptor, converter: PayloadConverter) -> Any:
    if not isinstance(item, dict):
        return item
    if descriptor.full_name == _PAYLOAD:
        return _readable_payload(item, converter)
    _decode_payloads(item, descriptor, converter)
    return item


def _readable_payload(item: dict[str, Any], converter: PayloadConverter) -> dict[str, Any]:
    raw_metadata = {key: base64.b64decode(value) for key, value in item.get("metadata", {}).items()}
    readable = dict(item)
    readable["metadata"] = {key: _text_or_base64(value) for key, value in raw_metadata.items()}
    try:
        decoded = converter.from_payload(Payload(metadata=raw_metadata, data=base64.b64decode(item.get("data", ""))))
        json.dumps(decoded)
    except Exception:  # not JSON-shaped (binary, encrypted, unknown encoding): keep Temporal's base64
        return readable
    readable["data"] = decoded
    return readable


def _text_or_base64(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
