"""How the sample activities do their work: sleep for the planned time, heartbeating, and obey the fault plan."""

from __future__ import annotations

import asyncio

from temporalio import activity

from temporal_lens.sample_app.faults import FaultPlan, StepFault
from temporal_lens.sample_app.queue_ledger import record_queue_wait

HEARTBEAT_EVERY_S = 0.25
HANG_S = 30.0
SILENT_S = 2.0

plan = FaultPlan()


async def work(order_id: str, step: str, *, heartbeat: bool = False) -> StepFault:
    """Work the planned time for this order's step; returns the step's fault for the caller to act on.

    An attempt the plan says hangs or crashes does not return: the server times it out or the process dies.
    """
    if plan.path is not None:  # the run folder: the ledger is the queue-wait ground truth
        record_queue_wait(plan.path.parent, order_id)
    fault = plan.fault(order_id, step)
    attempt = activity.info().attempt
    if fault.crash and attempt == 1:
        plan.crash_marker(order_id).write_text(str(attempt))
        await _sleep(HANG_S, heartbeat=True)
    if attempt <= fault.hang_attempts:
        if fault.hang == "heartbeat":
            # Go silent past the heartbeat timeout; the next heartbeat then learns the server gave up on this
            # attempt, and the SDK cancels it.
            await asyncio.sleep(SILENT_S)
        await _sleep(HANG_S, heartbeat=True)
    await _sleep(plan.work_ms(order_id, step) / 1000, heartbeat=heartbeat)
    return fault


async def _sleep(seconds: float, *, heartbeat: bool) -> None:
    if not heartbeat:
        await asyncio.sleep(seconds)
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        activity.heartbeat()
        await asyncio.sleep(min(HEARTBEAT_EVERY_S, left))
