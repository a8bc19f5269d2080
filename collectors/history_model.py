"""The history row model and the one history vocabulary every history reader and the span synthesiser share.

The vocabulary: event-type names as Temporal's UI shows them (`ActivityTaskStarted`), a run's close status by its
close event, the close outcomes of activities and child workflows. The row model: a `WorkflowHistory` flattened
into `history_events` rows (payloads decoded) and its `workflows` row.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecution, WorkflowHistory
from temporalio.converter import PayloadConverter, decode_typed_search_attributes
from temporalio.converter import default as default_converter

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
_EVENT_TYPE_NUMBERS = frozenset(EventType.values())
_PAYLOAD = Payload.DESCRIPTOR.full_name




def event_type_name(event_type: int) -> str:
    """`EVENT_TYPE_ACTIVITY_TASK_STARTED` -> `ActivityTaskStarted`, the form Temporal's UI shows; a number this
    library does not know (a newer server's type) -> `EventType<number>`."""
    if event_type not in _EVENT_TYPE_NUMBERS:
        return f"EventType{event_type}"
    return camel_name(EventType.Name(event_type), "EVENT_TYPE_")


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
    columns: dict[str, list[Any]] = {name: [] for name in HISTORY_EVENTS.columns}
    for row in rows:
        row.update(namespace=namespace, workflow_id=history.workflow_id, run_id=run_id)
        for name, values in columns.items():
            values.append(row.get(name))
    return HISTORY_EVENTS.table(columns)


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


def _event_row(event: HistoryEvent, by_id: Mapping[int, HistoryEvent], converter: PayloadConverter) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "event_time": event_time(event),
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
        return readable_payload(item, converter)
    _decode_payloads(item, descriptor, converter)
    return item


def readable_payload(item: dict[str, Any], converter: PayloadConverter) -> dict[str, Any]:
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
