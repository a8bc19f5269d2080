"""Small workflows and activities the interceptor tests run on a real dev server."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporal_lens.interceptors import get_logger

log = get_logger("tests")


@activity.defn
async def flaky(fail_times: int) -> str:
    attempt = activity.info().attempt
    activity.logger.info("flaky attempt %s", attempt)
    if attempt <= fail_times:
        raise ApplicationError(f"boom on attempt {attempt}", type="Flaky")
    return f"ok after {attempt}"


@activity.defn
async def noop() -> None:
    return None


@workflow.defn
class RetryWorkflow:
    def __init__(self) -> None:
        self.signals: list[str] = []

    @workflow.run
    async def run(self, fail_times: int, activity_queue: str | None = None) -> str:
        log.info("retry workflow running", fail_times=fail_times)
        result = await workflow.execute_activity(
            flaky,
            fail_times,
            task_queue=activity_queue,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0),
        )
        await workflow.execute_activity(noop, task_queue=activity_queue, start_to_close_timeout=timedelta(seconds=10))
        return result


@activity.defn
async def charge(amount: int) -> str:
    if amount < 0:
        raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)
    return "charged"


@activity.defn
async def refund(amount: int) -> None:
    return None


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=10))
        return f"child {name} done"


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(ChildWorkflow.run, "a", id=f"{workflow.info().workflow_id}-child")


@workflow.defn
class InteractiveWorkflow:
    def __init__(self) -> None:
        self.approved = False
        self.note = ""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.approved)
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=10))
        return self.note

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def state(self) -> str:
        return "approved" if self.approved else "waiting"

    @workflow.update
    def set_note(self, note: str) -> str:
        self.note = note
        return note

    @set_note.validator
    def check_note(self, note: str) -> None:
        if not note:
            raise ValueError("empty note")


@workflow.defn
class LoopWorkflow:
    @workflow.run
    async def run(self, remaining: int) -> str:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=10))
        if remaining > 0:
            workflow.continue_as_new(remaining - 1)
        return "looped"


@workflow.defn
class TimerWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(milliseconds=200))
        await workflow.execute_local_activity(noop, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class CompensatingWorkflow:
    @workflow.run
    async def run(self, amount: int) -> str:
        try:
            return await workflow.execute_activity(charge, amount, start_to_close_timeout=timedelta(seconds=10))
        except Exception:
            await workflow.execute_activity(refund, amount, start_to_close_timeout=timedelta(seconds=10))
            raise ApplicationError("order compensated", type="Compensated", non_retryable=True) from None


ALL_WORKFLOWS = [
    RetryWorkflow, ChildWorkflow, ParentWorkflow, InteractiveWorkflow, LoopWorkflow, TimerWorkflow,
    CompensatingWorkflow,
]
ALL_ACTIVITIES = [flaky, noop, charge, refund]
