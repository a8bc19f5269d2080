"""OrderWorkflow: the orders service's orchestration of stock, payment and shipping across three services.

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
    from temporal_lens.sample_app.model import Order, OrderResult, StatusChange

STEP_TIMEOUT = timedelta(seconds=30)
PAYMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_attempts=6,
    non_retryable_error_types=["CardDeclined"],
)


@workflow.defn(name=model.WORKFLOW_TYPE)
class OrderWorkflow:
    def __init__(self) -> None:
        self._status = "received"

    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        await self._record(order, "received")
        await workflow.execute_activity(
            model.RESERVE_STOCK, order, task_queue=model.SHIPPING_QUEUE, start_to_close_timeout=STEP_TIMEOUT
        )
        await self._record(order, "stock_reserved")
        try:
            await workflow.execute_activity(
                model.AUTHORIZE_PAYMENT,
                order,
                task_queue=model.PAYMENTS_QUEUE,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=PAYMENT_RETRY,
            )
        except ActivityError as err:
            await workflow.execute_activity(
                model.RELEASE_STOCK, order, task_queue=model.SHIPPING_QUEUE, start_to_close_timeout=STEP_TIMEOUT
            )
            await self._record(order, "payment_declined")
            raise ApplicationError(
                f"order {order.order_id} cancelled: payment declined", type="PaymentDeclined", non_retryable=True
            ) from err
        await self._record(order, "payment_authorized")
        tracking = await workflow.execute_activity(
            model.SHIP_ORDER,
            order,
            task_queue=model.SHIPPING_QUEUE,
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=str,
        )
        await self._record(order, "shipped")
        await workflow.execute_activity(
            model.CAPTURE_PAYMENT, order, task_queue=model.PAYMENTS_QUEUE, start_to_close_timeout=STEP_TIMEOUT
        )
        await self._record(order, "completed")
        return OrderResult(order_id=order.order_id, status="completed", tracking_number=tracking)

    @workflow.query
    def status(self) -> str:
        return self._status

    async def _record(self, order: Order, status: str) -> None:
        self._status = status
        await workflow.execute_activity(
            model.RECORD_STATUS,
            StatusChange(order.order_id, status, order.customer, order.amount_cents),
            task_queue=model.ORDERS_QUEUE,
            start_to_close_timeout=STEP_TIMEOUT,
        )
