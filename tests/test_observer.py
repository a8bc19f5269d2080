"""The observer asks a real dev server: answers stored with their times, a worker that is down gives a bounded,
unanswered query, a deleted run is 'not found' and gone from Visibility; the search attributes are registered or the
study stops naming them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from temporal_lens.observer import (
    CLOSED,
    DESCRIBE,
    FINAL,
    LIST,
    NOT_FOUND,
    OPEN,
    QUERY,
    TIMED_OUT,
    Observer,
    ObserverSettings,
)
from temporal_lens.sample_app.model import ORDER_SEARCH_ATTRIBUTES
from temporal_lens.search_attributes import SearchAttributeError, ensure_search_attributes
from temporal_lens.stack import DevServer, free_port
from tests.interceptor_app.workflows import InteractiveWorkflow, noop

pytestmark = pytest.mark.server

BOUND_S = 1.0


async def test_the_orders_search_attributes_are_registered_once_with_their_types(client: Client) -> None:
    await ensure_search_attributes(client, ORDER_SEARCH_ATTRIBUTES)
    assert await ensure_search_attributes(client, ORDER_SEARCH_ATTRIBUTES) == []  # already there: nothing added
    with pytest.raises(SearchAttributeError, match="missing"):
        await ensure_search_attributes(client, [SearchAttributeKey.for_keyword(f"Lens{uuid.uuid4().hex[:8]}")],
                                       register=False)


async def test_a_mistyped_search_attribute_is_named(client: Client) -> None:
    name = f"LensTyped{uuid.uuid4().hex[:8]}"
    await ensure_search_attributes(client, [SearchAttributeKey.for_keyword(name)])
    with pytest.raises(SearchAttributeError, match=f"search attribute {name} is Keyword, the orders need Double"):
        await ensure_search_attributes(client, [SearchAttributeKey.for_float(name)])


def test_a_study_against_a_server_with_a_mistyped_attribute_stops_before_any_order(tmp_path: Path) -> None:
    with DevServer(tmp_path / "server", headless=True, search_attributes={"OrderStatus": "Int"}) as server:
        receiver = f"127.0.0.1:{free_port()}"
        completed = subprocess.run(
            [sys.executable, "-m", "temporal_lens", "study", "--external", "--temporal-address", server.address,
             "--otlp-endpoint", receiver, "--receive-grpc", receiver, "--ui-url", "",
             "--runs-dir", str(tmp_path / "runs"), "--orders", "1", "--scenarios", "happy", "--cases", "0"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        assert completed.returncode == 1, completed.stdout + completed.stderr
        assert "search attribute OrderStatus is Int, the orders need Keyword" in completed.stderr + completed.stdout
        started = asyncio.run(_count(server.address))
    assert started == 0


async def _count(address: str) -> int:
    return (await (await Client.connect(address)).count_workflows()).count


async def test_a_query_whose_worker_is_down_is_unanswered_within_its_bound_and_the_watch_goes_on(
    client: Client, task_queue: str
) -> None:
    workflow_id = f"observed-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[InteractiveWorkflow], activities=[noop]):
        handle = await client.start_workflow(InteractiveWorkflow.run, id=workflow_id, task_queue=task_queue)
        observer = Observer([workflow_id], query_name="state", workflow_type="InteractiveWorkflow",
                            settings=ObserverSettings(cadence_s=0.2, rpc_timeout_s=BOUND_S))
        observer.client = client
        await observer.query(workflow_id, "state", OPEN)
    # The worker is gone; the workflow is open and waiting. The watch keeps asking, each query bounded.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(observer.watch(client), 3 * BOUND_S + 1)
    answered = [o for o in observer.observations if o["api"] == QUERY and o["answered"]]
    unanswered = [o for o in observer.observations if o["api"] == QUERY and not o["answered"]]
    described = [o for o in observer.observations if o["api"] == DESCRIBE]
    assert [json.loads(o["answer"]) for o in answered] == ["waiting"]
    assert len(unanswered) >= 2 and {o["error"] for o in unanswered} == {TIMED_OUT}
    for row in unanswered:
        waited = (row["observed_at"] - row["asked_at"]).total_seconds()
        assert BOUND_S * 0.9 <= waited <= BOUND_S + 1.5, waited
    assert len(described) >= 2 and all(o["answered"] and o["status"] == "RUNNING" for o in described)
    await handle.terminate("test over")


async def test_a_deleted_run_is_not_found_and_absent_from_visibility(client: Client, task_queue: str) -> None:
    workflow_id = f"observed-{uuid.uuid4()}"
    observer = Observer([workflow_id], query_name="state", workflow_type="InteractiveWorkflow",
                        settings=ObserverSettings(cadence_s=0.2, rpc_timeout_s=5))
    async with Worker(client, task_queue=task_queue, workflows=[InteractiveWorkflow], activities=[noop]):
        handle = await client.start_workflow(InteractiveWorkflow.run, id=workflow_id, task_queue=task_queue)
        watching = asyncio.create_task(observer.watch(client))
        await _until(lambda: any(o["answer"] == json.dumps("waiting") for o in observer.observations))
        await handle.signal(InteractiveWorkflow.approve)
        await handle.result()
        await asyncio.wait_for(watching, 15)  # saw it closed, then asked Visibility
        closed = _listed(observer, CLOSED)
        assert workflow_id in closed, "Visibility lists the closed run before its deletion"
        run_id = (await handle.describe()).run_id
        await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)))
        await _until_gone(client, workflow_id)
        await observer.finish(client)
    final = [o for o in observer.observations if o["phase"] == FINAL]
    assert {(o["api"], o["answered"], o["error"]) for o in final} == {(DESCRIBE, False, NOT_FOUND),
                                                                       (QUERY, False, NOT_FOUND)}
    assert workflow_id not in _listed(observer, FINAL)
    open_answers = {json.loads(o["answer"]) for o in observer.observations if o["phase"] == OPEN and o["answered"]
                    and o["api"] == QUERY}
    assert "waiting" in open_answers


async def test_told_of_starts_the_observer_asks_only_about_the_orders_the_driver_started_in_turn(
    client: Client, task_queue: str
) -> None:
    announced, unannounced = f"observed-{uuid.uuid4()}", f"observed-{uuid.uuid4()}"
    observer = Observer([announced, unannounced], query_name="state", workflow_type="InteractiveWorkflow",
                        settings=ObserverSettings(cadence_s=0.2, rpc_timeout_s=5, orders_per_tick=1),
                        told_of_starts=True)
    async with Worker(client, task_queue=task_queue, workflows=[InteractiveWorkflow], activities=[noop]):
        handles = [await client.start_workflow(InteractiveWorkflow.run, id=w, task_queue=task_queue)
                   for w in (announced, unannounced)]
        observer.started(announced)
        watching = asyncio.create_task(observer.watch(client))
        await _until(lambda: sum(o["workflow_id"] == announced and o["api"] == DESCRIBE
                                 for o in observer.observations) >= 3)
        assert {o["workflow_id"] for o in observer.observations} == {announced}
        observer.started(unannounced)
        await _until(lambda: any(o["workflow_id"] == unannounced for o in observer.observations))
        # One order a tick: the two take turns, the one asked longest ago first.
        await _until(lambda: [o["workflow_id"] for o in observer.observations if o["api"] == DESCRIBE][-4:]
                     == [unannounced, announced, unannounced, announced])
        watching.cancel()
        for handle in handles:
            await handle.terminate("test over")


def _listed(observer: Observer, phase: str) -> set[str]:
    (row,) = [v for v in observer.visibility if v["phase"] == phase and v["kind"] == LIST]
    assert row["error"] is None
    return {run["workflow_id"] for run in json.loads(row["result"])}


async def _until(condition, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def _until_gone(client: Client, workflow_id: str, timeout: float = 60.0) -> None:
    """Deletion is asynchronous: wait until Describe and Visibility both no longer have the run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            await client.get_workflow_handle(workflow_id).describe(rpc_timeout=timedelta(seconds=5))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            if (await client.count_workflows(f'WorkflowId = "{workflow_id}"')).count == 0:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} still there {timeout:.0f}s after its deletion")
