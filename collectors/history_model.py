"""The history row model and the one history vocabulary every history reader and the span synthesiser share.

The vocabulary: event-type names as Temporal's UI shows them (`ActivityTaskStarted`), a run's close status by its
close event, the close outcomes of activities and child workflows. The row model: a `WorkflowHistory` flattened
into `history_events` rows (payloads decoded) and its `workflows` row.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecution, WorkflowHistory
from temporalio.converter import PayloadConverter, decode_typed_search_attributes
from temporalio.converter import default as default_converter

from temporal_lens.collectors.history_attributes import AttributesWriter
from temporal_lens.collectors.tables import HISTORY_EVENTS


def camel_name(enum_name: str, prefix: str) -> str:
    """`EVENT_TYPE_ACTIVITY_TASK_STARTED` without `prefix` in UpperCamel: `ActivityTaskStarted`."""
    return "".join(word.capitalize() for word in enum_name.removeprefix(prefix).split("_"))


# A run's close event (by `event_type_name`) -> the run's status.
RUN_CLOSE_STATUS = {
    "WorkflowExecutionCompleted": "COMPLETED",
    "WorkflowExecutionFailed": "FAILED",
    "WorkflowExecutionCanceled": "CANCELED",
    "WorkflowExecutionTerminated": "TERMINATED",
    "WorkflowExecutionContinuedAsNew": "CONTINUED_AS_NEW",
    "WorkflowExecutionTimedOut": "TIMED_OUT",
}
# A run whose history is in the database and will not change: the workflows table keeps the incremental state.
CLOSED_STATUSES = frozenset(RUN_CLOSE_STATUS.values())
# An activity's close event -> its outcome.
ACTIVITY_CLOSE_STATUS = {
    "ActivityTaskCompleted": "COMPLETED",
    "ActivityTaskFailed": "FAILED",
    "ActivityTaskTimedOut": "TIMED_OUT",
    "ActivityTaskCanceled": "CANCELED",
}
# A child workflow's close event (or its failed start) -> its outcome.
CHILD_CLOSE_STATUS = {
    "ChildWorkflowExecutionCompleted": "COMPLETED",
    "ChildWorkflowExecutionFailed": "FAILED",
    "ChildWorkflowExecutionTimedOut": "TIMED_OUT",
    "ChildWorkflowExecutionTerminated": "TERMINATED",
    "ChildWorkflowExecutionCanceled": "CANCELED",
    "StartChildWorkflowExecutionFailed": "START_FAILED",
}
KNOWN_EVENT_TYPES = frozenset(EventType.keys())
_EVENT_TYPE_NAMES = {number: camel_name(name, "EVENT_TYPE_") for name, number in EventType.items()}
# The attributes fields `_event_row` reads into columns, wherever an event type has them.
_ROW_FIELDS = (
    "scheduled_event_id", "started_event_id", "task_queue", "attempt", "failure", "last_failure", "retry_state",
    "timer_id", "signal_name", "identity", "request", "accepted_request", "rejected_request", "accepted_event_id",
)  # fmt: skip


def event_type_name(event_type: int) -> str:
    """`EVENT_TYPE_ACTIVITY_TASK_STARTED` -> `ActivityTaskStarted`, the form Temporal's UI shows; a number this
    library does not know (a newer server's type) -> `EventType<number>`."""
    return _EVENT_TYPE_NAMES.get(event_type) or f"EventType{event_type}"


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
    return flatten_histories([(history, run_id)], namespace=namespace, payload_converter=payload_converter)


def flatten_histories(
    histories: Iterable[tuple[WorkflowHistory, str | None]],
    *,
    namespace: str,
    payload_converter: PayloadConverter | None = None,
) -> pa.Table:
    """`flatten_history` of many (history, run id) pairs as one table, in order: one Arrow conversion for all."""
    writer = AttributesWriter(payload_converter) if payload_converter else _default_attributes_writer()
    columns: dict[str, list[Any]] = {name: [] for name in HISTORY_EVENTS.columns}
    for history, run_id in histories:
        run = {"namespace": namespace, "workflow_id": history.workflow_id, "run_id": run_id or history.run_id}
        by_id = {event.event_id: event for event in history.events}
        for event in history.events:
            row = _event_row(event, by_id, writer)
            row.update(run)
            for name, values in columns.items():
                values.append(row.get(name))
    return HISTORY_EVENTS.table(columns)


@functools.cache
def _default_attributes_writer() -> AttributesWriter:
    return AttributesWriter(default_converter().payload_converter)


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
    closed = RUN_CLOSE_STATUS.get(event_type_name(last.event_type))
    if closed:
        status, close_time = closed, event_time(last)
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
        "start_time": event_time(first),
        "close_time": close_time,
        "task_queue": started.task_queue.name or (execution.task_queue if execution else None),
        "parent_workflow_id": parent.workflow_id if parent else None,
        "parent_run_id": parent.run_id if parent else None,
        "history_length": len(history.events),
        "search_attributes": search_attributes_json(search_attributes),
    }


