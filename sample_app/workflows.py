"""The orders service's workflows: OrderWorkflow across three services, its InvoiceWorkflow child, and a
long-lived LoyaltyWorkflow per customer that continues as new.

Imports are kept lean on purpose: the workflow sandbox re-imports a workflow module's non-passthrough imports on
every run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporal_lens.sample_app import model
    from temporal_lens.sample_app.model import LoyaltyState, Order, OrderResult, Shipment, StatusChange

STEP_TIMEOUT = timedelta(seconds=30)
FAST_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), backoff_coefficient=2.0, maximum_attempts=6,
                         non_retryable_error_types=["CardDeclined", "OutOfStock"])
PAYMENT_HEARTBEAT = timedelta(seconds=2)
SHIPPING_TIMEOUT = timedelta(seconds=3)
SHIPPING_HEARTBEAT = timedelta(seconds=1)


class OrderStopped(Exception):
    """The order ends early with a business status (declined, out of stock, canceled, expired)."""

    def __init__(self, status: str, *, fail: bool, message: str) -> None:
        super().__init__(message)
        self.status, self.fail, self.message = status, fail, message


@workflow.defn(name=model.WORKFLOW_TYPE)
class OrderWorkflow:
    def __init__(self) -> None:
        self._status = "received"
        self._address = ""
        self._confirmed = False
        self._cancel_reason: str | None = None
        self._compensations: list[str] = []

    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        self._address = order.shipping_address
        await self._record(order, "received")
        try:
            await self._step(model.RESERVE_STOCK, order, model.SHIPPING_QUEUE)
            self._compensations.append(model.RELEASE_STOCK)
            await self._record(order, "stock_reserved")
            if order.payment_method == "bank_transfer":
                await self._await_confirmation(order)
            self._check_canceled()
            try:
                await self._step(model.AUTHORIZE_PAYMENT, order, model.PAYMENTS_QUEUE,
                                 heartbeat_timeout=PAYMENT_HEARTBEAT)
            except ActivityError as err:
                raise OrderStopped("payment_declined", fail=True, message="payment declined") from err
            self._compensations.append(model.REFUND_PAYMENT)
            await self._record(order, "payment_authorized")
            self._check_canceled()
            try:
                tracking = await workflow.execute_activity(
                    model.SHIP_ORDER, Shipment(order, self._address), task_queue=model.SHIPPING_QUEUE,
                    start_to_close_timeout=SHIPPING_TIMEOUT, heartbeat_timeout=SHIPPING_HEARTBEAT,
                    retry_policy=FAST_RETRY, result_type=str,
                )
            except ActivityError as err:
                raise OrderStopped("out_of_stock", fail=True, message="out of stock") from err
            self._compensations.clear()
            await self._record(order, "shipped")
            await self._step(model.CAPTURE_PAYMENT, order, model.PAYMENTS_QUEUE)
            await workflow.execute_child_workflow(
                model.INVOICE_WORKFLOW_TYPE, order, id=model.invoice_workflow_id(order.order_id),
                task_queue=model.ORDERS_QUEUE,
            )
            await workflow.get_external_workflow_handle(model.loyalty_workflow_id(order.customer)).signal(
                model.SIGNAL_ADD_POINTS, order.amount_cents // 100
            )
            await self._record(order, "completed")
            return OrderResult(order_id=order.order_id, status="completed", tracking_number=tracking)
        except OrderStopped as stop:
            for compensation in reversed(self._compensations):
                await self._step(compensation, order,
                                 model.SHIPPING_QUEUE if compensation == model.RELEASE_STOCK else model.PAYMENTS_QUEUE)
            await self._record(order, stop.status)
            if stop.fail:
                raise ApplicationError(
                    f"order {order.order_id} {stop.message}", type=_error_type(stop.status), non_retryable=True
                ) from stop.__cause__
            return OrderResult(order_id=order.order_id, status=stop.status)

    async def _await_confirmation(self, order: Order) -> None:
        await self._record(order, "awaiting_payment")
        try:
            await workflow.wait_condition(
                lambda: self._confirmed or self._cancel_reason is not None,
                timeout=timedelta(seconds=order.confirmation_timeout_s),
                timeout_summary="payment confirmation",
            )
        except TimeoutError:
            raise OrderStopped("expired", fail=False, message="payment not confirmed in time") from None

    def _check_canceled(self) -> None:
        if self._cancel_reason is not None:
            raise OrderStopped("canceled", fail=False, message=self._cancel_reason)

    async def _step(self, name: str, order: Order, queue: str, **options) -> None:
        await workflow.execute_activity(name, order, task_queue=queue, start_to_close_timeout=STEP_TIMEOUT,
                                        retry_policy=FAST_RETRY, **options)

    async def _record(self, order: Order, status: str) -> None:
        await workflow.execute_activity(
            model.RECORD_STATUS,
            StatusChange(order.order_id, status, order.customer, order.amount_cents, self._address),
            task_queue=model.ORDERS_QUEUE,
            start_to_close_timeout=STEP_TIMEOUT,
        )
        # Only a recorded status is reported: a query then never runs ahead of the orders table, and whatever the
        # workflow does right after (e.g. start its payment timer) happens in the same workflow task. Visibility
        # gets the same status in the same task (an upsert is a command, replayed like any other).
        self._status = status
        workflow.upsert_search_attributes([
            model.ORDER_STATUS.value_set(status),
            model.CUSTOMER_ID.value_set(order.customer),
            model.ORDER_TOTAL.value_set(order.amount_cents / 100),
        ])

    @workflow.signal(name=model.SIGNAL_CONFIRM_PAYMENT)
    def confirm_payment(self) -> None:
        self._confirmed = True

    @workflow.signal(name=model.SIGNAL_CANCEL)
    def cancel_order(self, reason: str) -> None:
        self._cancel_reason = reason or "canceled by customer"

    @workflow.query(name=model.QUERY_STATUS)
    def status(self) -> str:
        return self._status

    @workflow.update(name=model.UPDATE_ADDRESS)
    def change_address(self, address: str) -> str:
        self._address = address
        return address

    @change_address.validator
    def validate_address(self, address: str) -> None:
        if len(address.strip()) < 5:
            raise ValueError(f"address too short: {address!r}")
        if self._status not in ("received", "stock_reserved", "awaiting_payment"):
            raise ValueError(f"order already {self._status}: the address can no longer change")


def _error_type(status: str) -> str:
    return {"payment_declined": "PaymentDeclined", "out_of_stock": "OutOfStock"}.get(status, "OrderFailed")


@workflow.defn(name=model.INVOICE_WORKFLOW_TYPE)
class InvoiceWorkflow:
    """A child of each completed order: issues the invoice on the payments service."""

    @workflow.run
    async def run(self, order: Order) -> str:
        return await workflow.execute_activity(model.ISSUE_INVOICE, order, task_queue=model.PAYMENTS_QUEUE,
                                               start_to_close_timeout=STEP_TIMEOUT, result_type=str)


@workflow.defn(name=model.LOYALTY_WORKFLOW_TYPE)
class LoyaltyWorkflow:
    """A customer's loyalty account: a long-lived entity that continues as new to keep its history short."""

    def __init__(self) -> None:
        self._pending: list[int] = []
        self._closing = False
        self._state: LoyaltyState | None = None

    @workflow.run
    async def run(self, state: LoyaltyState) -> LoyaltyState:
        self._state = state
        handled = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._closing)
            while self._pending:
                state.points += self._pending.pop(0)
                state.events += 1
                handled += 1
            if self._closing:
                return state
            if handled >= model.LOYALTY_EVENTS_PER_RUN:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(state)

    @workflow.signal(name=model.SIGNAL_ADD_POINTS)
    def add_points(self, points: int) -> None:
        self._pending.append(points)

    @workflow.signal(name=model.SIGNAL_CLOSE)
    def close(self) -> None:
        self._closing = True

    @workflow.query(name=model.QUERY_POINTS)
    def points(self) -> int:
        return (self._state.points if self._state else 0) + sum(self._pending)
