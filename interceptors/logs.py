"""structlog processors that join log records to traces and to Temporal history.

Put them into any structlog pipeline (`configure_telemetry()` does it for you):

    structlog.configure(processors=[drop_during_replay, TemporalContextAdder(), ..., JSONRenderer()])
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
import temporalio.activity
import temporalio.workflow
from opentelemetry import trace

from temporal_lens import keys
from temporal_lens.interceptors._exactly_once import Batch, current_batch, rendered_record
from temporal_lens.interceptors._tracing import report_once

EventDict = MutableMapping[str, Any]
_LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg"})


def drop_during_replay(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Drop records emitted while a workflow replays: they were written when that code first ran."""
    if temporalio.workflow.in_workflow() and temporalio.workflow.unsafe.is_replaying_history_events():
        raise structlog.DropEvent
    return event_dict


class TemporalContextAdder:
    """Adds trace/span ids and the `temporal.*` keys of the current workflow or activity.

    Keys the caller set explicitly are kept. Outside Temporal code only the trace ids (if any) are added.

    Args:
        service_name: also set `service.name` on every record when given.
    """

    def __init__(self, *, service_name: str | None = None) -> None:
        if service_name is not None and not isinstance(service_name, str):
            raise ValueError(f"service_name must be a string, got {type(service_name).__name__}")
        self._service_name = service_name
        # The last span's ids and the last run's or activity's keys, rendered once: consecutive records mostly
        # share them. Each cache holds its source object, so an identity match cannot be a recycled id.
        self._ids: tuple[Any, str, str] = (None, "", "")
        self._keys: dict[Any, tuple[Any, tuple[tuple[str, Any], ...]]] = {}  # per kind: (info, its keys)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        if self._service_name:
            event_dict.setdefault("service.name", self._service_name)
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            ids = self._ids
            if ids[0] is not span_context:
                ids = self._ids = (span_context, format(span_context.trace_id, "032x"),
                                   format(span_context.span_id, "016x"))
            event_dict.setdefault(keys.TRACE_ID, ids[1])
            event_dict.setdefault(keys.SPAN_ID, ids[2])
        if temporalio.activity.in_activity():
            self._add_keys(event_dict, temporalio.activity.info(), _activity_keys)
        elif temporalio.workflow.in_workflow():
            info = temporalio.workflow.info()
            self._add_keys(event_dict, info, _workflow_keys)
            event_dict.setdefault(keys.EVENT_ID, info.get_current_history_length())
        return event_dict

    def _add_keys(self, event_dict: EventDict, info: Any, build: Callable[[Any], tuple[tuple[str, Any], ...]]) -> None:
        cached = self._keys.get(build)
        if cached is None or cached[0] is not info:
            cached = self._keys[build] = (info, build(info))
        for key, value in cached[1]:
            event_dict.setdefault(key, value)


def _activity_keys(info: temporalio.activity.Info) -> tuple[tuple[str, Any], ...]:
    return tuple((key, value) for key, value in (
        (keys.WORKFLOW_ID, info.workflow_id),
        (keys.RUN_ID, info.workflow_run_id),
        (keys.WORKFLOW_TYPE, info.workflow_type),
        (keys.ACTIVITY_ID, info.activity_id),
        (keys.ACTIVITY_TYPE, info.activity_type),
        (keys.ATTEMPT, info.attempt),
        (keys.TASK_QUEUE, info.task_queue),
        (keys.NAMESPACE, info.namespace),
    ) if value is not None)


def _workflow_keys(info: temporalio.workflow.Info) -> tuple[tuple[str, Any], ...]:
    return (
        (keys.WORKFLOW_ID, info.workflow_id),
        (keys.RUN_ID, info.run_id),
        (keys.WORKFLOW_TYPE, info.workflow_type),
        (keys.TASK_QUEUE, info.task_queue),
        (keys.NAMESPACE, info.namespace),
        (keys.ATTEMPT, info.attempt),
    )


class SafeLogger:
    """A structlog logger whose calls never raise: a broken sink must not break the code that logs.

    Inside a workflow run by `ExactlyOnceRunner` (LensPlugin's runner), a record is rendered at once and written
    once the workflow task completes, and only once per run (see `_exactly_once`)."""

    def __init__(self, inner: Any, name: str | None = None) -> None:
        self._inner = inner
        self._name = name

    def bind(self, **values: Any) -> SafeLogger:
        return SafeLogger(self._inner.bind(**values), self._name)

    def new(self, **values: Any) -> SafeLogger:
        return SafeLogger(self._inner.new(**values), self._name)

    def unbind(self, *keys_: str) -> SafeLogger:
        return SafeLogger(self._inner.try_unbind(*keys_), self._name)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                batch = current_batch()
                # Queries and validators (read-only code) are not part of a task's outcome: written at once.
                if (batch is not None and name in _LEVELS and len(args) == 1 and temporalio.workflow.in_workflow()
                        and not temporalio.workflow.unsafe.is_read_only()):
                    self._defer(batch, name, args[0], kwargs)
                    return None
                return method(*args, **kwargs)
            except Exception as err:
                report_once(f"log.{name}", err)
                return None

        return call

    def _defer(self, batch: Batch, method: str, event: Any, fields: dict[str, Any]) -> None:
        span = trace.get_current_span().get_span_context().span_id
        key = ("log", str(event), span)
        key = (*key, batch.occurrence(key))  # counted during replays too, so every instance numbers alike
        if temporalio.workflow.unsafe.is_replaying_history_events():
            return
        context = structlog.get_context(self._inner.bind())
        batch.add(key, rendered_record(self._name, event, {**context, **fields}, method))


def get_logger(name: str | None = None, **initial_values: Any) -> SafeLogger:
    """A structlog logger that never raises; inside workflows its records are not repeated on replay."""
    return SafeLogger(structlog.get_logger(name, **initial_values), name)
