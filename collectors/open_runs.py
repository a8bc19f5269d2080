"""Open runs observed in place: DescribeWorkflowExecution's pending activities, the state history does not hold yet.

History writes an activity's `ActivityTaskStarted` (with its attempt and last failure) only when the activity
closes, so a run stuck retrying shows nothing of it in history; Describe does. Each observation replaces the
namespace's earlier one (the table is "open now", not a log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from temporal_lens.collectors.db import BatchWriter, Part

PENDING_ACTIVITIES = "pending_activities"

PENDING_ACTIVITIES_DDL = """
CREATE TABLE IF NOT EXISTS pending_activities (
    namespace            VARCHAR NOT NULL,
    workflow_id          VARCHAR NOT NULL,
    run_id               VARCHAR NOT NULL,
    workflow_type        VARCHAR,
    task_queue           VARCHAR,
    activity_id          VARCHAR NOT NULL,
    activity_type        VARCHAR,
    state                VARCHAR,
    attempt              INTEGER,
    maximum_attempts     INTEGER,
    scheduled_time       TIMESTAMPTZ,
    last_started_time    TIMESTAMPTZ,
    last_heartbeat_time  TIMESTAMPTZ,
    heartbeat_timeout_s  DOUBLE,
    last_failure_message VARCHAR,
    last_failure_type    VARCHAR,
    last_worker_identity VARCHAR,
    observed_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id, activity_id)
)
"""
"""One row per pending activity of a run open when observed. Lives here, next to its only writer."""

_SCHEMA = pa.schema([
    ("namespace", pa.string()), ("workflow_id", pa.string()), ("run_id", pa.string()),
    ("workflow_type", pa.string()), ("task_queue", pa.string()), ("activity_id", pa.string()),
    ("activity_type", pa.string()), ("state", pa.string()), ("attempt", pa.int32()),
    ("maximum_attempts", pa.int32()), ("scheduled_time", pa.timestamp("us", tz="UTC")),
    ("last_started_time", pa.timestamp("us", tz="UTC")), ("last_heartbeat_time", pa.timestamp("us", tz="UTC")),
    ("heartbeat_timeout_s", pa.float64()), ("last_failure_message", pa.string()),
    ("last_failure_type", pa.string()), ("last_worker_identity", pa.string()),
    ("observed_at", pa.timestamp("us", tz="UTC")),
])


@dataclass(frozen=True)
class OpenRunsResult:
    """Runs described, pending activities stored, runs that closed or vanished between listing and describing."""

    runs: int
    pending_activities: int
    gone: int


def ensure_pending_activities(conn: Any) -> None:
    """Create the table if this database has never observed open runs (readers query it either way)."""
    conn.execute(PENDING_ACTIVITIES_DDL)


async def observe_open_runs(
    client: Client,
    writer: BatchWriter,
    *,
    query: str | None = None,
    concurrency: int = 8,
    progress: Callable[[int], None] | None = None,
) -> OpenRunsResult:
    """Describe every run open now (within `query`) and store its pending activities, replacing the last observation.

    Args:
        progress: called with the number of runs described so far.
    """
    await asyncio.to_thread(ensure_pending_activities, writer.connection)
    open_query = "ExecutionStatus = 'Running'" + (f" AND ({query})" if query else "")
    observed_at = datetime.now(UTC)
    semaphore = asyncio.Semaphore(concurrency)
    rows: list[dict[str, Any]] = []
    described = gone = 0

    async def describe(execution: WorkflowExecution) -> None:
        nonlocal described, gone
        try:
            description = await client.get_workflow_handle(execution.id, run_id=execution.run_id).describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            gone += 1
            return
        finally:
            semaphore.release()
        described += 1
        for info in description.raw_description.pending_activities:
            rows.append(_pending_row(client.namespace, execution, info, observed_at))
        if progress is not None:
            progress(described)

    # At most `concurrency` tasks exist at once: the listing waits for a slot before making the next.
    in_flight: set[asyncio.Task[None]] = set()
    try:
        async for execution in client.list_workflows(open_query):
            await semaphore.acquire()
            in_flight.add(asyncio.create_task(describe(execution)))
            for done in [task for task in in_flight if task.done()]:
                in_flight.discard(done)
                done.result()  # a failed Describe fails the observation here, not silently
        await asyncio.gather(*in_flight)
    finally:
        for task in in_flight:
            task.cancel()
    table = pa.Table.from_pylist(rows, schema=_SCHEMA)
    # One transaction: the earlier observation is replaced whole or not at all.
    await asyncio.to_thread(
        writer.insert_together,
        [Part(PENDING_ACTIVITIES, table, replace_where=("namespace = ?", [client.namespace]))],
    )
    return OpenRunsResult(runs=described, pending_activities=len(rows), gone=gone)


def _pending_row(
    namespace: str, execution: WorkflowExecution, info: PendingActivityInfo, observed_at: datetime
) -> dict[str, Any]:
    failure = info.last_failure if info.HasField("last_failure") else None
    options = info.activity_options if info.HasField("activity_options") else None
    heartbeat = options.heartbeat_timeout if options is not None and options.HasField("heartbeat_timeout") else None
    return {
        "namespace": namespace,
        "workflow_id": execution.id,
        "run_id": execution.run_id,
        "workflow_type": execution.workflow_type,
        "task_queue": execution.task_queue,
        "activity_id": info.activity_id,
        "activity_type": info.activity_type.name or None,
        "state": PendingActivityState.Name(info.state).removeprefix("PENDING_ACTIVITY_STATE_"),
        "attempt": info.attempt,
        "maximum_attempts": info.maximum_attempts,
        "scheduled_time": _time(info, "scheduled_time"),
        "last_started_time": _time(info, "last_started_time"),
        "last_heartbeat_time": _time(info, "last_heartbeat_time"),
        "heartbeat_timeout_s": heartbeat.ToTimedelta().total_seconds() if heartbeat is not None else None,
        "last_failure_message": failure.message if failure is not None else None,
        "last_failure_type": _failure_type(failure),
        "last_worker_identity": info.last_worker_identity or None,
        "observed_at": observed_at,
    }


def _time(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=UTC) if message.HasField(name) else None


def _failure_type(failure: Any) -> str | None:
    if failure is None:
        return None
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "ApplicationError"
    if failure.HasField("timeout_failure_info"):
        return "TimeoutFailure"
    return failure.WhichOneof("failure_info")
