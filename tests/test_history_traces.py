"""Spans synthesized from history alone: a retried activity, a timer and a signal on a real dev server."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client, WorkflowExecutionStatus
    from temporalio.worker import Worker

    from temporal_lens.collectors import (
        BatchWriter,
        collect_histories,
        export_jaeger,
        load_jaeger_file,
        open_database,
        synthesize_history_spans,
    )
    from temporal_lens.ids import workflow_trace_id


@activity.defn
async def reserve_stock(sku: str) -> str:
    if activity.info().attempt == 1:
        raise ApplicationError("warehouse busy", type="WarehouseBusy")
    return f"reserved {sku}"


@workflow.defn
class ReserveWorkflow:
    def __init__(self) -> None:
        self.confirmed = False

    @workflow.run
    async def run(self, sku: str) -> str:
        reserved = await workflow.execute_activity(
            reserve_stock,
            sku,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        )
        await asyncio.sleep(0.1)  # a durable timer
        await workflow.wait_condition(lambda: self.confirmed)
        return reserved

    @workflow.signal
    def confirm(self) -> None:
        self.confirmed = True


def span_tree(rows: list[dict]) -> list[str]:
    """Indented span names, each followed by its events (`@name`), children ordered by start time."""
    children: dict[str | None, list[dict]] = {}
    ids = {row["span_id"] for row in rows}
    for row in rows:
        parent = row["parent_span_id"] if row["parent_span_id"] in ids else None
        children.setdefault(parent, []).append(row)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: (r["start_time"], r["name"])):
            status = f" [{row['status_code']}]" if row["status_code"] != "UNSET" else ""
            attempt = f" attempt={row['attempt']}" if row["attempt"] is not None else ""
            lines.append("  " * depth + row["name"] + attempt + status)
            lines.extend("  " * (depth + 1) + "@" + event["name"] for event in json.loads(row["events"]))
            walk(row["span_id"], depth + 1)

    walk(None, 0)
    return lines


def span_rows(conn, where: str = "TRUE", params: list | None = None) -> list[dict]:
    result = conn.execute(f"SELECT * FROM spans WHERE {where} ORDER BY span_id", params or [])
    names = [c[0] for c in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


async def run_reservation(client: Client, task_queue: str) -> tuple[str, str]:
    async with Worker(client, task_queue=task_queue, workflows=[ReserveWorkflow], activities=[reserve_stock]):
        handle = await client.start_workflow(
            ReserveWorkflow.run, "sku-1", id=f"reserve-{task_queue}", task_queue=task_queue
        )
        await handle.signal(ReserveWorkflow.confirm)
        assert await handle.result() == "reserved sku-1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = [e async for e in client.list_workflows(f'TaskQueue = "{task_queue}"')]
        if listed and all(e.status == WorkflowExecutionStatus.COMPLETED for e in listed):
            return handle.id, handle.result_run_id
        await asyncio.sleep(0.2)
    raise AssertionError("visibility did not list the finished workflow in time")


@pytest.mark.server
async def test_history_spans_tell_the_run_story(client, task_queue, tmp_path) -> None:
    workflow_id, run_id = await run_reservation(client, task_queue)
    conn = open_database(tmp_path / "lens.duckdb")
    await collect_histories(client, BatchWriter(conn), query=f'TaskQueue = "{task_queue}"')

    written = synthesize_history_spans(conn)
    again = synthesize_history_spans(BatchWriter(conn), where=("workflow_id = ?", [workflow_id]))

    rows = span_rows(conn, "source = 'history'")
    assert written == again == len(rows) == 4
    assert span_tree(rows) == [
        "RunWorkflow:ReserveWorkflow",
        "  @signal:confirm",
        "  QueueWait:reserve_stock attempt=2",
        "  RunActivity:reserve_stock attempt=2",
        "    @retry",
        "  Timer:1",
    ]
    assert {row["trace_id"] for row in rows} == {format(workflow_trace_id(workflow_id, run_id), "032x")}
    by_name = {row["name"].split(":")[0]: row for row in rows}
    run_activity = json.loads(by_name["RunActivity"]["attributes"])
    assert run_activity["temporal.activity_type"] == "reserve_stock"
    assert run_activity["temporal.outcome"] == "COMPLETED"
    started_event = conn.execute(
        "SELECT event_id FROM history_events WHERE run_id = ? AND event_type = 'ActivityTaskStarted'", [run_id]
    ).fetchall()[0][0]
    assert run_activity["temporal.event_id"] == started_event
    [retry] = json.loads(by_name["RunActivity"]["events"])
    assert retry["attributes"]["exception.message"] == "warehouse busy"
    assert json.loads(by_name["Timer"]["attributes"])["temporal.outcome"] == "FIRED"
    root = json.loads(by_name["RunWorkflow"]["attributes"])
    assert (root["temporal.event_id"], root["temporal.task_queue"], root["temporal.outcome"]) == (
        1, task_queue, "COMPLETED")
    assert all(row["start_time"] <= row["end_time"] for row in rows)

    [path] = export_jaeger(conn, tmp_path / "jaeger", workflow_id=workflow_id)
    loaded = open_database(tmp_path / "loaded.duckdb")
    assert load_jaeger_file(BatchWriter(loaded), path) == 4
    assert span_tree(span_rows(loaded)) == span_tree(rows)


def test_failed_activity_becomes_an_error_span(tmp_path) -> None:
    """A run whose activity timed out and whose workflow failed: ERROR status and exception events."""
    conn = open_database(tmp_path / "lens.duckdb")
    started = '{"workflowType": {"name": "Ship"}, "taskQueue": {"name": "shipping"}, "attempt": 1}'
    conn.execute(
        """INSERT INTO history_events (namespace, workflow_id, run_id, event_id, event_time, event_type, task_queue,
               activity_id, activity_type, attempt, scheduled_event_id, started_event_id, failure_message,
               failure_type, attributes) VALUES
           ('default', 'ship-1', 'r1', 1, '2026-01-01 00:00:00+00', 'WorkflowExecutionStarted', 'shipping',
            NULL, NULL, 1, NULL, NULL, NULL, NULL, ?),
           ('default', 'ship-1', 'r1', 5, '2026-01-01 00:00:01+00', 'ActivityTaskScheduled', 'shipping',
            '1', 'book_courier', NULL, NULL, NULL, NULL, NULL, '{}'),
           ('default', 'ship-1', 'r1', 6, '2026-01-01 00:00:02+00', 'ActivityTaskStarted', 'shipping',
            '1', 'book_courier', 1, 5, NULL, NULL, NULL, '{}'),
           ('default', 'ship-1', 'r1', 7, '2026-01-01 00:00:12+00', 'ActivityTaskTimedOut', 'shipping',
            '1', 'book_courier', 1, 5, 6, 'activity StartToClose timeout', 'TimeoutFailure', '{}'),
           ('default', 'ship-1', 'r1', 8, '2026-01-01 00:00:13+00', 'WorkflowTaskFailed', 'shipping',
            NULL, NULL, NULL, NULL, NULL, 'nondeterminism', 'ApplicationError', '{}'),
           ('default', 'ship-1', 'r1', 11, '2026-01-01 00:00:14+00', 'WorkflowExecutionFailed', 'shipping',
            NULL, NULL, NULL, NULL, NULL, 'courier unavailable', 'ApplicationError', '{}')""",
        [started],
    )

    assert synthesize_history_spans(conn) == 3
    rows = span_rows(conn)
    assert span_tree(rows) == [
        "RunWorkflow:Ship [ERROR]",
        "  @workflow_task.failed",
        "  @exception",
        "  QueueWait:book_courier attempt=1",
        "  RunActivity:book_courier attempt=1 [ERROR]",
        "    @exception",
    ]
    failed = next(row for row in rows if row["name"].startswith("RunActivity"))
    assert failed["status_message"] == "activity StartToClose timeout"
    assert json.loads(failed["events"])[0]["attributes"]["exception.type"] == "TimeoutFailure"
    assert failed["duration_ms"] == 10_000


def test_workflow_span_ids_are_the_hash_of_run_and_sequence() -> None:
    """Interceptors and this collector must agree on a run's span ids, whichever way they compute them."""
    from temporal_lens.ids import _digest_int, workflow_span_id

    for run_id in ("run-a", "0195c8a2-7f1e-7a4b-9d1c-2f3e4a5b6c7d", ""):
        for sequence in (0, 1, 2, 17, 10_000):
            assert workflow_span_id(run_id, sequence) == _digest_int(64, "span", run_id, sequence)
    assert workflow_span_id("run-a", 1) != workflow_span_id("run-a", 2) != workflow_span_id("run-b", 2)
