"""History JSON files read by DuckDB: a batch of files parsed and flattened in SQL, no protobuf.

`read_history_batch` turns many exported histories (`temporal workflow show --output json`, the Web UI download,
`WorkflowHistory.to_json()`, or a bare list of events) into the `history_events` rows `flatten_history` gives, and
the facts the `workflows` row needs, with one SQL statement over the whole batch of files. It parses each file once
(`json_transform` into typed structs) and resolves what a close event only points to (the activity id, type and task
queue of an activity's Scheduled event, the attempt of its Started event, the update name of an Accepted event) with
joins inside the same file.

Differences from the protobuf path, by design:

* payloads inside `attributes` stay as the server wrote them: `metadata` values and `data` in base64, where
  `flatten_history` decodes them with a payload converter. Every typed column is the same.
* `attributes` is the file's own JSON object for the event's `*EventAttributes` (minified, key order as in the
  file); the protobuf path re-serialises it, so an old UI export's PascalCase enum values inside it (`"kind":
  "Normal"`) stay as written here instead of becoming `TASK_QUEUE_KIND_NORMAL`. `event_type` and `retry_state`
  are normalised either way.
* fields are read by name without checking every value's protobuf type; what the columns need is checked.

A file this SQL reader cannot vouch for is not loaded here but named in `SqlBatch.rejected`, for the caller to read
the exact protobuf way (`history_files.read_history_protobuf`, which loads it or says what is wrong with it): not
valid JSON, no `events` list, an event without an integer id, a time that is not a timestamp, an event type this
library does not know, two attributes on one event, a first event that is not WorkflowExecutionStarted, repeated
event ids, no workflow id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent

from temporal_lens.collectors.history_model import RUN_CLOSE_STATUS, camel_name
from temporal_lens.collectors.tables import HISTORY_EVENTS

_STARTED_KEY = "workflowExecutionStartedEventAttributes"
_UPSERT_KEY = "upsertWorkflowSearchAttributesEventAttributes"
_ACTIVITY_SCHEDULED_KEY = "activityTaskScheduledEventAttributes"
_ACTIVITY_STARTED_KEY = "activityTaskStartedEventAttributes"
_WORKFLOW_TASK_SCHEDULED_KEY = "workflowTaskScheduledEventAttributes"
_UPDATE_ACCEPTED_KEY = "workflowExecutionUpdateAcceptedEventAttributes"
# A path read_text would expand as a glob pattern; such a file goes the protobuf way.
_GLOB_CHARS = frozenset("*?[{")


def _attribute_keys() -> list[str]:
    return [field.json_name for field in HistoryEvent.DESCRIPTOR.oneofs_by_name["attributes"].fields]


def _failure_info_keys() -> list[str]:
    return [field.json_name for field in Failure.DESCRIPTOR.oneofs_by_name["failure_info"].fields]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _values(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"({_sql_string(a)}, {_sql_string(b)})" for a, b in pairs)


def _event_type_pairs() -> list[tuple[str, str]]:
    """Every spelling a file may use for a known event type -> the UpperCamel name `event_type_name` gives."""
    pairs = []
    for name, number in EventType.items():
        if number == 0:
            continue
        camel = camel_name(name, "EVENT_TYPE_")
        pairs += [(name, camel), (camel, camel), (str(number), camel)]
    return pairs


def _retry_state_pairs() -> list[tuple[str, str]]:
    pairs = []
    for name, number in RetryState.items():
        short = name.removeprefix("RETRY_STATE_")
        value = "" if number == 0 else short
        pairs += [(name, value), (camel_name(name, "RETRY_STATE_"), value), (str(number), value)]
    return pairs


def _structure() -> str:
    """The json_transform structure of the fields read from an event's attributes."""
    failure: dict[str, Any] = {"message": "VARCHAR"}
    failure.update(dict.fromkeys(_failure_info_keys(), "JSON"))
    failure["applicationFailureInfo"] = {"type": "VARCHAR"}
    request = {"input": {"name": "VARCHAR"}}
    attributes = {
        "taskQueue": {"name": "VARCHAR", "normalName": "VARCHAR"},
        "activityId": "VARCHAR",
        "activityType": {"name": "VARCHAR"},
        "attempt": "VARCHAR",
        "scheduledEventId": "VARCHAR",
        "startedEventId": "VARCHAR",
        "acceptedEventId": "VARCHAR",
        "failure": failure,
        "lastFailure": failure,
        "retryState": "VARCHAR",
        "timerId": "VARCHAR",
        "signalName": "VARCHAR",
        "identity": "VARCHAR",
        "request": request,
        "acceptedRequest": request,
        "rejectedRequest": request,
        "workflowId": "VARCHAR",
        "originalExecutionRunId": "VARCHAR",
        "workflowType": {"name": "VARCHAR"},
        "parentWorkflowExecution": {"workflowId": "VARCHAR", "runId": "VARCHAR"},
        "searchAttributes": "JSON",
    }
    return json.dumps(attributes)


