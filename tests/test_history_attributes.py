"""The compiled attributes path gives the `MessageToDict` path's text: on edge cases built here, on the histories of
every interceptor test workflow, and on a study's histories (the audit workload's are compared in test_audit.py)."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Header, Memo, Payload, Payloads, RetryPolicy, SearchAttributes
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import (
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.converter import default as default_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_lens.collectors.history_attributes import AttributesWriter, attributes_json_via_dict
from temporal_lens.interceptors import LensPlugin
from temporal_lens.search_attributes import search_attribute_types
from temporal_lens.stack import DevServer
from tests.history_compare import assert_attribute_paths_agree
from tests.interceptor_app.handlers import HANDLER_ACTIVITIES, HANDLER_WORKFLOWS, EveryHandlerWorkflow
from tests.interceptor_app.workflows import (
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    CompensatingWorkflow,
    InteractiveWorkflow,
    LoopWorkflow,
    ParentWorkflow,
    RetryWorkflow,
    TimerWorkflow,
)

_JSON = {"encoding": b"json/plain"}


def _payload(data: bytes = b"", **metadata: bytes) -> Payload:
    return Payload(metadata=metadata, data=data)


# Attributes messages with what real histories rarely hold: every payload shape the converter cannot read, doubles
# ProtoJSON spells as text, enum numbers newer than this library, maps, nested failures.
EDGE_CASES = [
    ActivityTaskScheduledEventAttributes(
        activity_id="1",
        input=Payloads(payloads=[
            _payload(b'{"a": [1, 2.5, null, "\\u00e9"]}', **_JSON),
            _payload(),  # no metadata, no data
            _payload(encoding=b"binary/null"),
            _payload(b"\x00\xffraw", encoding=b"binary/plain"),
            _payload(b"\x93\x01", encoding=b"binary/encrypted", key=b"\xff\xfe not utf-8"),
            _payload(b'{"seconds": "3"}', encoding=b"json/protobuf", messageType=b"google.protobuf.Duration"),
            _payload(b"not json", **_JSON),
            Payload(metadata=_JSON, data=b"1", external_payloads=[Payload.ExternalPayloadDetails(size_bytes=12)]),
        ]),
        header=Header(fields={"_tracer-data": _payload(b'{"traceparent": "00-ab"}', **_JSON), "empty": _payload()}),
        retry_policy=RetryPolicy(backoff_coefficient=float("inf"), maximum_attempts=3),
    ),
    ActivityTaskScheduledEventAttributes(retry_policy=RetryPolicy(backoff_coefficient=float("nan"))),
    ActivityTaskScheduledEventAttributes(retry_policy=RetryPolicy(backoff_coefficient=-float("inf"))),
    ActivityTaskScheduledEventAttributes(retry_policy=RetryPolicy(backoff_coefficient=1.5)),
    ActivityTaskFailedEventAttributes(
        scheduled_event_id=5,
        retry_state=999,  # type: ignore[arg-type]  # a newer server's retry state
        failure=Failure(
            message="outer",
            encoded_attributes=_payload(b'{"message": "hidden"}', **_JSON),
            application_failure_info=ApplicationFailureInfo(
                type="Outer", details=Payloads(payloads=[_payload(b"[1]", **_JSON)])),
            cause=Failure(message="inner", cause=Failure(message="innermost", stack_trace="line 1\nline 2")),
        ),
    ),
    ActivityTaskFailedEventAttributes(retry_state=RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED),
    WorkflowExecutionStartedEventAttributes(
        memo=Memo(fields={"note": _payload(b'"hello"', **_JSON), "blob": _payload(b"\x01", encoding=b"binary/plain")}),
        search_attributes=SearchAttributes(indexed_fields={"CustomerId": _payload(b'"c-1"', **_JSON, type=b"Keyword")}),
        attempt=2,
    ),
]


@pytest.mark.parametrize("attrs", EDGE_CASES, ids=lambda attrs: type(attrs).__name__)
def test_compiled_path_matches_message_to_dict_on_edge_cases(attrs) -> None:
    converter = default_converter().payload_converter
    expected = attributes_json_via_dict(attrs, converter)
    assert AttributesWriter(converter).attributes_json(attrs) == expected
    json.loads(expected)  # and it is JSON


def test_edge_cases_cover_what_the_compiled_path_hands_over() -> None:
    """The cases above reach the dict path (external payloads) and the text spellings of doubles, so the
    comparison is not only of what both paths trivially share."""
    converter = default_converter().payload_converter
    texts = [attributes_json_via_dict(attrs, converter) for attrs in EDGE_CASES]
    assert "externalPayloads" in texts[0] and '"Infinity"' in texts[0]
    assert '"NaN"' in texts[1] and '"-Infinity"' in texts[2]
    assert '"retryState": 999' in texts[4]
    assert "\\u00e9" not in texts[0] and "é" in texts[0]


async def _interceptor_histories(client: Client, queue: str) -> list[WorkflowHistory]:
    """Every interceptor test workflow once, through the LensPlugin (so headers carry trace context)."""
    handles = [
        await client.start_workflow(RetryWorkflow.run, 2, id=f"retry-{uuid.uuid4()}", task_queue=queue),
        await client.start_workflow(ParentWorkflow.run, id=f"parent-{uuid.uuid4()}", task_queue=queue),
        await client.start_workflow(LoopWorkflow.run, 1, id=f"loop-{uuid.uuid4()}", task_queue=queue),
        await client.start_workflow(TimerWorkflow.run, id=f"timer-{uuid.uuid4()}", task_queue=queue),
        await client.start_workflow(CompensatingWorkflow.run, -1, id=f"comp-{uuid.uuid4()}", task_queue=queue),
    ]
    interactive = await client.start_workflow(InteractiveWorkflow.run, id=f"inter-{uuid.uuid4()}", task_queue=queue)
    assert await interactive.execute_update(InteractiveWorkflow.set_note, "noted") == "noted"
    with pytest.raises(WorkflowUpdateFailedError):
        await interactive.execute_update(InteractiveWorkflow.set_note, "")
    await interactive.signal(InteractiveWorkflow.approve)
    every = await client.start_workflow(EveryHandlerWorkflow.run, False, id=f"every-{uuid.uuid4()}", task_queue=queue)
    assert await every.execute_update(EveryHandlerWorkflow.add_note, "a") == 1
    assert await every.execute_update(EveryHandlerWorkflow.flaky_note, "b") == 2
    await every.signal(EveryHandlerWorkflow.start)
    for handle in [*handles, interactive, every]:
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
    return [await client.get_workflow_handle(e.id, run_id=e.run_id).fetch_history()
            async for e in client.list_workflows(f'TaskQueue = "{queue}"')]


@pytest.mark.server
async def test_compiled_path_matches_on_every_interceptor_workflow(dev_server) -> None:
    client = await Client.connect(dev_server.address, plugins=[LensPlugin()])
    queue = f"attributes-{uuid.uuid4()}"
    runner = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "tests.interceptor_app.fail_once"))
    async with Worker(client, task_queue=queue, workflows=[*ALL_WORKFLOWS, *HANDLER_WORKFLOWS],
                      activities=[*ALL_ACTIVITIES, *HANDLER_ACTIVITIES], workflow_runner=runner):
        histories = await _interceptor_histories(client, queue)
    seen = assert_attribute_paths_agree(histories)
    assert {
        "ActivityTaskFailed", "ActivityTaskCancelRequested", "ActivityTaskCanceled",
        "TimerStarted", "TimerFired", "TimerCanceled", "MarkerRecorded", "WorkflowExecutionSignaled",
        "WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted", "StartChildWorkflowExecutionInitiated",
        "ChildWorkflowExecutionStarted", "ChildWorkflowExecutionCompleted", "WorkflowExecutionContinuedAsNew",
        "WorkflowExecutionFailed", "WorkflowTaskFailed",
    } <= seen


@pytest.mark.study
async def test_compiled_path_matches_on_a_study(study_run: tuple[Path, str], tmp_path: Path) -> None:
    from temporal_lens.sample_app.model import ORDER_SEARCH_ATTRIBUTES

    run_dir, _ = study_run
    # The study's server state, copied: the study's own folder stays as the other tests read it.
    shutil.copy(run_dir / "temporal.sqlite", tmp_path / "temporal.sqlite")
    attributes = search_attribute_types(ORDER_SEARCH_ATTRIBUTES)
    with DevServer(tmp_path, headless=True, search_attributes=attributes) as server:
        client = await Client.connect(server.address)
        histories = [await client.get_workflow_handle(e.id, run_id=e.run_id).fetch_history()
                     async for e in client.list_workflows()]
    assert len(histories) >= 10
    seen = assert_attribute_paths_agree(histories)
    assert {"ActivityTaskFailed", "WorkflowExecutionSignaled", "UpsertWorkflowSearchAttributes"} <= seen
