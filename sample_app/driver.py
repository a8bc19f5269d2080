"""The scenario driver's run: starts the planned orders, at most so many at a time, crashes the payments worker in
windows of its own, deletes what retention would expire, and times every call it makes to Temporal."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from temporal_lens.sample_app import model
from temporal_lens.sample_app.call_timer import CallTimer
from temporal_lens.sample_app.faults import crash_marker_path
from temporal_lens.sample_app.model import LoyaltyState
from temporal_lens.sample_app.scenario import (
    BAD_ADDRESS,
    DELETION_GONE,
    DELETION_PENDING,
    OrderPlan,
    ScenarioRun,
    StartedOrder,
)
from temporal_lens.sample_app.waiting import Backoff, is_blocked, is_gone

CrashWorker = Callable[[str], Awaitable[tuple[datetime, datetime]]]
"""Kills a service's worker process with SIGKILL and restarts it; returns (killed_at, restarted_at)."""
Progress = Callable[[str, str], None]
"""Told (phase, workflow id) each time an order gets to a phase: 'started', 'closed' or 'deleted'."""

CONCURRENCY_PER_CORE = 8
BASE_TIMEOUT_S = 120.0
WAVE_TIMEOUT_S = 45.0
DELETION_WAIT_S = 90.0
"""How long the driver watches the server remove a deleted run (the dev server took 18-34 s, idle)."""
AWAIT_PAYMENT_S = 60.0
CRASH_START_S = 60.0
CRASH_START_PER_ORDER_S = 3.0
"""A window's orders all start at once and reach payment through the same workers: its bound grows with it."""
CRASH_WINDOW_MAX = model.ACTIVITY_SLOTS // 2
"""Crash orders hanging at once: half the payments worker's activity slots, so every attempt of a window is in
flight, none queued, when the worker dies (one window up to 2,000 orders at the default mix)."""
WAIT_BACKOFF = Backoff(first=0.2, factor=1.5, most=2.0)
DELETION_BACKOFF = Backoff(first=5.0, factor=1.5, most=20.0)
"""Sparse: describing a run whose deletion is under way measured up to 2.8 s under load, the slowest driver call."""


def default_concurrency() -> int:
    return CONCURRENCY_PER_CORE * (os.cpu_count() or 1)


DEFAULT_CONCURRENCY = default_concurrency()
"""Orders in flight at once by default: enough to keep the workers busy, few enough that the driver's calls stay
fast on a dev server sharing the machine."""


def scenario_timeout(orders: int, concurrency: int = DEFAULT_CONCURRENCY) -> float:
    """Seconds the whole scenario may take: a fixed part (worker restarts, deletion lag) and a part per wave of
    `concurrency` orders, each wave given what the slowest scenario (a timed-out shipping step) needs."""
    return BASE_TIMEOUT_S + WAVE_TIMEOUT_S * math.ceil(orders / max(1, concurrency))


