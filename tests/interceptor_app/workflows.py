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
