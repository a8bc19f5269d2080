"""The payments service: authorizes, captures and refunds card payments (activities on the `payments` queue)."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from temporal_lens.interceptors import get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.faults import FaultPlan, decline_error_message, transient_error_message
from temporal_lens.sample_app.model import Order
from temporal_lens.sample_app.service import run_service, service_arguments

_plan = FaultPlan()
log = get_logger("payments")


async def _work(order: Order, step: str) -> None:
    await asyncio.sleep(_plan.work_ms(order.order_id, step) / 1000)


@activity.defn(name=model.AUTHORIZE_PAYMENT)
async def authorize_payment(order: Order) -> str:
    attempt = activity.info().attempt
    await _work(order, model.AUTHORIZE_PAYMENT)
    fault = _plan.fault(order.order_id, model.AUTHORIZE_PAYMENT)
    if fault.decline:
        raise ApplicationError(decline_error_message(order.order_id), type="CardDeclined", non_retryable=True)
    if attempt <= fault.transient_failures:
        raise ApplicationError(transient_error_message(order.order_id, attempt), type="PaymentGatewayTimeout")
    log.info("payment authorized", order_id=order.order_id, amount_cents=order.amount_cents)
    return f"auth-{order.order_id}"


@activity.defn(name=model.CAPTURE_PAYMENT)
async def capture_payment(order: Order) -> None:
    await _work(order, model.CAPTURE_PAYMENT)
    log.info("payment captured", order_id=order.order_id, amount_cents=order.amount_cents)


ACTIVITIES = [authorize_payment, capture_payment]


def main() -> None:
    args = service_arguments("payments", __doc__ or "").parse_args()
    run_service("payments", args, task_queue=model.PAYMENTS_QUEUE, activities=ACTIVITIES)


if __name__ == "__main__":
    main()
