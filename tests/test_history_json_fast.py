"""The DuckDB fast path for history JSON files gives the rows the protobuf path gives, on real histories."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from temporal_lens.collectors import (
    BatchWriter,
    event_type_name,
    flatten_history,
    load_history_files,
    load_history_json,
    open_database,
    workflow_row,
)
from temporal_lens.collectors.history_json_sql import read_history_batch
from tests.collector_inputs import history_json
from tests.history_compare import decoded_rows, parsed_rows


@activity.defn
async def flaky(n: int) -> str:
    if activity.info().attempt < 3:
        raise ApplicationError(f"flaky attempt {activity.info().attempt}", type="Flaky")
    return f"ok {n}"


@activity.defn
async def doomed() -> None:
    raise ApplicationError("never works", type="Doomed", non_retryable=True)


@activity.defn
async def slow() -> None:
    await asyncio.sleep(3)


@workflow.defn(sandboxed=False)
class Child:
    @workflow.run
    async def run(self, fail: bool) -> str:
        if fail:
            raise ApplicationError("child broke", type="ChildBroke")
        return "child ok"


@workflow.defn(sandboxed=False)
class Everything:
    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.run
    async def run(self, fail: bool) -> list[str]:
        once = RetryPolicy(maximum_attempts=1)
        await workflow.execute_activity(
            flaky,
            1,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=5),
        )
        await workflow.sleep(timedelta(milliseconds=100))
        await workflow.wait_condition(lambda: "go" in self.notes)
        await workflow.execute_child_workflow(Child.run, False, id=f"{workflow.info().workflow_id}-child")
        try:
            await workflow.execute_activity(doomed, start_to_close_timeout=timedelta(seconds=10))
        except ActivityError:
            self.notes.append("doomed failed")
        try:
            await workflow.execute_activity(slow, start_to_close_timeout=timedelta(milliseconds=300), retry_policy=once)
        except ActivityError:
            self.notes.append("slow timed out")
        try:
            await workflow.execute_child_workflow(
                Child.run, True, id=f"{workflow.info().workflow_id}-child-fail", retry_policy=once
            )
        except ChildWorkflowError:
            self.notes.append("child failed")
        if fail:
            raise ApplicationError("parent gave up", type="ParentGaveUp")
        return self.notes

    @workflow.signal
    def release(self, note: str) -> None:
        self.notes.append(note)

    @workflow.update
    def add_note(self, note: str) -> int:
        self.notes.append(note)
        return len(self.notes)


async def _record(client: Client, task_queue: str) -> list[WorkflowHistory]:
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Everything, Child],
        activities=[flaky, doomed, slow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handles = [
            await client.start_workflow(Everything.run, fail, id=f"everything-{uuid.uuid4()}", task_queue=task_queue)
            for fail in (False, True)
        ]
        for handle in handles:
            assert await handle.execute_update(Everything.add_note, "noted") == 1
            await handle.signal(Everything.release, "go")
        assert await handles[0].result() == ["noted", "go", "doomed failed", "slow timed out", "child failed"]
        try:
            await handles[1].result()
        except WorkflowFailureError:
            pass
        else:
            raise AssertionError("the second run should fail")
        return [await handle.fetch_history() for handle in handles]


def _db_rows(conn, table: str, order: str) -> list[dict]:
    cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _ui_style(history: WorkflowHistory) -> str:
    """The Web UI's older download: PascalCase event types, and a bare list of events."""
    events = json.loads(history.to_json())["events"]
    for event in events:
        event["eventType"] = event_type_name_of(event["eventType"])
    return json.dumps(events, indent=2)


def event_type_name_of(enum_name: str) -> str:
    return "".join(word.capitalize() for word in enum_name.removeprefix("EVENT_TYPE_").split("_"))


