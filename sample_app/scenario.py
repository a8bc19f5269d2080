"""The scenario driver: plans seeded orders with injected faults, runs them, and records the ground truth."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyarrow as pa
from temporalio.client import Client, WorkflowFailureError

from temporal_lens.sample_app import model
from temporal_lens.sample_app.faults import decline_error_message, transient_error_message, write_fault_plan
from temporal_lens.sample_app.model import Order

SCENARIOS = ("happy", "retry", "decline")


@dataclass
class OrderPlan:
    order: Order
    scenario: str
    work_ms: dict[str, int]
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def workflow_id(self) -> str:
        return model.workflow_id_for(self.order.order_id)

    @property
    def expected_status(self) -> str:
        return "failed" if self.scenario == "decline" else "completed"

    @property
    def payment_failures(self) -> int:
        return int(self.faults.get(model.AUTHORIZE_PAYMENT, {}).get("transient_failures", 0))

    @property
    def expected_steps(self) -> tuple[str, ...]:
        return model.DECLINED_STEPS if self.scenario == "decline" else model.HAPPY_STEPS

    def attempts(self) -> list[dict[str, Any]]:
        """Every attempt of every work step this order must run, in order."""
        order_id, rows = self.order.order_id, []
        for step in self.expected_steps:
            work = self.work_ms[step]
            if step == model.AUTHORIZE_PAYMENT and self.scenario == "decline":
                rows.append(_attempt(order_id, step, 1, "failed", decline_error_message(order_id), work))
                continue
            failures = self.payment_failures if step == model.AUTHORIZE_PAYMENT else 0
            for attempt in range(1, failures + 1):
                error = transient_error_message(order_id, attempt)
                rows.append(_attempt(order_id, step, attempt, "failed", error, work))
            rows.append(_attempt(order_id, step, failures + 1, "completed", None, work))
        return rows


def _attempt(order_id: str, step: str, attempt: int, outcome: str, error: str | None, work_ms: int) -> dict[str, Any]:
    return {"order_id": order_id, "step": step, "attempt": attempt, "outcome": outcome, "error": error,
            "work_ms": work_ms}


def plan_orders(count: int, *, seed: int, run_tag: str, scenarios: Sequence[str] = SCENARIOS) -> list[OrderPlan]:
    """`count` orders whose scenario kinds cycle through `scenarios` (each kind at least once when count allows)."""
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario kind(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    if count < 1:
        raise ValueError("the number of orders must be at least 1")
    rng = random.Random(seed)
    kinds = [scenarios[i % len(scenarios)] for i in range(count)]
    rng.shuffle(kinds)
    plans, retries = [], 0
    for index, kind in enumerate(kinds):
        order = Order(
            order_id=f"{run_tag}-{index:04d}",
            customer=f"customer-{rng.randint(1, 40):02d}",
            amount_cents=rng.randint(500, 50_000),
            items=[f"sku-{rng.randint(100, 999)}" for _ in range(rng.randint(1, 3))],
        )
        work_ms = {step: rng.randint(60, 250) for step in model.WORK_STEPS}
        faults: dict[str, dict[str, Any]] = {}
        if kind == "retry":
            # Alternate two failures and one, so every mix shows both what history keeps and what it loses.
            faults[model.AUTHORIZE_PAYMENT] = {"transient_failures": 2 if retries % 2 == 0 else 1}
            retries += 1
        elif kind == "decline":
            faults[model.AUTHORIZE_PAYMENT] = {"decline": True}
        plans.append(OrderPlan(order, kind, work_ms, faults))
    return plans


def write_plan_file(path: Path, plans: Sequence[OrderPlan]) -> None:
    write_fault_plan(path, {p.order.order_id: {"work_ms": p.work_ms, "faults": p.faults} for p in plans})


@dataclass
class StartedOrder:
    plan: OrderPlan
    run_id: str | None
    started_at: datetime
    observed_status: str | None = None


async def run_orders(client: Client, plans: Sequence[OrderPlan], *, timeout: float = 150.0) -> list[StartedOrder]:
    """Start every planned order, then wait for all of them to close."""
    started = []
    for plan in plans:
        started_at = datetime.now(UTC)
        handle = await client.start_workflow(
            model.WORKFLOW_TYPE, plan.order, id=plan.workflow_id, task_queue=model.ORDERS_QUEUE
        )
        started.append(StartedOrder(plan, handle.result_run_id, started_at))

    async def wait(order: StartedOrder) -> None:
        handle = client.get_workflow_handle(order.plan.workflow_id, run_id=order.run_id)
        try:
            await handle.result()
            order.observed_status = "completed"
        except WorkflowFailureError:
            order.observed_status = "failed"

    await asyncio.wait_for(asyncio.gather(*(wait(order) for order in started)), timeout)
    return started


def ground_truth_tables(started: Sequence[StartedOrder]) -> dict[str, pa.Table]:
    orders = [
        {
            "order_id": o.plan.order.order_id,
            "workflow_id": o.plan.workflow_id,
            "run_id": o.run_id,
            "scenario": o.plan.scenario,
            "expected_status": o.plan.expected_status,
            "expected_attempts": 1 if o.plan.scenario == "decline" else o.plan.payment_failures + 1,
            "customer": o.plan.order.customer,
            "amount_cents": o.plan.order.amount_cents,
            "started_at": o.started_at,
        }
        for o in started
    ]
    attempts = [row for o in started for row in o.plan.attempts()]
    return {"ground_truth": pa.Table.from_pylist(orders), "ground_truth_attempts": pa.Table.from_pylist(attempts)}


def ground_truth_schema() -> str:
    return files(__package__).joinpath("ground_truth.sql").read_text(encoding="utf-8")