def _build_sql() -> tuple[str, str, str]:
    attribute_structure = _structure()
    known_keys = "[" + ", ".join(_sql_string(k) for k in _attribute_keys()) + "]"

    def failure_type(f: str) -> str:
        infos = [k for k in _failure_info_keys() if k != "applicationFailureInfo"]
        whens = " ".join(f"WHEN {f}.{k} IS NOT NULL THEN '{k[0].upper() + k[1:].removesuffix('Info')}'" for k in infos)
        application = f"WHEN {f}.applicationFailureInfo IS NOT NULL THEN nullif({f}.applicationFailureInfo.type, '')"
        return f"CASE {application} {whens} END"

    def int_field(name: str) -> str:
        return f"TRY_CAST(t.{name} AS BIGINT)"

    def int_ok(name: str) -> str:
        return f"(t.{name} IS NULL OR TRY_CAST(t.{name} AS BIGINT) IS NOT NULL)"

    # 1. Every event of every file, parsed once, with what its own attributes say.
    stage = f"""
CREATE OR REPLACE TEMP TABLE _lens_sql_events AS
WITH docs AS (
    -- one parse per file: an object's events, else a bare list of events; NULL for anything else (not JSON)
    SELECT filename AS file,
        coalesce(try(json_transform(content, '{{"events": ["JSON"]}}').events),
                 try(json_transform(content, '["JSON"]'))) AS events
    FROM read_text($paths)
), files AS (
    SELECT file, events, coalesce(len(events), 0) AS n_events FROM docs
), unnested AS (
    SELECT file, n_events, unnest(events) AS event, unnest(generate_series(1, n_events)) AS pos
    FROM files WHERE n_events > 0
), keyed AS (
    -- an event is an object with eventId, eventTime, eventType and one *EventAttributes object
    SELECT file, n_events, pos, head.eventId AS event_id_text, head.eventTime AS event_time_text,
        head.eventType AS event_type_text,
        list_filter(json_keys(event), lambda k: suffix(k, 'EventAttributes')) AS attr_keys,
        event
    FROM (SELECT *, json_transform(event, '{{"eventId": "VARCHAR", "eventTime": "VARCHAR", "eventType": "VARCHAR"}}')
                    AS head FROM unnested)
), typed AS (
    SELECT file, n_events, pos, event_id_text, event_time_text,
        CASE WHEN len(attr_keys) = 1 THEN json_extract(event, '$."' || attr_keys[1] || '"') END AS attrs,
        attr_keys[1] AS attr_key,
        CASE WHEN attr_keys IS NULL THEN 99
             WHEN len(attr_keys) = 1 AND NOT list_contains({known_keys}, attr_keys[1]) THEN 99
             ELSE len(attr_keys) END AS n_attrs,
        types.camel AS event_type
    FROM keyed LEFT JOIN (VALUES {_values(_event_type_pairs())}) AS types(spelling, camel)
        ON types.spelling = event_type_text
), flat AS (
    SELECT *, json_transform(attrs, '{attribute_structure}') AS t FROM typed
)
SELECT
    file, n_events, pos, attr_key, attrs,
    TRY_CAST(event_id_text AS BIGINT) AS event_id,
    TRY_CAST(event_time_text AS TIMESTAMPTZ) AS event_time,
    event_type,
    coalesce(nullif(t.taskQueue.normalName, ''), nullif(t.taskQueue.name, '')) AS own_queue,
    coalesce(t.activityId, '') AS own_activity_id,
    coalesce(t.activityType.name, '') AS own_activity_type,
    nullif({int_field("attempt")}, 0) AS own_attempt,
    nullif({int_field("scheduledEventId")}, 0) AS scheduled_event_id,
    nullif({int_field("startedEventId")}, 0) AS started_event_id,
    nullif({int_field("acceptedEventId")}, 0) AS accepted_event_id,
    CASE WHEN t.failure IS NOT NULL THEN coalesce(t.failure.message, '')
         WHEN t.lastFailure IS NOT NULL THEN coalesce(t.lastFailure.message, '') END AS failure_message,
    CASE WHEN t.failure IS NOT NULL THEN {failure_type("t.failure")}
         WHEN t.lastFailure IS NOT NULL THEN {failure_type("t.lastFailure")} END AS failure_type,
    nullif(states.short, '') AS retry_state,
    nullif(t.timerId, '') AS timer_id,
    nullif(t.signalName, '') AS signal_name,
    nullif(t.identity, '') AS identity,
    coalesce(nullif(t.request.input.name, ''), nullif(t.acceptedRequest.input.name, ''),
             nullif(t.rejectedRequest.input.name, '')) AS own_update_name,
    nullif(t.acceptedRequest.input.name, '') AS accepted_update_name,
    t.workflowId AS started_workflow_id,
    coalesce(t.originalExecutionRunId, '') AS started_run_id,
    nullif(t.workflowType.name, '') AS workflow_type,
    t.parentWorkflowExecution.workflowId AS parent_workflow_id,
    t.parentWorkflowExecution.runId AS parent_run_id,
    t.searchAttributes AS search_attributes,
    (event_id_text IS NOT NULL AND TRY_CAST(event_id_text AS BIGINT) IS NOT NULL
        AND (event_time_text IS NULL OR TRY_CAST(event_time_text AS TIMESTAMPTZ) IS NOT NULL)
        AND event_type IS NOT NULL AND n_attrs <= 1
        AND (attrs IS NULL OR json_type(attrs) = 'OBJECT')
        AND {int_ok("attempt")} AND {int_ok("scheduledEventId")} AND {int_ok("startedEventId")}
        AND {int_ok("acceptedEventId")}
        AND (t.retryState IS NULL OR states.short IS NOT NULL)) AS event_ok
FROM flat LEFT JOIN (VALUES {_values(_retry_state_pairs())}) AS states(spelling, short)
    ON states.spelling = t.retryState
"""
    # 2. Which files the SQL reader vouches for, with the run they hold. Files absent from here had no events.
    files = f"""
CREATE OR REPLACE TEMP TABLE _lens_sql_files AS
SELECT
    file,
    bool_and(event_ok) AND count(DISTINCT event_id) = count(*)
        AND bool_or(pos = 1 AND attr_key = '{_STARTED_KEY}')
        AND coalesce(nullif($workflow_id, ''), max(started_workflow_id) FILTER (WHERE pos = 1), '') <> '' AS ok,
    coalesce(nullif($workflow_id, ''), max(started_workflow_id) FILTER (WHERE pos = 1)) AS workflow_id,
    coalesce(nullif($run_id, ''), max(started_run_id) FILTER (WHERE pos = 1)) AS run_id,
    max(n_events) AS n_events
FROM _lens_sql_events GROUP BY file
"""
    # 3. The history_events rows of the good files, close events filled from the events they point at.
    rows = f"""
SELECT
    e.file AS _file, $namespace AS namespace, f.workflow_id, f.run_id, e.event_id, e.event_time, e.event_type,
    CASE WHEN s.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' OR s.attr_key = '{_WORKFLOW_TASK_SCHEDULED_KEY}'
         THEN coalesce(e.own_queue, s.own_queue) ELSE e.own_queue END AS task_queue,
    CASE WHEN s.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' THEN s.own_activity_id
         WHEN e.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' THEN e.own_activity_id END AS activity_id,
    CASE WHEN s.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' THEN s.own_activity_type
         WHEN e.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' THEN e.own_activity_type END AS activity_type,
    CAST(CASE WHEN s.attr_key = '{_ACTIVITY_SCHEDULED_KEY}' AND st.attr_key = '{_ACTIVITY_STARTED_KEY}'
              THEN coalesce(e.own_attempt, st.own_attempt)
              WHEN s.attr_key = '{_WORKFLOW_TASK_SCHEDULED_KEY}' THEN coalesce(e.own_attempt, s.own_attempt)
              ELSE e.own_attempt END AS INTEGER) AS attempt,
    e.scheduled_event_id, e.started_event_id, e.failure_message, e.failure_type, e.retry_state,
    e.timer_id, e.signal_name,
    coalesce(e.own_update_name, CASE WHEN a.attr_key = '{_UPDATE_ACCEPTED_KEY}' THEN a.accepted_update_name END)
        AS update_name,
    e.identity,
    CAST(e.attrs AS VARCHAR) AS attributes
FROM _lens_sql_events e
JOIN _lens_sql_files f ON f.file = e.file AND f.ok
LEFT JOIN _lens_sql_events s ON s.file = e.file AND s.event_id = e.scheduled_event_id
LEFT JOIN _lens_sql_events st ON st.file = e.file AND st.event_id = e.started_event_id
LEFT JOIN _lens_sql_events a ON a.file = e.file AND a.event_id = e.accepted_event_id
"""
    return stage, files, rows


