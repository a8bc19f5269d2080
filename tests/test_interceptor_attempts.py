"""Which timeout ended an activity attempt, from the worker's clock: the rule in interceptors/_attempts.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from temporalio.activity import ActivityCancellationDetails

from temporal_lens.interceptors._attempts import HeartbeatClock, _cancel_reason, which_timeout

T0 = 1_000_000.0


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _info(*, start_to_close: float | None = None, heartbeat: float | None = None,
          schedule_to_close: float | None = None, scheduled: float = T0) -> SimpleNamespace:
    seconds = _seconds
    return SimpleNamespace(start_to_close_timeout=seconds(start_to_close), heartbeat_timeout=seconds(heartbeat),
                           schedule_to_close_timeout=seconds(schedule_to_close),
                           scheduled_time=datetime.fromtimestamp(scheduled, UTC))


def _clock(heartbeat: float | None, beats: list[float], monkeypatch: pytest.MonkeyPatch) -> HeartbeatClock:
    times = iter([T0, *beats])
    monkeypatch.setattr("temporal_lens.interceptors._attempts.time.time", lambda: next(times))
    clock = HeartbeatClock(heartbeat)
    for _ in beats:
        clock.beat()
    return clock


@pytest.mark.parametrize(("timeouts", "beats", "now", "expected"), [
    # heartbeats every 0.25 s, start-to-close 3 s: the attempt outlived its start-to-close timeout
    ({"start_to_close": 3, "heartbeat": 1}, [T0 + 0.25 * n for n in range(1, 13)], T0 + 3.2, "start_to_close"),
    # silent for 2 s with a 1 s heartbeat timeout, then a heartbeat learns of it
    ({"start_to_close": 3, "heartbeat": 1}, [T0 + 2.0], T0 + 2.1, "heartbeat"),
    # both passed: silent past the heartbeat timeout first, then heartbeating past start-to-close
    ({"start_to_close": 3, "heartbeat": 1}, [T0 + 2.0, T0 + 2.5, T0 + 3.0], T0 + 3.2, "heartbeat"),
    # silent since the last heartbeat, no heartbeat since
    ({"start_to_close": 30, "heartbeat": 1}, [T0 + 0.5], T0 + 1.7, "heartbeat"),
    # schedule-to-close (counted from the first attempt's scheduling) passed before start-to-close
    ({"start_to_close": 30, "schedule_to_close": 10, "scheduled": T0 - 9}, [], T0 + 1.5, "schedule_to_close"),
])
def test_the_earliest_passed_deadline_is_the_timeout(timeouts, beats, now, expected, monkeypatch) -> None:
    clock = _clock(timeouts.get("heartbeat"), beats, monkeypatch)
    assert which_timeout(_info(**timeouts), clock, now) == expected


def test_no_passed_deadline_is_no_timeout_when_only_passed_ones_count(monkeypatch) -> None:
    clock = _clock(1, [T0 + 0.5], monkeypatch)
    info = _info(start_to_close=30, heartbeat=1)
    assert which_timeout(info, clock, T0 + 0.9, passed_only=True) is None  # e.g. "not found": the workflow closed
    assert which_timeout(info, clock, T0 + 0.9) == "start_to_close"  # the worker's own "timed out": the earliest


def test_cancel_reasons() -> None:
    assert _cancel_reason(None) is None
    assert _cancel_reason(ActivityCancellationDetails(cancel_requested=True)) == "requested"
    assert _cancel_reason(ActivityCancellationDetails(not_found=True)) == "not_found"
    assert _cancel_reason(ActivityCancellationDetails(paused=True)) == "paused"
    assert _cancel_reason(ActivityCancellationDetails(reset=True)) == "reset"
    assert _cancel_reason(ActivityCancellationDetails(worker_shutdown=True)) == "worker_shutdown"
