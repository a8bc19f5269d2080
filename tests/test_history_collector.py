from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
    from temporalio.worker import Worker

    from temporal_lens.collectors import (
        BatchWriter,
        HistoryFileError,
        collect_histories,
        flatten_history,
        load_history_json,
        open_database,
    )
    from tests.history_compare import decoded_rows, parsed_rows


@activity.defn
async def charge_card(customer: str) -> str:
    if activity.info().attempt == 1:
        raise ApplicationError("card declined", type="CardDeclined")
    return f"charged {customer}"


@workflow.defn
class ChargeWorkflow:
    @workflow.run
    async def run(self, customer: str) -> str:
        return await workflow.execute_activity(
            charge_card,
            customer,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        )


async def run_charges(client: Client, task_queue: str, customers: list[str]) -> list[WorkflowHandle]:
    """Run one ChargeWorkflow per customer to completion, then wait until visibility lists them closed."""
    async with Worker(client, task_queue=task_queue, workflows=[ChargeWorkflow], activities=[charge_card]):
        handles = [
            await client.start_workflow(
                ChargeWorkflow.run, customer, id=f"charge-{customer}-{task_queue}", task_queue=task_queue
            )
            for customer in customers
        ]
        results = await asyncio.gather(*(handle.result() for handle in handles))
    assert results == [f"charged {customer}" for customer in customers]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = [execution async for execution in client.list_workflows(f'TaskQueue = "{task_queue}"')]
        if len(listed) == len(customers) and all(e.status == WorkflowExecutionStatus.COMPLETED for e in listed):
            return handles
        await asyncio.sleep(0.2)
    raise AssertionError("visibility did not list the finished workflows in time")


def history_dicts(conn, run_id: str) -> list[dict]:
    cursor = conn.execute("SELECT * FROM history_events WHERE run_id = ? ORDER BY event_id", [run_id])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.server
async def test_flattened_history_keeps_retry_story(client, task_queue) -> None:
    [handle] = await run_charges(client, task_queue, ["ann"])
    history = await handle.fetch_history()

    rows = flatten_history(history, namespace=client.namespace).to_pylist()

    assert [row["event_type"] for row in rows] == [
        "WorkflowExecutionStarted",
        "WorkflowTaskScheduled",
        "WorkflowTaskStarted",
        "WorkflowTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "WorkflowTaskScheduled",
        "WorkflowTaskStarted",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]
    by_type = {row["event_type"]: row for row in rows}
    started = by_type["ActivityTaskStarted"]
    assert (started["activity_id"], started["activity_type"], started["attempt"]) == ("1", "charge_card", 2)
    # History keeps only the final attempt; the first attempt's error survives as its last failure.
    assert (started["failure_message"], started["failure_type"]) == ("card declined", "CardDeclined")
    assert started["task_queue"] == task_queue
    assert started["scheduled_event_id"] == by_type["ActivityTaskScheduled"]["event_id"]
    completed = by_type["ActivityTaskCompleted"]
    assert (completed["activity_type"], completed["attempt"]) == ("charge_card", 2)
    assert completed["started_event_id"] == started["event_id"]
    assert all(row["task_queue"] == task_queue for row in rows if row["event_type"].startswith("WorkflowTask"))
    assert all(row["run_id"] == handle.result_run_id for row in rows)
    assert rows[0]["event_time"].utcoffset() == timedelta(0)

    scheduled_input = json.loads(by_type["ActivityTaskScheduled"]["attributes"])["input"]["payloads"][0]
    assert scheduled_input == {"metadata": {"encoding": "json/plain"}, "data": "ann"}
    result = json.loads(completed["attributes"])["result"]["payloads"][0]["data"]
    assert result == "charged ann"


@pytest.mark.server
async def test_collect_histories_twice_stores_each_run_once(client, task_queue, tmp_path) -> None:
    handles = await run_charges(client, task_queue, ["bob", "cy", "dee"])
    conn = open_database(tmp_path / "lens.duckdb")
    writer = BatchWriter(conn)
    query = f'TaskQueue = "{task_queue}"'

    first = await collect_histories(client, writer, query=query, concurrency=2, runs_per_batch=2)
    counts = conn.execute("SELECT (SELECT count(*) FROM history_events), (SELECT count(*) FROM workflows)").fetchone()
    second = await collect_histories(client, writer, query=query, concurrency=2, runs_per_batch=2)

    assert (first.runs, first.events, first.missing) == (3, 33, 0)
    assert second == first
    assert counts == (33, 3)
    assert conn.execute("SELECT count(*) FROM history_events").fetchone()[0] == 33
    assert conn.execute("SELECT count(*) FROM workflows").fetchone()[0] == 3

    bob = handles[0]
    row = conn.execute(
        "SELECT workflow_type, status, task_queue, history_length, parent_workflow_id, start_time < close_time,"
        " json_type(search_attributes) FROM workflows WHERE workflow_id = ? AND run_id = ?",
        [bob.id, bob.result_run_id],
    ).fetchone()
    assert row == ("ChargeWorkflow", "COMPLETED", task_queue, 11, None, True, "OBJECT")
    retried = conn.execute(
        "SELECT workflow_id, attempt, failure_message FROM history_events"
        " WHERE event_type = 'ActivityTaskStarted' ORDER BY workflow_id"
    ).fetchall()
    assert retried == [(handle.id, 2, "card declined") for handle in sorted(handles, key=lambda h: h.id)]


@pytest.mark.server
async def test_json_export_loads_same_rows_as_live(client, task_queue, tmp_path) -> None:
    [handle] = await run_charges(client, task_queue, ["eve"])
    live = open_database(tmp_path / "live.duckdb")
    await collect_histories(client, BatchWriter(live), query=f'TaskQueue = "{task_queue}"')
    exported = tmp_path / "eve.json"
    exported.write_text((await handle.fetch_history()).to_json())

    loaded = open_database(tmp_path / "loaded.duckdb")
    result = load_history_json(BatchWriter(loaded), exported, namespace=client.namespace)
    load_history_json(BatchWriter(loaded), exported, namespace=client.namespace)

    assert (result.runs, result.events) == (1, 11)
    # The same rows, but for payloads inside `attributes`: the file loader keeps them base64 as in the file.
    assert decoded_rows(history_dicts(loaded, handle.result_run_id)) == parsed_rows(
        history_dicts(live, handle.result_run_id)
    )
    columns = "workflow_id, run_id, workflow_type, status, start_time, close_time, task_queue, history_length"
    assert (
        loaded.execute(f"SELECT {columns} FROM workflows").fetchall()
        == live.execute(f"SELECT {columns} FROM workflows").fetchall()
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXEC', "not valid JSON"),
        ('{"orders": [1, 2, 3]}', "not a workflow history"),
        ('{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_FIRED"}]}', "first event is TimerFired"),
        ('{"events": []}', "no events"),
    ],
)
def test_bad_history_file_is_named_in_the_error(tmp_path, content, problem) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    writer = BatchWriter(open_database(tmp_path / "lens.duckdb"))

    with pytest.raises(HistoryFileError, match=re.escape(str(path)) + ".*" + problem):
        load_history_json(writer, path)