_STAGE_SQL, _FILES_SQL, _ROWS_SQL = _build_sql()

_RUNS_SQL = f"""
SELECT f.file, f.workflow_id, f.run_id, f.n_events,
    first.workflow_type, first.own_queue, first.event_time, first.parent_workflow_id, first.parent_run_id,
    last.event_type, last.event_time,
    list(CAST(sa.search_attributes AS VARCHAR) ORDER BY sa.pos) FILTER (WHERE sa.search_attributes IS NOT NULL),
    list(sa.attr_key = '{_STARTED_KEY}' ORDER BY sa.pos) FILTER (WHERE sa.search_attributes IS NOT NULL)
FROM _lens_sql_files f
JOIN _lens_sql_events first ON first.file = f.file AND first.pos = 1
JOIN _lens_sql_events last ON last.file = f.file AND last.pos = f.n_events
LEFT JOIN _lens_sql_events sa ON sa.file = f.file AND sa.attr_key IN ('{_STARTED_KEY}', '{_UPSERT_KEY}')
WHERE f.ok
GROUP BY ALL
"""


@dataclass(frozen=True)
class SqlRun:
    """One history the SQL reader loaded: enough for its `workflows` row (see `history_model.workflow_row`)."""

    path: Path
    workflow_id: str
    run_id: str
    history_length: int
    workflow_type: str | None
    task_queue: str | None
    start_time: Any
    parent_workflow_id: str | None
    parent_run_id: str | None
    last_event_type: str | None
    last_event_time: Any
    # The searchAttributes objects of the started and upsert events, in history order, and which is the started one.
    search_attributes: tuple[tuple[bool, str], ...]

    @property
    def status(self) -> str:
        return RUN_CLOSE_STATUS.get(self.last_event_type or "", "RUNNING")

    @property
    def close_time(self) -> Any:
        return self.last_event_time if self.last_event_type in RUN_CLOSE_STATUS else None


