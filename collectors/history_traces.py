"""Spans synthesized from `history_events` alone, for workflows nobody instrumented (`source='history'`).

Per run: a root span `RunWorkflow:<type>` from WorkflowExecutionStarted to the close event; per activity a
`QueueWait:<type>` span (scheduled until a worker started its last attempt) and a `RunActivity:<type>` span (that
attempt until it closed); `Timer:<id>` spans; `ChildWorkflow:<type>` spans. Signals, updates and workflow task
failures become events on the root span. History keeps only an activity's last attempt, so earlier attempts appear
only as a `retry` event carrying the previous attempt's failure.

Ids are derived, not drawn: the trace id is the one the interceptors give a run without incoming context
(`workflow_trace_id`), a span id hashes the run id with the event id that opened the span. Synthesizing again
replaces the history-derived spans of the runs it covers.

Links: history names where a run came from, so the root span links to the span that started it when the run is a
child (the parent's `ChildWorkflow` span, from `parentWorkflowExecution` and `parentInitiatedEventId`) or a
continuation (the previous run's root span, from `continuedExecutionRunId`). A signal or an update names no sender
span in history: those stay events on the root span, without links.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb

from temporal_lens import keys
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.history_model import ACTIVITY_CLOSE_STATUS, CHILD_CLOSE_STATUS, RUN_CLOSE_STATUS
from temporal_lens.collectors.history_writer import run_keys_condition
from temporal_lens.collectors.span_rows import datetime_nanos, int64, iso_time, span_link, span_row
from temporal_lens.collectors.tables import HISTORY_EVENTS, SPANS
from temporal_lens.ids import history_span_id, workflow_trace_id

SPAN_SOURCE_HISTORY = keys.SPAN_SOURCE_HISTORY
HISTORY_SERVICE = "temporal-history"
"""`service.name` of synthesized spans: nothing in history says which process ran them."""

_ERROR_OUTCOMES = {"FAILED", "TIMED_OUT", "TERMINATED", "START_FAILED"}
_ROOT_EVENTS = {
    "WorkflowExecutionSignaled": "signal",
    "WorkflowExecutionUpdateAccepted": "update.accepted",
    "WorkflowExecutionUpdateRejected": "update.rejected",
    "WorkflowExecutionUpdateCompleted": "update.completed",
    "WorkflowTaskFailed": "workflow_task.failed",
    "WorkflowTaskTimedOut": "workflow_task.timed_out",
    "WorkflowExecutionCancelRequested": "cancel_requested",
}
_RUNS_PER_BATCH = 200
_FIRST_EVENT_ID = 1  # a run's WorkflowExecutionStarted, the event its root span is named after


def synthesize_history_spans(
    conn_or_writer: duckdb.DuckDBPyConnection | BatchWriter,
    *,
    where: str | tuple[str, Sequence[Any]] | None = None,
) -> int:
    """Write history-derived spans for every run in `history_events` (or those matching `where`).

    Args:
        where: a condition over `history_events` columns selecting runs, optionally with its bound parameters:
            `("workflow_id = ?", ["order-7"])`. Every event of a selected run is read.

    Returns:
        the number of spans written.
    """
    writer = conn_or_writer if isinstance(conn_or_writer, BatchWriter) else BatchWriter(conn_or_writer)
    condition, params = (where, []) if isinstance(where, str) else (where or ("TRUE", []))
    cursor = writer.connection.cursor()
    try:
        result = cursor.execute(
            f"SELECT {', '.join(HISTORY_EVENTS.columns)} FROM history_events WHERE (namespace, workflow_id, run_id) IN"
            f" (SELECT namespace, workflow_id, run_id FROM history_events WHERE {condition})"
            " ORDER BY namespace, workflow_id, run_id, event_id",
            list(params),
        )
        names = [column[0] for column in result.description]
        events = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    finally:
        cursor.close()

    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for event in events:
        runs.setdefault((event["namespace"], event["workflow_id"], event["run_id"]), []).append(event)
    written = 0
    keys_ = list(runs)
    for first in range(0, len(keys_), _RUNS_PER_BATCH):
        batch = keys_[first : first + _RUNS_PER_BATCH]
        rows = [row for key in batch for row in run_spans(runs[key])]
        runs_in, run_params = run_keys_condition([(workflow_id, run_id) for _, workflow_id, run_id in batch])
        replace = (f"source = ? AND {runs_in}", [SPAN_SOURCE_HISTORY, *run_params])
        writer.insert("spans", SPANS.from_rows(rows), replace_where=replace)
        written += len(rows)
    return written


def run_spans(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `spans` rows for one run, from its `history_events` rows as dicts in event order."""
    if not events or events[0]["event_type"] != "WorkflowExecutionStarted":
        return []  # a partial history (retention, a filtered read) has no root to hang spans on
    started = events[0]
    namespace, workflow_id, run_id = started["namespace"], started["workflow_id"], started["run_id"]
    start_attrs = _attrs(started)
    workflow_type = (start_attrs.get("workflowType") or {}).get("name") or "workflow"
    task_queue = started["task_queue"]
    trace_id = format(workflow_trace_id(workflow_id, run_id), "032x")
    closers = _Closers(events)
    common = {keys.WORKFLOW_ID: workflow_id, keys.RUN_ID: run_id, keys.WORKFLOW_TYPE: workflow_type,
              keys.NAMESPACE: namespace}

    def span(name: str, opened: Mapping[str, Any], closed: Mapping[str, Any] | None, *, role: str = "",
             parent: str | None, attributes: dict[str, Any], outcome: str | None = None,
             failure: Mapping[str, Any] | None = None, span_events: list[dict[str, Any]] | None = None,
             start_event: Mapping[str, Any] | None = None,
             links: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        start = (start_event or opened)["event_time"]
        end = closed["event_time"] if closed else None
        span_events = list(span_events or [])
        status, message = "UNSET", None
        if outcome is not None:
            attributes[keys.OUTCOME] = outcome
        if outcome in _ERROR_OUTCOMES:
            status = "ERROR"
            message = (failure or {}).get("failure_message") or outcome
            span_events.append(_exception_event(closed or opened, failure))
        attributes = {**common, **attributes, keys.EVENT_ID: opened["event_id"]}
        return span_row(
            trace_id=trace_id,
            span_id=format(history_span_id(run_id, opened["event_id"], role=role), "016x"),
            parent_span_id=parent,
            name=name,
            kind="INTERNAL",
            service_name=HISTORY_SERVICE,
            start_nanos=datetime_nanos(start),
            end_nanos=datetime_nanos(end),
            status_code=status,
            status_message=message,
            attributes=attributes,
            events=span_events,
            links=links,
            resource={"service.name": HISTORY_SERVICE, keys.NAMESPACE: namespace},
            source=SPAN_SOURCE_HISTORY,
        )

    closed_run = next((e for e in reversed(events) if e["event_type"] in RUN_CLOSE_STATUS), None)
    root_id = format(history_span_id(run_id, started["event_id"]), "016x")
    rows: list[dict[str, Any]] = []
    root_events: list[dict[str, Any]] = []
    for event in events:
        kind = event["event_type"]
        if kind in _ROOT_EVENTS:
            root_events.append(_root_event(_ROOT_EVENTS[kind], event))
        elif kind == "ActivityTaskScheduled":
            rows += _activity_spans(span, event, closers, root_id)
        elif kind == "TimerStarted":
            closed = closers.first("started_event_id", event["event_id"], {"TimerFired", "TimerCanceled"})
            outcome = None if closed is None else ("FIRED" if closed["event_type"] == "TimerFired" else "CANCELED")
            timeout = _attrs(event).get("startToFireTimeout")
            rows.append(span(f"Timer:{event['timer_id']}", event, closed, parent=root_id, outcome=outcome,
                             attributes={"temporal.timer_id": event["timer_id"], "temporal.timer_duration": timeout}))
        elif kind == "StartChildWorkflowExecutionInitiated":
            rows.append(_child_span(span, event, closers, root_id))

    attributes = {keys.TASK_QUEUE: task_queue, "temporal.workflow_attempt": start_attrs.get("attempt")}
    parent_run = start_attrs.get("parentWorkflowExecution") or {}
    if parent_run:
        attributes.update({"temporal.parent_workflow_id": parent_run.get("workflowId"),
                           "temporal.parent_run_id": parent_run.get("runId")})
    outcome = RUN_CLOSE_STATUS[closed_run["event_type"]] if closed_run else None
    root = span(f"RunWorkflow:{workflow_type}", started, closed_run, parent=None, outcome=outcome,
                failure=closed_run, attributes={k: v for k, v in attributes.items() if v is not None},
                span_events=root_events, links=_origin_links(workflow_id, start_attrs))
    return [root, *rows]


def _origin_links(workflow_id: str, start_attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Links from a run's root span to the history-derived span that started it: the parent's `ChildWorkflow`
    span for a child run, the previous run's root span for a continued run."""
    links = []
    parent = start_attrs.get("parentWorkflowExecution") or {}
    initiated = int64(start_attrs.get("parentInitiatedEventId"))
    if parent.get("workflowId") and parent.get("runId") and initiated:
        links.append(_history_link(parent["workflowId"], parent["runId"], initiated))
    previous_run = start_attrs.get("continuedExecutionRunId")
    if previous_run:
        links.append(_history_link(workflow_id, previous_run, _FIRST_EVENT_ID))
    return links


def _history_link(workflow_id: str, run_id: str, event_id: int) -> dict[str, Any]:
    trace_id = format(workflow_trace_id(workflow_id, run_id), "032x")
    return span_link(trace_id, format(history_span_id(run_id, event_id), "016x"))


class _Closers:
    """A run's events indexed once by the event they point back to, so finding what closed a span is a lookup."""

    def __init__(self, events: Sequence[Mapping[str, Any]]) -> None:
        self._events = events
        self._by_ref: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
        for event in events:
            for column in ("scheduled_event_id", "started_event_id"):
                if event[column] is not None:
                    self._by_ref.setdefault((column, event[column]), []).append(event)
        self._by_initiated: dict[int, list[Mapping[str, Any]]] | None = None

    def first(self, column: str, event_id: int, types: set[str] | dict[str, str]) -> Mapping[str, Any] | None:
        """The first event whose `column` is `event_id` and whose type is one of `types`."""
        return next((e for e in self._by_ref.get((column, event_id), ()) if e["event_type"] in types), None)

    def initiated_by(self, event_id: int) -> list[Mapping[str, Any]]:
        """The events whose attributes name `event_id` as their `initiatedEventId`, in history order."""
        if self._by_initiated is None:  # parsed once, and only for runs that have children
            self._by_initiated = {}
            for event in self._events:
                initiated = int64(_attrs(event).get("initiatedEventId"))
                if initiated is not None:
                    self._by_initiated.setdefault(initiated, []).append(event)
        return self._by_initiated.get(event_id, [])


def _activity_spans(span, scheduled, closers: _Closers, root_id) -> list[dict[str, Any]]:
    activity_type = scheduled["activity_type"] or "activity"
    scheduled_id = scheduled["event_id"]
    started = closers.first("scheduled_event_id", scheduled_id, {"ActivityTaskStarted"})
    closed = closers.first("scheduled_event_id", scheduled_id, ACTIVITY_CLOSE_STATUS)
    base = {keys.ACTIVITY_ID: scheduled["activity_id"], keys.ACTIVITY_TYPE: activity_type,
            keys.TASK_QUEUE: scheduled["task_queue"]}
    if started is None:  # never picked up: the wait is all there is (until it closed, if it did)
        outcome = ACTIVITY_CLOSE_STATUS[closed["event_type"]] if closed else None
        return [span(f"QueueWait:{activity_type}", scheduled, closed, role="queue", parent=root_id,
                     outcome=outcome, failure=closed, attributes=dict(base))]
    attempt = started["attempt"]
    wait = span(f"QueueWait:{activity_type}", scheduled, started, role="queue", parent=root_id,
                attributes={**base, keys.ATTEMPT: attempt})
    retry_events = []
    if started["failure_message"] is not None and (attempt or 1) > 1:
        retry_events.append({"name": "retry", "time": _iso(started["event_time"]), "attributes": {
            keys.ATTEMPT: attempt, "temporal.previous_attempt": attempt - 1,
            "exception.type": started["failure_type"], "exception.message": started["failure_message"]}})
    outcome = ACTIVITY_CLOSE_STATUS[closed["event_type"]] if closed else None
    run = span(f"RunActivity:{activity_type}", started, closed, parent=root_id, outcome=outcome, failure=closed,
               attributes={**base, keys.ATTEMPT: attempt}, span_events=retry_events)
    return [wait, run]


def _child_span(span, initiated, closers: _Closers, root_id) -> dict[str, Any]:
    attrs = _attrs(initiated)
    child_type = (attrs.get("workflowType") or {}).get("name") or "workflow"
    initiated_id = initiated["event_id"]
    related = closers.initiated_by(initiated_id)
    child_started = next((e for e in related if e["event_type"] == "ChildWorkflowExecutionStarted"), None)
    closed = next((e for e in related if e["event_type"] in CHILD_CLOSE_STATUS), None)
    execution = _attrs(child_started).get("workflowExecution", {}) if child_started else {}
    attributes = {"temporal.child_workflow_id": attrs.get("workflowId"), "temporal.child_workflow_type": child_type,
                  "temporal.child_run_id": execution.get("runId"), keys.TASK_QUEUE: initiated["task_queue"]}
    outcome = CHILD_CLOSE_STATUS[closed["event_type"]] if closed else None
    return span(f"ChildWorkflow:{child_type}", initiated, closed, parent=root_id, outcome=outcome, failure=closed,
                attributes={k: v for k, v in attributes.items() if v is not None})


def _root_event(name: str, event: Mapping[str, Any]) -> dict[str, Any]:
    attributes = {keys.EVENT_ID: event["event_id"]}
    for column, key in (("signal_name", "temporal.signal_name"), ("update_name", "temporal.update_name"),
                        ("failure_message", "exception.message"), ("failure_type", "exception.type")):
        if event[column] is not None:
            attributes[key] = event[column]
    label = event["signal_name"] or event["update_name"]
    return {"name": f"{name}:{label}" if label else name, "time": _iso(event["event_time"]), "attributes": attributes}


def _exception_event(event: Mapping[str, Any], failure: Mapping[str, Any] | None) -> dict[str, Any]:
    failure = failure or {}
    message = failure.get("failure_message") or _attrs(failure).get("reason") or event["event_type"]
    return {"name": "exception", "time": _iso(event["event_time"]), "attributes": {
        "exception.type": failure.get("failure_type") or event["event_type"], "exception.message": message,
        keys.EVENT_ID: event["event_id"]}}


def _attrs(event: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = (event or {}).get("attributes")
    return json.loads(raw) if isinstance(raw, str) else (raw or {})


def _iso(moment: datetime | None) -> str | None:
    return iso_time(datetime_nanos(moment) // 1000) if moment else None
