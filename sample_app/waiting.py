"""How the driver waits for the server: backed-off polling of cheap calls, never a tight loop of queries.

A query runs on a worker (the server hands it a workflow task and waits for the answer), so under load a tight
query loop competes with the very workflow tasks it waits for; DescribeWorkflowExecution is answered by the server
alone from the run's mutable state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from temporal_lens.sample_app.call_timer import CallTimer


@dataclass(frozen=True)
class Backoff:
    """Polling intervals: `first`, growing by `factor` up to `most` seconds."""

    first: float = 0.2
    factor: float = 1.5
    most: float = 2.0

    async def until(self, ready: Callable[[], Awaitable[bool]], timeout: float) -> bool:
        """Poll `ready` until it says yes (True) or `timeout` seconds have passed (False); it is asked at least
        once, and once more at the deadline."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + timeout, self.first
        while True:
            if await ready():
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(delay, left))
            delay = min(delay * self.factor, self.most)


async def is_blocked(handle: WorkflowHandle, calls: CallTimer, order: str) -> bool:
    """True when the run waits on nothing but a signal, an update or a timer: no activity and no workflow task
    pending. Completing an activity schedules the next workflow task in the same server transaction, so a run
    between two steps never looks blocked."""
    with calls.timed("describe", order):
        described = await handle.describe()
    raw = described.raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


async def is_gone(handle: WorkflowHandle, calls: CallTimer, order: str) -> bool:
    """True once the server no longer holds the run (DescribeWorkflowExecution answers NOT_FOUND)."""
    try:
        with calls.timed("describe", order):
            await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False