async def run_scenario(
    client: Client,
    plans: Sequence[OrderPlan],
    *,
    fault_plan: Path,
    crash_worker: CrashWorker | None = None,
    codec: bool = False,
    timeout: float | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    deletion_wait: float = DELETION_WAIT_S,
    calls: CallTimer | None = None,
    progress: Progress | None = None,
) -> ScenarioRun:
    """Run every planned order, at most `concurrency` at a time: the crash orders first, in windows of their own
    (see `_crash_window`; a window holds up to CRASH_WINDOW_MAX orders whatever the concurrency, as all its
    attempts must hang at once), then all the others. A deleted order (retention expiry) is deleted as soon as it
    closes; the driver then watches the server remove it in the background, for at most `deletion_wait` seconds.

    Args:
        timeout: seconds for the whole scenario; None: `scenario_timeout(len(plans), concurrency)`.
        calls: times every call the driver makes (a new one when None); returned in the run.
        progress: told (on the event loop) each time an order starts, closes, or is deleted, and which.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    crashing = [p for p in plans if p.scenario == "crash"]
    if crashing and crash_worker is None:
        raise ValueError("the crash scenario needs a crash_worker to kill and restart the payments service")
    driver = _Driver(client, calls or CallTimer(), asyncio.Semaphore(concurrency), deletion_wait,
                     progress or (lambda _phase, _workflow_id: None))
    limit = timeout if timeout is not None else scenario_timeout(len(plans), concurrency)
    customers = sorted({p.order.customer for p in plans})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    try:
        try:
            started = await asyncio.wait_for(driver.run(plans, customers, fault_plan, crash_worker), limit)
        except TimeoutError:
            if loop.time() < deadline:
                raise  # an order's own bound (it never waited for payment, its crash attempt never started)
            raise TimeoutError(f"the scenario did not finish within {limit:.0f} s ({len(plans)} orders, "
                               f"{concurrency} at a time); --timeout sets the bound") from None
        # Each watch is bounded by `deletion_wait` on its own, outside the scenario's bound: a lagging server makes
        # a deletion pending, never the study late.
        await asyncio.gather(*driver.deletions)
    finally:
        for watch in driver.deletions:
            watch.cancel()
    loyalty = []
    for customer in customers:
        completed = [p for p in plans if p.order.customer == customer and p.order_status == "completed"]
        loyalty.append({"customer": customer, "workflow_id": model.loyalty_workflow_id(customer),
                        "expected_points": sum(p.order.amount_cents // 100 for p in completed),
                        "expected_events": len(completed), "events_per_run": model.LOYALTY_EVENTS_PER_RUN})
    order_index = {p.order.order_id: i for i, p in enumerate(plans)}
    started.sort(key=lambda o: order_index[o.plan.order.order_id])
    return ScenarioRun(started, loyalty, codec, driver.calls)


async def settle_deletions(client: Client, run: ScenarioRun) -> None:
    """Look once more, just before collection, at each deleted run not yet seen gone: the ground truth then says
    what the server held when the sources were read (a deletion never reverts, so 'gone' stays gone)."""
    pending = [o for o in run.orders if o.deleted and o.deletion != DELETION_GONE]

    async def look(order: StartedOrder) -> None:
        handle = client.get_workflow_handle(order.plan.workflow_id, run_id=order.run_id)
        try:
            gone = await is_gone(handle, run.calls, order.plan.order.order_id)
        except RPCError:  # the server did not say: it held the run when last asked
            gone = False
        order.deletion = DELETION_GONE if gone else DELETION_PENDING

    await asyncio.gather(*(look(o) for o in pending))


class _Driver:
    """One scenario's calls to Temporal, each timed, with at most the semaphore's count of orders in flight."""

    def __init__(self, client: Client, calls: CallTimer, slots: asyncio.Semaphore, deletion_wait: float,
                 progress: Progress) -> None:
        self.client, self.calls, self.slots = client, calls, slots
        self.deletion_wait, self.progress = deletion_wait, progress
        self.deletions: list[asyncio.Task[None]] = []

    async def run(self, plans: Sequence[OrderPlan], customers: list[str], fault_plan: Path,
                  crash_worker: CrashWorker | None) -> list[StartedOrder]:
        for customer in customers:
            with self.calls.timed("start_workflow", model.loyalty_workflow_id(customer)):
                await self.client.start_workflow(model.LOYALTY_WORKFLOW_TYPE, LoyaltyState(customer),
                                                 id=model.loyalty_workflow_id(customer),
                                                 task_queue=model.ORDERS_QUEUE)
        crashing = [p for p in plans if p.scenario == "crash"]
        windows = [crashing[first:first + CRASH_WINDOW_MAX] for first in range(0, len(crashing), CRASH_WINDOW_MAX)]
        started: list[StartedOrder] = []
        last: list[StartedOrder] = []
        for number, window in enumerate(windows, 1):
            assert crash_worker is not None  # run_scenario checked
            crashed = await self._crash_window(window, fault_plan, crash_worker)
            if number < len(windows):  # the next kill must not find this window's retries in flight
                started += await asyncio.gather(*(self._finish(o) for o in crashed))
            else:
                last = crashed
        # After the last kill, the other orders run while the last window's orders wait out their lost attempts'
        # timeouts. Orders to delete go first: the server removes a deleted run tens of seconds later, and that lag
        # then passes while the other orders run. The semaphore is first come, first served.
        rest = sorted((p for p in plans if p.scenario != "crash"), key=lambda p: p.scenario != "deleted")
        started += await asyncio.gather(*(self._finish(o) for o in last), *(self._run_order(p) for p in rest))
        for customer in customers:
            handle = self.client.get_workflow_handle(model.loyalty_workflow_id(customer))
            with self.calls.timed("signal", handle.id):
                await handle.signal(model.SIGNAL_CLOSE)
            with self.calls.timed("result", handle.id):
                await handle.result()
        return started

    async def _start(self, plan: OrderPlan) -> StartedOrder:
        started_at = datetime.now(UTC)
        with self.calls.timed("start_workflow", plan.order.order_id):
            handle = await self.client.start_workflow(
                model.WORKFLOW_TYPE, plan.order, id=plan.workflow_id, task_queue=model.ORDERS_QUEUE
            )
        self.progress("started", plan.workflow_id)
        return StartedOrder(plan, handle.result_run_id, started_at)

    async def _finish(self, order: StartedOrder) -> StartedOrder:
        handle = self.client.get_workflow_handle(order.plan.workflow_id, run_id=order.run_id)
        try:
            with self.calls.timed("result", order.plan.order.order_id):
                await handle.result()
            order.observed_status = "completed"
        except WorkflowFailureError:
            order.observed_status = "failed"
        order.finished_at = datetime.now(UTC)
        self.progress("closed", order.plan.workflow_id)
        return order

    async def _run_order(self, plan: OrderPlan) -> StartedOrder:
        async with self.slots:
            order = await self._start(plan)
            if plan.scenario in ("cancel", "address_update"):
                await self._interact(order)
            await self._finish(order)
            if plan.scenario == "deleted":
                await self._delete(order)
        return order

    async def _delete(self, order: StartedOrder) -> None:
        """Delete the closed run, as retention expiry would; watching the server remove it happens in the
        background, so a lagging server never holds up the other orders."""
        with self.calls.timed("delete", order.plan.order.order_id):
            await self.client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=order.plan.workflow_id,
                                                     run_id=order.run_id or ""),
            ))
        order.deleted, order.deletion = True, DELETION_PENDING
        self.progress("deleted", order.plan.workflow_id)
        self.deletions.append(asyncio.create_task(self._watch_deletion(order)))

    async def _watch_deletion(self, order: StartedOrder) -> None:
        handle = self.client.get_workflow_handle(order.plan.workflow_id, run_id=order.run_id)
        order_id = order.plan.order.order_id

        async def gone() -> bool:
            try:
                return await is_gone(handle, self.calls, order_id)
            except RPCError:  # a slow or busy server: look again later; the deletion stays pending meanwhile
                return False

        if await DELETION_BACKOFF.until(gone, self.deletion_wait):
            order.deletion = DELETION_GONE

    async def _interact(self, order: StartedOrder) -> None:
        handle = self.client.get_workflow_handle(order.plan.workflow_id, run_id=order.run_id)
        order_id = order.plan.order.order_id
        # Wait until the order waits for payment: that is when the customer acts. Describe (answered by the server
        # alone) tells when the run blocks; only then does one query, run by a worker, confirm what it waits for.
        if not await WAIT_BACKOFF.until(lambda: self._awaits_payment(handle, order_id), AWAIT_PAYMENT_S):
            raise TimeoutError(f"order {order_id} never waited for payment")

        def note(kind: str, name: str, accepted: bool = True, argument: str | None = None,
                 expected: str | None = None):
            order.interactions.append({"order_id": order_id, "kind": kind, "name": name,
                                       "sent_at": datetime.now(UTC), "accepted": accepted, "argument": argument,
                                       "expected": expected})

        note("query", model.QUERY_STATUS, expected="awaiting_payment")
        if order.plan.scenario == "cancel":
            note("signal", model.SIGNAL_CANCEL, argument="customer changed their mind")
            with self.calls.timed("signal", order_id):
                await handle.signal(model.SIGNAL_CANCEL, "customer changed their mind")
            return
        note("update", model.UPDATE_ADDRESS, accepted=False, argument=BAD_ADDRESS)
        try:
            with self.calls.timed("update", order_id):
                await handle.execute_update(model.UPDATE_ADDRESS, BAD_ADDRESS)
            raise AssertionError("the address validator accepted a bad address")
        except WorkflowUpdateFailedError:
            pass
        note("update", model.UPDATE_ADDRESS, accepted=True, argument=order.plan.new_address)
        with self.calls.timed("update", order_id):
            await handle.execute_update(model.UPDATE_ADDRESS, order.plan.new_address)
        note("signal", model.SIGNAL_CONFIRM_PAYMENT)
        with self.calls.timed("signal", order_id):
            await handle.signal(model.SIGNAL_CONFIRM_PAYMENT)

    async def _awaits_payment(self, handle: WorkflowHandle, order_id: str) -> bool:
        if not await is_blocked(handle, self.calls, order_id):
            return False
        with self.calls.timed("query", order_id):
            return await handle.query(model.QUERY_STATUS) == "awaiting_payment"

    async def _crash_window(self, plans: Sequence[OrderPlan], fault_plan: Path,
                            crash_worker: CrashWorker) -> list[StartedOrder]:
        """Start every order of the window, wait until each one's payment attempt hangs on the payments worker
        (it touched its marker), kill that worker once and restart it; returns the started orders (the caller
        waits for them to close).

        No other order runs before a window's kill: crash windows come before every other order, and each but the
        last is waited for until its orders close, so the only attempts a kill loses are the planned ones (a
        non-crash order's payment attempt in flight at the kill would be lost too, unplanned)."""
        orders = list(await asyncio.gather(*(self._start(p) for p in plans)))
        markers = [crash_marker_path(fault_plan, p.order.order_id) for p in plans]

        async def all_hang() -> bool:
            return all(marker.exists() for marker in markers)

        if not await WAIT_BACKOFF.until(all_hang, CRASH_START_S + CRASH_START_PER_ORDER_S * len(plans)):
            late = [p.order.order_id for p, m in zip(plans, markers, strict=True) if not m.exists()]
            raise TimeoutError(f"order(s) {', '.join(late)}: the payment attempt to crash never started")
        killed_at, restarted_at = await crash_worker("payments")
        for order in orders:
            order.crash = {"order_id": order.plan.order.order_id, "service": "payments",
                           "step": model.AUTHORIZE_PAYMENT, "killed_at": killed_at, "restarted_at": restarted_at}
        return orders
