"""A workflow that runs every kind of handler and step the interceptors record, for the exactly-once tests."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from tests.interceptor_app import fail_once  # passed through the sandbox by the tests that run this

with workflow.unsafe.imports_passed_through():
    from temporal_lens.interceptors import get_logger

log = get_logger("tests")

HANG_S = 30.0
NO_RETRY = RetryPolicy(maximum_attempts=1)
ONE_RETRY = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(milliseconds=100))


@activity.defn
async def quick(n: int) -> int:
    return n + 1


_first_attempts_ended: set[str] = set()  # activities run outside the sandbox: one set per worker process


@activity.defn
async def hang_first_attempt(silent: bool) -> str:
    """The first attempt outlives its start-to-close timeout (heartbeating) or goes silent past its heartbeat
    timeout; the heartbeat after that learns the server gave up on it. The second attempt returns once the first
    has ended, so the worker sees the first one end before the workflow closes."""
    info = activity.info()
    key = f"{info.workflow_run_id}/{info.activity_id}"
    if info.attempt == 1:
        try:
            if silent:
                await asyncio.sleep(2.0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + HANG_S
            while loop.time() < deadline:
                activity.heartbeat()
                await asyncio.sleep(0.1)
        finally:
            _first_attempts_ended.add(key)
    for _ in range(200):
        if key in _first_attempts_ended:
            break
        await asyncio.sleep(0.05)
    return f"attempt {info.attempt}"


@activity.defn
async def wait_for_cancel() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.1)


@workflow.defn
class LeafWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(quick, n, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class EveryHandlerWorkflow:
    """Waits for `go` (a signal), answers a query, takes updates (one its validator rejects, one whose workflow
    task fails once), fires a timer and cancels another, runs a child, a local activity, an activity it cancels,
    activities whose first attempt times out (start-to-close, heartbeat), then continues as new once."""

    def __init__(self) -> None:
        self.go = False
        self.notes: list[str] = []

    @workflow.run
    async def run(self, continued: bool) -> str:
        if continued:
            return "continued"
        log.info("waiting for go")
        await workflow.wait_condition(lambda: self.go)
        await workflow.sleep(0.05)  # a timer that fires
        if await _cancelled_timer():
            raise RuntimeError("the timer fired instead of being canceled")
        await workflow.execute_child_workflow(LeafWorkflow.run, 1, id=f"{workflow.info().workflow_id}-child")
        await workflow.execute_local_activity(quick, 2, start_to_close_timeout=timedelta(seconds=10))
        handle = workflow.start_activity(wait_for_cancel, start_to_close_timeout=timedelta(seconds=30),
                                         heartbeat_timeout=timedelta(seconds=1), retry_policy=NO_RETRY)
        await workflow.sleep(0.5)
        handle.cancel()
        with contextlib.suppress(ActivityError):
            await handle
        await asyncio.gather(*(
            workflow.execute_activity(hang_first_attempt, silent, start_to_close_timeout=timedelta(seconds=3),
                                      heartbeat_timeout=timedelta(seconds=1), retry_policy=ONE_RETRY)
            for silent in (False, True)
        ))
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(True)

    @workflow.signal
    def start(self) -> None:
        self.go = True

    @workflow.query
    def notes_so_far(self) -> list[str]:
        return list(self.notes)

    @workflow.update
    def add_note(self, note: str) -> int:
        self.notes.append(note)
        return len(self.notes)

    @add_note.validator
    def check_note(self, note: str) -> None:
        if not note:
            raise ValueError("empty note")

    @workflow.update
    async def flaky_note(self, note: str) -> int:
        # Fails its workflow task the first time (not a workflow failure: Temporal retries the task).
        log.info("taking a flaky note", note=note)  # written once although the handler runs twice
        fail_once.maybe_fail(f"{workflow.info().workflow_id}/{note}")
        self.notes.append(note)
        return len(self.notes)


async def _cancelled_timer() -> bool:
    """Start a 60 s timer and cancel it; True if it fired instead."""
    timer = asyncio.ensure_future(workflow.sleep(60))
    await workflow.sleep(0.01)
    timer.cancel()
    try:
        await timer
    except asyncio.CancelledError:
        return False
    return True


HANDLER_WORKFLOWS = [EveryHandlerWorkflow, LeafWorkflow]
HANDLER_ACTIVITIES = [quick, hang_first_attempt, wait_for_cancel]
