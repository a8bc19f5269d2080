"""Small, valid collector inputs built in code: a workflow history as Temporal's JSON, structlog-like lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent

_START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def history_dict(workflow_id: str, run_id: str, activities: int = 1) -> dict[str, Any]:
    """A closed workflow's history (started, one workflow task, `activities` activities, completed) as JSON."""
    events: list[HistoryEvent] = []

    def add(event_type: int, **attributes: Any) -> HistoryEvent:
        event = HistoryEvent(event_id=len(events) + 1, event_type=event_type, **attributes)
        event.event_time.FromDatetime(_START + timedelta(seconds=len(events)))
        events.append(event)
        return event

    add(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_execution_started_event_attributes={
            "workflow_type": {"name": "Order"},
            "task_queue": {"name": "orders"},
            "workflow_id": workflow_id,
            "original_execution_run_id": run_id,
            "first_execution_run_id": run_id,
            "attempt": 1,
        },
    )
    for n in range(activities):
        scheduled = add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes={
                "activity_id": str(n + 1),
                "activity_type": {"name": "charge"},
                "task_queue": {"name": "orders"},
            },
        )
        started = add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            activity_task_started_event_attributes={"scheduled_event_id": scheduled.event_id, "attempt": 1},
        )
        add(
            EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            activity_task_completed_event_attributes={
                "scheduled_event_id": scheduled.event_id,
                "started_event_id": started.event_id,
            },
        )
    add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, workflow_execution_completed_event_attributes={})
    return json_format.MessageToDict(History(events=events))


def history_json(workflow_id: str, run_id: str, activities: int = 1) -> str:
    return json.dumps(history_dict(workflow_id, run_id, activities))


def log_line(n: int) -> str:
    return json.dumps(
        {
            "event": f"step {n}",
            "level": "info",
            "timestamp": (_START + timedelta(milliseconds=n)).isoformat(),
            "temporal.workflow_id": f"order-{n % 50}",
            "n": n,
        }
    )
