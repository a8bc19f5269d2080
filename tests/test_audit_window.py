"""The Visibility filter an audit window and a user query make (no server: the text itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporal_lens.audit import visibility_query


def test_window_keeps_runs_started_or_closed_in_it_and_every_open_run() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert visibility_query(timedelta(hours=24), None, now=now) == (
        "(StartTime >= '2026-11-30T12:00:00Z' OR CloseTime >= '2026-11-30T12:00:00Z'"
        " OR ExecutionStatus = 'Running')"
    )


def test_window_and_query_both_apply() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    query = visibility_query(timedelta(minutes=30), "WorkflowType = 'A' OR WorkflowType = 'B'", now=now)
    assert query == (
        "(StartTime >= '2026-12-01T11:30:00Z' OR CloseTime >= '2026-12-01T11:30:00Z'"
        " OR ExecutionStatus = 'Running') AND (WorkflowType = 'A' OR WorkflowType = 'B')"
    )


def test_no_window_no_query_is_no_filter() -> None:
    assert visibility_query(None, None) is None
    assert visibility_query(None, "WorkflowId = 'x'") == "(WorkflowId = 'x')"
