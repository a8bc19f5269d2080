"""The order flow's vocabulary: task queues, step names, and the data that travels between services.

Workflow code imports this module, so it stays standard-library only (and `temporalio`, which the workflow sandbox
always passes through).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.common import SearchAttributeKey

ORDERS_QUEUE = "orders"
PAYMENTS_QUEUE = "payments"
SHIPPING_QUEUE = "shipping"
ACTIVITY_SLOTS = 400
"""Activities each service's worker runs at once: this app's attempts mostly sleep on the event loop, and a crash
window needs every one of its payment attempts in flight on the payments worker at the same moment."""

WORKFLOW_TYPE = "OrderWorkflow"
INVOICE_WORKFLOW_TYPE = "InvoiceWorkflow"
LOYALTY_WORKFLOW_TYPE = "LoyaltyWorkflow"

RESERVE_STOCK = "reserve_stock"
AUTHORIZE_PAYMENT = "authorize_payment"
SHIP_ORDER = "ship_order"
CAPTURE_PAYMENT = "capture_payment"
RELEASE_STOCK = "release_stock"
REFUND_PAYMENT = "refund_payment"
ISSUE_INVOICE = "issue_invoice"
RECORD_STATUS = "record_order_status"

WORK_STEPS = (RESERVE_STOCK, AUTHORIZE_PAYMENT, SHIP_ORDER, CAPTURE_PAYMENT, RELEASE_STOCK, REFUND_PAYMENT,
              ISSUE_INVOICE)

# Signals, queries and updates of OrderWorkflow, and the loyalty workflow's signals.
SIGNAL_CONFIRM_PAYMENT = "confirm_payment"
SIGNAL_CANCEL = "cancel_order"
QUERY_STATUS = "status"
UPDATE_ADDRESS = "change_address"
SIGNAL_ADD_POINTS = "add_points"
SIGNAL_CLOSE = "close"
QUERY_POINTS = "points"

# Custom search attributes an order upserts at each status change, so Visibility can list and count orders by them.
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
"""The order's amount in currency units (cents / 100)."""
ORDER_SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (ORDER_STATUS, CUSTOMER_ID, ORDER_TOTAL)

LOYALTY_EVENTS_PER_RUN = 3
"""A loyalty workflow continues as new after this many point events, keeping its history short."""


def workflow_id_for(order_id: str) -> str:
    return f"order-{order_id}"


def invoice_workflow_id(order_id: str) -> str:
    return f"invoice-{order_id}"


def loyalty_workflow_id(customer: str) -> str:
    return f"loyalty-{customer}"


@dataclass
class Order:
    order_id: str
    customer: str
    amount_cents: int
    items: list[str] = field(default_factory=list)
    shipping_address: str = ""
    card_number: str = ""
    payment_method: str = "card"
    """'card' is authorized at once; 'bank_transfer' waits for a confirm_payment signal (durable timer)."""
    confirmation_timeout_s: float = 30.0


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
    shipping_address: str = ""


@dataclass
class Shipment:
    order: Order
    address: str


@dataclass
class LoyaltyState:
    customer: str
    points: int = 0
    events: int = 0