@dataclass(frozen=True)
class SqlBatch:
    """`events`: the history_events rows of every file in `runs`, with `_file` (the path as a string) first;
    `rejected`: files to read the protobuf way."""

    events: pa.Table
    runs: tuple[SqlRun, ...]
    rejected: tuple[Path, ...]


def sql_readable(path: Path) -> bool:
    """Whether the SQL reader may try this path at all (an existing plain file, not read as a glob pattern)."""
    return path.is_file() and not (_GLOB_CHARS & set(str(path)))


def read_history_batch(
    conn: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    *,
    namespace: str,
    workflow_id: str | None = None,
    run_id: str | None = None,
) -> SqlBatch:
    """Read and flatten `paths` in one pass of SQL on a cursor of `conn`; writes nothing to the database.

    Raises:
        duckdb.Error: the batch could not be read as a whole (a file vanished, an unreadable file, ...); the caller
            may retry the files one by one.
    """
    if not paths:
        columns = ("_file", *HISTORY_EVENTS.columns)
        return SqlBatch(pa.table({name: pa.array([], pa.string()) for name in columns}), (), ())
    by_name = {str(path): path for path in paths}
    cursor = conn.cursor()
    try:
        cursor.execute(_STAGE_SQL, {"paths": list(by_name)})
        cursor.execute(_FILES_SQL, {"workflow_id": workflow_id or "", "run_id": run_id or ""})
        events = cursor.sql(_ROWS_SQL, params={"namespace": namespace}).to_arrow_table()
        found = cursor.execute(_RUNS_SQL).fetchall()
        cursor.execute("DROP TABLE IF EXISTS _lens_sql_events; DROP TABLE IF EXISTS _lens_sql_files")
    finally:
        cursor.close()
    runs = tuple(
        SqlRun(
            path=by_name[file],
            workflow_id=wid,
            run_id=rid,
            history_length=length,
            workflow_type=wtype,
            task_queue=queue,
            start_time=start,
            parent_workflow_id=parent_wid,
            parent_run_id=parent_rid,
            last_event_type=last_type,
            last_event_time=last_time,
            search_attributes=tuple(zip(started or [], attrs or [], strict=True)),
        )
        for (
            file,
            wid,
            rid,
            length,
            wtype,
            queue,
            start,
            parent_wid,
            parent_rid,
            last_type,
            last_time,
            attrs,
            started,
        ) in (found)
    )
    loaded = {run.path for run in runs}
    rejected = tuple(path for path in paths if path not in loaded)
    return SqlBatch(events.select(["_file", *HISTORY_EVENTS.columns]), runs, rejected)
