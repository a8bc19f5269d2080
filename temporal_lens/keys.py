"""The shared vocabulary: attribute keys that join spans, log records and history rows.

Interceptors write these keys and collectors read them; this leaf module is the only thing the two share.
"""

from __future__ import annotations

WORKFLOW_ID = "temporal.workflow_id"
RUN_ID = "temporal.run_id"
WORKFLOW_TYPE = "temporal.workflow_type"
ACTIVITY_ID = "temporal.activity_id"
ACTIVITY_TYPE = "temporal.activity_type"
ATTEMPT = "temporal.attempt"
TASK_QUEUE = "temporal.task_queue"
NAMESPACE = "temporal.namespace"
EVENT_ID = "temporal.event_id"
"""History length when a workflow-side record was emitted: joins the record to `history_events.event_id`."""

WORKFLOW_START_TIME = "temporal.workflow_start_time"
"""When the server started the run (ISO 8601): the `workflow started` record is written at the first workflow task,
which may wait in the task queue long after that."""
SCHEDULE_TO_START_MS = "temporal.schedule_to_start_ms"
OUTCOME = "temporal.outcome"
TIMEOUT_TYPE = "temporal.timeout_type"
"""Which timeout ended a timed-out activity attempt: start_to_close, heartbeat, schedule_to_close."""
CANCEL_REASON = "temporal.cancel_reason"
"""Why an activity attempt was canceled: requested, not_found, paused, reset, worker_shutdown."""
TIMER_ID = "temporal.timer_id"
NEXUS_ENDPOINT = "temporal.nexus.endpoint"
NEXUS_SERVICE = "temporal.nexus.service"
NEXUS_OPERATION = "temporal.nexus.operation"

TRACE_ID = "trace_id"
SPAN_ID = "span_id"

TRACE_HEADER = "_tracer-data"
"""Temporal header carrying W3C trace context; the same key `temporalio.contrib.opentelemetry` uses."""

SPAN_SOURCE_OTLP = "otlp"
SPAN_SOURCE_HISTORY = "history"
