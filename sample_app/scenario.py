"""The scenario: seeded orders with injected faults, and the ground truth of what the driver did with them (the
driver itself, which runs them, is driver.py).

Ground truth holds only what the driver decided or did itself; nothing read back from Temporal, spans or logs,
except whether a run the driver deleted was gone yet (the server deletes asynchronously, and lags).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyarrow as pa

from temporal_lens.sample_app import model
from temporal_lens.sample_app.call_timer import CallTimer
from temporal_lens.sample_app.faults import (
    decline_error_message,
    out_of_stock_message,
    transient_error_message,
    write_fault_plan,
)
from temporal_lens.sample_app.model import Order

SCENARIOS = ("happy", "retry", "decline", "out_of_stock", "timeout", "heartbeat", "cancel", "address_update",
             "expire", "crash", "deleted")
INTERACTIVE = ("cancel", "address_update", "expire")
FAILING = {"decline": "payment_declined", "out_of_stock": "out_of_stock"}
STOPPED = {"cancel": "canceled", "expire": "expired"}
EXPIRE_AFTER_S = 2.0
BAD_ADDRESS = "x"
DELETION_GONE, DELETION_PENDING = "gone", "pending"
"""What the server held of a deleted run when the driver last looked before collection."""



@dataclass
class OrderPlan:
    order: Order
    scenario: str
    work_ms: dict[str, int]
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_address: str | None = None

    @property
    def workflow_id(self) -> str:
        return model.workflow_id_for(self.order.order_id)

    @property
    def order_status(self) -> str:
        return FAILING.get(self.scenario) or STOPPED.get(self.scenario) or "completed"

    @property
    def workflow_status(self) -> str:
        return "failed" if self.scenario in FAILING else "completed"

    @property
    def final_address(self) -> str:
        return self.new_address or self.order.shipping_address

    @property
    def compensations(self) -> list[str]:
        if self.scenario == "out_of_stock":
            return [model.REFUND_PAYMENT, model.RELEASE_STOCK]
        return [model.RELEASE_STOCK] if self.scenario in ("decline", "cancel", "expire") else []

    def attempts(self) -> list[dict[str, Any]]:
        """Every attempt of every step this order must run, in order."""
        order_id, kind, rows = self.order.order_id, self.scenario, []

        def add(step: str, attempt: int, outcome: str, error: str | None = None, error_type: str | None = None):
            rows.append({"order_id": order_id, "step": step, "attempt": attempt, "outcome": outcome, "error": error,
                         "error_type": error_type, "work_ms": self.work_ms[step]})

        add(model.RESERVE_STOCK, 1, "completed")
        if kind in ("cancel", "expire"):
            add(model.RELEASE_STOCK, 1, "completed")
            return rows
        if kind == "decline":
            add(model.AUTHORIZE_PAYMENT, 1, "failed", decline_error_message(order_id), "CardDeclined")
            add(model.RELEASE_STOCK, 1, "completed")
            return rows
        failures = int(self.faults.get(model.AUTHORIZE_PAYMENT, {}).get("transient_failures", 0))
        for attempt in range(1, failures + 1):
            add(model.AUTHORIZE_PAYMENT, attempt, "failed", transient_error_message(order_id, attempt),
                "PaymentGatewayTimeout")
        if kind == "crash":
            add(model.AUTHORIZE_PAYMENT, 1, "lost", None, "WorkerCrash")
            failures = 1
        add(model.AUTHORIZE_PAYMENT, failures + 1, "completed")
        if kind == "out_of_stock":
            add(model.SHIP_ORDER, 1, "failed", out_of_stock_message(order_id), "OutOfStock")
            add(model.REFUND_PAYMENT, 1, "completed")
            add(model.RELEASE_STOCK, 1, "completed")
            return rows
        if kind in ("timeout", "heartbeat"):
            add(model.SHIP_ORDER, 1, "timed_out", None, "StartToClose" if kind == "timeout" else "Heartbeat")
            add(model.SHIP_ORDER, 2, "completed")
        else:
            add(model.SHIP_ORDER, 1, "completed")
        add(model.CAPTURE_PAYMENT, 1, "completed")
        add(model.ISSUE_INVOICE, 1, "completed")
        return rows


HARD_CASES = ("retry", "timeout", "heartbeat", "address_update", "deleted", "crash", "cancel", "expire")
"""Scenario kinds each carrying one question's hard case: two or more failed payment attempts (retry), a
start-to-close timeout, a heartbeat timeout, a rejected update (address_update), a deletion, a crash, a
cancellation, an expiry."""
DEFAULT_CASES = 2


def plan_orders(
    count: int, *, seed: int, run_tag: str, scenarios: Sequence[str] = SCENARIOS, cases: int = 0
) -> list[OrderPlan]:
    """`count` orders whose scenario kinds cycle through `scenarios` (each kind at least once when count allows),
    and more where needed so that each hard case among `scenarios` occurs at least `cases` times (retry orders
    alternate two failures and one, so `cases` retry orders with two failures take 2 * cases - 1 of them).
    The same arguments always give the same plan."""
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario kind(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    if count < 1:
        raise ValueError("the number of orders must be at least 1")
    if cases < 0:
        raise ValueError(f"the number of hard cases must be 0 or more, got {cases}")
    rng = random.Random(seed)
    kinds = [scenarios[i % len(scenarios)] for i in range(count)]
    for kind in HARD_CASES:
        if kind in scenarios and cases:
            needed = 2 * cases - 1 if kind == "retry" else cases
            kinds += [kind] * max(0, needed - kinds.count(kind))
    count = len(kinds)
    rng.shuffle(kinds)
    customers = [f"customer-{k:02d}" for k in range(1, max(2, count // 4) + 1)]
    plans, retries = [], 0
    for index, kind in enumerate(kinds):
        order = Order(
            order_id=f"{run_tag}-{index:04d}",
            customer=rng.choice(customers),
            amount_cents=rng.randint(500, 50_000),
            items=[f"sku-{rng.randint(100, 999)}" for _ in range(rng.randint(1, 3))],
            shipping_address=f"{index + 1} Sentinel Street, SENTINEL-CITY {run_tag}",
            card_number=f"4111-1111-SENT-{index:04d}",
            payment_method="bank_transfer" if kind in INTERACTIVE else "card",
            confirmation_timeout_s=EXPIRE_AFTER_S if kind == "expire" else 60.0,
        )
        work_ms = {step: rng.randint(60, 250) for step in model.WORK_STEPS}
        faults: dict[str, dict[str, Any]] = {}
        new_address = None
        if kind == "retry":
            # Alternate two failures and one, so every mix shows both what history keeps and what it loses.
            faults[model.AUTHORIZE_PAYMENT] = {"transient_failures": 2 if retries % 2 == 0 else 1}
            retries += 1
        elif kind == "decline":
            faults[model.AUTHORIZE_PAYMENT] = {"decline": True}
        elif kind == "out_of_stock":
            faults[model.SHIP_ORDER] = {"out_of_stock": True}
        elif kind in ("timeout", "heartbeat"):
            faults[model.SHIP_ORDER] = {"hang_attempts": 1, "hang": kind}
        elif kind == "crash":
            faults[model.AUTHORIZE_PAYMENT] = {"crash": True}
        elif kind == "address_update":
            new_address = f"{index + 1} Moved Avenue, SENTINEL-TOWN {run_tag}"
        plans.append(OrderPlan(order, kind, work_ms, faults, new_address))
    return plans


def write_plan_file(path: Path, plans: Sequence[OrderPlan]) -> None:
    write_fault_plan(path, {p.order.order_id: {"work_ms": p.work_ms, "faults": p.faults} for p in plans})


@dataclass
class StartedOrder:
    plan: OrderPlan
    run_id: str | None
    started_at: datetime
    finished_at: datetime | None = None
    """When the driver saw the result: with `started_at`, the window the order's run lies in."""
    observed_status: str | None = None
    interactions: list[dict[str, Any]] = field(default_factory=list)
    crash: dict[str, Any] | None = None
    deleted: bool = False
    deletion: str | None = None
    """For a deleted order, what the server held when the driver last looked before collection: 'gone' or
    'pending' (DeleteWorkflowExecution is asynchronous and the server may lag)."""


