"""How an activity attempt ended, from what the worker knows: completed, failed, timed out (which timeout) or
canceled (why)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import temporalio.activity
import temporalio.exceptions

COMPLETED = "completed"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELED = "canceled"

START_TO_CLOSE = "start_to_close"
HEARTBEAT = "heartbeat"
SCHEDULE_TO_CLOSE = "schedule_to_close"
SCHEDULE_TO_START = "schedule_to_start"
"""A timeout type of the vocabulary; it never ends a started attempt, so the worker never reports it."""


@dataclasses.dataclass(frozen=True)
class AttemptEnd:
    outcome: str
    timeout_type: str | None = None
    cancel_reason: str | None = None


class HeartbeatClock:
    """The attempt's liveness as the worker saw it: when it started and the first silence longer than the
    heartbeat timeout (from the start or a heartbeat to the next heartbeat)."""

    def __init__(self, heartbeat_timeout_s: float | None) -> None:
        self.started = time.time()
        self._timeout = heartbeat_timeout_s
        self._last = self.started
        self.first_expiry: float | None = None

    def beat(self) -> None:
        now = time.time()
        if self._timeout and self.first_expiry is None and now - self._last > self._timeout:
            self.first_expiry = self._last + self._timeout
        self._last = now

    def expiry(self, now: float) -> float | None:
        """When the heartbeat timeout first passed, if it has by `now`."""
        if self.first_expiry is not None or not self._timeout:
            return self.first_expiry
        return self._last + self._timeout if now - self._last > self._timeout else None


def which_timeout(info: temporalio.activity.Info, clock: HeartbeatClock, now: float, *,
                  passed_only: bool = False) -> str | None:
    """The timeout that ended the attempt.

    The server ends an attempt at the first of its deadlines, and the worker knows each of them: start-to-close is
    the attempt's start plus `start_to_close_timeout`; heartbeat is the end of the first silence (from the start or
    a heartbeat to the next heartbeat or to now) longer than `heartbeat_timeout`; schedule-to-close is the first
    attempt's scheduling plus `schedule_to_close_timeout`. The earliest deadline that has passed by now is the one
    that fired. If none has passed by this worker's clock: None when `passed_only`, else the earliest deadline.
    Schedule-to-start never ends an attempt that started.
    """
    deadlines: list[tuple[float, str]] = []
    if info.start_to_close_timeout:
        deadlines.append((clock.started + info.start_to_close_timeout.total_seconds(), START_TO_CLOSE))
    beat = clock.expiry(now)
    if beat is not None:
        deadlines.append((beat, HEARTBEAT))
    if info.schedule_to_close_timeout:
        deadlines.append((info.scheduled_time.timestamp() + info.schedule_to_close_timeout.total_seconds(),
                          SCHEDULE_TO_CLOSE))
    passed = [deadline for deadline in deadlines if deadline[0] <= now]
    if passed:
        return min(passed)[1]
    if passed_only:
        return None
    return min(deadlines)[1] if deadlines else START_TO_CLOSE


def _cancel_reason(details: temporalio.activity.ActivityCancellationDetails | None) -> str | None:
    if details is None:
        return None
    for reason, flag in (("requested", details.cancel_requested), ("not_found", details.not_found),
                         ("paused", details.paused), ("reset", details.reset),
                         ("worker_shutdown", details.worker_shutdown)):
        if flag:
            return reason
    return None


def attempt_end(err: BaseException, info: temporalio.activity.Info, clock: HeartbeatClock | None) -> AttemptEnd:
    """How an attempt that raised `err` ended, read from the cancellation details the worker filled in before it
    cancelled the attempt (a cancellation without details, e.g. of the whole worker, is `canceled`).

    A server that timed an attempt out tells the worker so only when a heartbeat asks about it, and then as
    "not found" (temporalio 1.35, checked on the dev server); the worker's own timeouts (local activities) say
    "timed out". So "not found" is a timeout when one of the attempt's deadlines has passed, a cancellation
    otherwise (the workflow closed, the activity was reset elsewhere).
    """
    if not isinstance(err, asyncio.CancelledError | temporalio.exceptions.CancelledError):
        return AttemptEnd(FAILED)
    details = temporalio.activity.cancellation_details()
    if details is not None and (details.timed_out or details.not_found):
        timeout = which_timeout(info, clock or HeartbeatClock(None), time.time(), passed_only=not details.timed_out)
        if timeout is not None:
            return AttemptEnd(TIMED_OUT, timeout_type=timeout)
    return AttemptEnd(CANCELED, cancel_reason=_cancel_reason(details))