@pytest.mark.server
async def test_fast_path_gives_the_protobuf_rows_on_real_histories(client: Client, task_queue: str, tmp_path) -> None:
    histories = await _record(client, task_queue)
    folder = tmp_path / "exports"
    folder.mkdir()
    for n, history in enumerate(histories):
        (folder / f"run-{n}.json").write_text(history.to_json())
    ui_folder = tmp_path / "ui"
    ui_folder.mkdir()
    for n, history in enumerate(histories):
        (ui_folder / f"run-{n}.json").write_text(_ui_style(history))

    expected_events = []
    expected_workflows = []
    for history in histories:
        expected_events += flatten_history(history, namespace="default").to_pylist()
        expected_workflows.append(workflow_row(history, namespace="default"))
    expected_events.sort(key=lambda row: (row["workflow_id"], row["event_id"]))
    expected_workflows.sort(key=lambda row: row["workflow_id"])
    types = {row["event_type"] for row in expected_events}
    assert {
        "ActivityTaskFailed",
        "ActivityTaskTimedOut",
        "TimerFired",
        "WorkflowExecutionSignaled",
        "WorkflowExecutionUpdateAccepted",
        "WorkflowExecutionUpdateCompleted",
        "StartChildWorkflowExecutionInitiated",
        "ChildWorkflowExecutionCompleted",
        "ChildWorkflowExecutionFailed",
        "WorkflowExecutionFailed",
    } <= types
    assert any(row["attempt"] == 3 and row["failure_message"] == "flaky attempt 2" for row in expected_events)

    for source in (folder, ui_folder):
        conn = open_database(tmp_path / f"{source.name}.duckdb")
        result = load_history_files(BatchWriter(conn), [source])
        assert (result.runs, result.events, result.errors) == (2, len(expected_events), ())
        events = _db_rows(conn, "history_events", "workflow_id, event_id")
        assert decoded_rows(events) == parsed_rows(expected_events)
        assert _db_rows(conn, "workflows", "workflow_id") == expected_workflows
        conn.close()

    # The rows came from the fast path, not from the protobuf fallback.
    conn = open_database(tmp_path / "direct.duckdb")
    batch = read_history_batch(conn, sorted(folder.iterdir()), namespace="default")
    assert (batch.rejected, batch.events.num_rows) == ((), len(expected_events))
    conn.close()


def test_fast_path_resolves_close_events_and_types(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(history_json("order-1", "run-1", activities=2))
    conn = open_database(tmp_path / "lens.duckdb")
    result = load_history_json(BatchWriter(conn), path)
    rows = conn.execute(
        "SELECT event_id, event_type, activity_id, activity_type, task_queue, attempt FROM history_events"
        " ORDER BY event_id"
    ).fetchall()
    assert result.events == 8
    assert rows[4:7] == [
        (5, "ActivityTaskScheduled", "2", "charge", "orders", None),
        (6, "ActivityTaskStarted", "2", "charge", "orders", 1),
        (7, "ActivityTaskCompleted", "2", "charge", "orders", 1),
    ]
    assert event_type_name(1) == rows[0][1]
    conn.close()


def test_batch_that_duckdb_cannot_read_falls_back_file_by_file(tmp_path: Path) -> None:
    folder = tmp_path / "histories"
    folder.mkdir()
    (folder / "a.json").write_text(history_json("order-a", "run-a"))
    (folder / "b-latin1.json").write_bytes(b'{"events": "\xff\xfe"}')  # not UTF-8: DuckDB refuses the whole batch
    (folder / "c.json").write_text(history_json("order-c", "run-c", activities=3))
    (folder / "d-empty.json").write_text('{"events": []}')
    conn = open_database(tmp_path / "lens.duckdb")

    result = load_history_files(BatchWriter(conn), [folder, tmp_path / "missing.json"], runs_per_batch=10)

    assert (result.runs, result.events) == (2, 5 + 11)
    assert [error.split(": ", 1)[1].split(" (")[0] for error in result.errors] == [
        "not valid JSON",
        "not a workflow history",
        "No such file or directory",
    ]
    assert result.errors[0].startswith(str(folder / "b-latin1.json"))
    assert conn.execute("SELECT workflow_id, count(*) FROM history_events GROUP BY 1 ORDER BY 1").fetchall() == [
        ("order-a", 5),
        ("order-c", 11),
    ]
    conn.close()