@dataclass
class ScenarioRun:
    orders: list[StartedOrder]
    loyalty: list[dict[str, Any]]
    codec: bool
    calls: CallTimer = field(default_factory=CallTimer)
    """Every call the driver made to Temporal, timed."""


def ground_truth_tables(run: ScenarioRun) -> dict[str, pa.Table]:
    orders = [
        {
            "order_id": o.plan.order.order_id,
            "workflow_id": o.plan.workflow_id,
            "run_id": o.run_id,
            "scenario": o.plan.scenario,
            "expected_status": o.plan.workflow_status,
            "expected_order_status": o.plan.order_status,
            "expected_attempts": sum(1 for a in o.plan.attempts() if a["step"] == model.AUTHORIZE_PAYMENT),
            "customer": o.plan.order.customer,
            "amount_cents": o.plan.order.amount_cents,
            "payment_method": o.plan.order.payment_method,
            "shipping_address": o.plan.final_address,
            "card_number": o.plan.order.card_number,
            "compensations": ",".join(o.plan.compensations),
            "crashed": o.crash is not None,
            "deleted": o.deleted,
            "deletion": o.deletion,
            "codec": run.codec,
            "started_at": o.started_at,
            "finished_at": o.finished_at,
        }
        for o in run.orders
    ]
    return {
        "ground_truth": pa.Table.from_pylist(orders),
        "ground_truth_attempts": pa.Table.from_pylist([row for o in run.orders for row in o.plan.attempts()]),
        "ground_truth_interactions": _table([i for o in run.orders for i in o.interactions], _INTERACTIONS),
        "ground_truth_crashes": _table([o.crash for o in run.orders if o.crash], _CRASHES),
        "ground_truth_loyalty": pa.Table.from_pylist(run.loyalty),
    }


_TS = pa.timestamp("us", tz="UTC")
_INTERACTIONS = pa.schema([("order_id", pa.string()), ("kind", pa.string()), ("name", pa.string()),
                           ("sent_at", _TS), ("accepted", pa.bool_()), ("argument", pa.string()),
                           ("expected", pa.string())])
_CRASHES = pa.schema([("order_id", pa.string()), ("service", pa.string()), ("step", pa.string()),
                      ("killed_at", _TS), ("restarted_at", _TS)])


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def ground_truth_schema() -> str:
    return files(__package__).joinpath("ground_truth.sql").read_text(encoding="utf-8")
