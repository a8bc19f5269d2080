"""The order flow's vocabulary: task queues, step names, and the data that travels between services.

Workflow code imports this module, so it stays standard-library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORDERS_QUEUE = "orders"
PAYMENTS_QUEUE = "payments"
SHIPPING_QUEUE = "shipping"

WORKFLOW_TYPE = "OrderWorkflow"

RESERVE_STOCK = "reserve_stock"
AUTHORIZE_PAYMENT = "authorize_payment"
SHIP_ORDER = "ship_order"
CAPTURE_PAYMENT = "capture_payment"
RELEASE_STOCK = "release_stock"
RECORD_STATUS = "record_order_status"

HAPPY_STEPS = (RESERVE_STOCK, AUTHORIZE_PAYMENT, SHIP_ORDER, CAPTURE_PAYMENT)
DECLINED_STEPS = (RESERVE_STOCK, AUTHORIZE_PAYMENT, RELEASE_STOCK)
WORK_STEPS = (*HAPPY_STEPS, RELEASE_STOCK)


def workflow_id_for(order_id: str) -> str:
    return f"order-{order_id}"


@dataclass
class Order:
    order_id: str
    customer: str
    amount_cents: int
    items: list[str] = field(default_factory=list)


@dataclass
class OrderResult:
    order_id: str
    status: str
    tracking_number: str | None = None


@dataclass
class StatusChange:
    order_id: str
    status: str
    customer: str = ""
    amount_cents: int = 0
