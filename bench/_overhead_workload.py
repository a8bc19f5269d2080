"""The benchmark's workload: one lean workflow running three activities (imports only temporalio)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def step(n: int) -> int:
    return n + 1


@workflow.defn
class BenchWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        for _ in range(3):
            n = await workflow.execute_activity(step, n, start_to_close_timeout=timedelta(seconds=30))
        return n
