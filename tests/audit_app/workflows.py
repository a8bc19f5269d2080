"""The audit workload's workflows and activities (a lean module: only temporalio, so the sandbox re-imports little)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

SHARDS = 4
FAST_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0)
STUCK_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=300), backoff_coefficient=1.0)
STUCK_FAILURE = "backlog store unreachable"


@activity.defn
async def measure_shard(shard: int) -> int:
    await asyncio.sleep(0.01)
    return shard * shard


@activity.defn
async def probe_once_flaky(label: str) -> str:
    attempt = activity.info().attempt
    if attempt == 1:
        raise ApplicationError(f"probe {label} cold on attempt {attempt}", type="ColdProbe")
    return f"{label} warm on attempt {attempt}"


@activity.defn
async def drain_backlog(name: str) -> None:
    raise ApplicationError(STUCK_FAILURE, type="BacklogDown")


@workflow.defn
class FanOutSweep:
    @workflow.run
    async def run(self, label: str) -> int:
        shards = [
            workflow.execute_activity(measure_shard, shard, start_to_close_timeout=timedelta(seconds=20))
            for shard in range(SHARDS)
        ]
        total = sum(await asyncio.gather(*shards))
        await workflow.execute_activity(probe_once_flaky, label, start_to_close_timeout=timedelta(seconds=20),
                                        retry_policy=FAST_RETRY)
        return total


@workflow.defn
class StuckDrain:
    @workflow.run
    async def run(self, name: str) -> None:
        await workflow.execute_activity(drain_backlog, name, start_to_close_timeout=timedelta(seconds=20),
                                        retry_policy=STUCK_RETRY)


@workflow.defn
class ChainLink:
    @workflow.run
    async def run(self, depth: int, hops: int) -> int:
        await workflow.execute_activity(measure_shard, depth, start_to_close_timeout=timedelta(seconds=20))
        if depth > 0:
            await workflow.execute_child_workflow(ChainLink.run, args=[depth - 1, 0],
                                                  id=f"{workflow.info().workflow_id}-child")
        if hops > 0:
            workflow.continue_as_new(args=[0, hops - 1])
        return depth


@workflow.defn
class Mailbox:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.quota = 0
        self.closed = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.closed)
        return self.notes

    @workflow.signal
    def post(self, note: str) -> None:
        self.notes.append(note)

    @workflow.signal
    def close(self) -> None:
        self.closed = True

    @workflow.update
    def set_quota(self, quota: int) -> int:
        self.quota = quota
        return quota

    @set_quota.validator
    def check_quota(self, quota: int) -> None:
        if quota < 0:
            raise ValueError(f"quota must not be negative, got {quota}")


WORKFLOWS = [FanOutSweep, StuckDrain, ChainLink, Mailbox]
ACTIVITIES = [measure_shard, probe_once_flaky, drain_backlog]