def search_attributes_json(search_attributes: Iterable[Any]) -> str:
    """The `workflows.search_attributes` text of typed search attributes: `{name: value}`."""
    return json.dumps(
        {pair.key.name: pair.value for pair in search_attributes}, default=_json_default, ensure_ascii=False
    )


def merge_search_attributes(parts: Iterable[tuple[bool, SearchAttributes]]) -> SearchAttributes:
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


def _event_row(event: HistoryEvent, by_id: Mapping[int, HistoryEvent], writer: AttributesWriter) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "event_time": _event_micros(event),
        "event_type": event_type_name(event.event_type),
    }
    which = event.WhichOneof("attributes")
    if which is None:
        return row
    attrs = getattr(event, which)
    row["attributes"] = writer.attributes_json(attrs)
    fields = _row_fields(attrs.DESCRIPTOR)

    scheduled_id = _get(attrs, fields, "scheduled_event_id") or None
    started_id = _get(attrs, fields, "started_event_id") or None
    row.update(scheduled_event_id=scheduled_id, started_event_id=started_id)
    row["task_queue"] = _queue_name(_get(attrs, fields, "task_queue"))
    row["attempt"] = _get(attrs, fields, "attempt") or None
    if which == "activity_task_scheduled_event_attributes":
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
    failure = _get(attrs, fields, "failure") or _get(attrs, fields, "last_failure")
    if failure is not None:
        row.update(failure_message=failure.message, failure_type=_failure_type(failure))
    retry_state = _get(attrs, fields, "retry_state")
    if retry_state:
        row["retry_state"] = RetryState.Name(retry_state).removeprefix("RETRY_STATE_")
    row["timer_id"] = _get(attrs, fields, "timer_id") or None
    row["signal_name"] = _get(attrs, fields, "signal_name") or None
    row["identity"] = _get(attrs, fields, "identity") or None
    row["update_name"] = _update_name(attrs, fields, by_id)
    return row


@functools.cache
def _row_fields(descriptor: Descriptor) -> dict[str, bool]:
    """Which of `_ROW_FIELDS` an attributes type has: name -> whether it is a singular message (unset reads None)."""
    found = {}
    for name in _ROW_FIELDS:
        field: FieldDescriptor | None = descriptor.fields_by_name.get(name)
        if field is not None:
            found[name] = field.message_type is not None and not field.is_repeated
    return found


def _get(attrs: Message, fields: Mapping[str, bool], name: str) -> Any:
    """The field's value, or None if this attributes message has no such field (or an unset message field)."""
    singular_message = fields.get(name)
    if singular_message is None or (singular_message and not attrs.HasField(name)):
        return None
    return getattr(attrs, name)


def _event_micros(event: HistoryEvent) -> int | None:
    """`event_time` as microseconds since the epoch (the column's unit), as `event_time` truncates it."""
    if not event.HasField("event_time"):
        return None
    stamp = event.event_time
    return stamp.seconds * 1_000_000 + stamp.nanos // 1_000


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


def _update_name(attrs: Message, fields: Mapping[str, bool], by_id: Mapping[int, HistoryEvent]) -> str | None:
    for request_field in ("request", "accepted_request", "rejected_request"):
        request = _get(attrs, fields, request_field)
        if request is not None and request.input.name:
            return request.input.name
    accepted_id = _get(attrs, fields, "accepted_event_id")
    accepted = by_id.get(accepted_id) if accepted_id else None
    if accepted is not None and accepted.HasField("workflow_execution_update_accepted_event_attributes"):
        return accepted.workflow_execution_update_accepted_event_attributes.accepted_request.input.name or None
    return None


def event_time(event: HistoryEvent) -> datetime | None:
    return event.event_time.ToDatetime(tzinfo=UTC) if event.HasField("event_time") else None


def _merged_search_attributes(events: Sequence[HistoryEvent]) -> SearchAttributes:
    parts = []
    for event in events:
        if event.HasField("workflow_execution_started_event_attributes"):
            parts.append((True, event.workflow_execution_started_event_attributes.search_attributes))
        elif event.HasField("upsert_workflow_search_attributes_event_attributes"):
            parts.append((False, event.upsert_workflow_search_attributes_event_attributes.search_attributes))
    return merge_search_attributes(parts)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
