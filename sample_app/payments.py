"""The payments service: authorizes, captures and refunds card payments, issues invoices (`payments` queue)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from temporal_lens.interceptors import get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.faults import decline_error_message, transient_error_message
from temporal_lens.sample_app.model import Order
from temporal_lens.sample_app.service import run_service, service_arguments
from temporal_lens.sample_app.work import work

log = get_logger("payments")


def _masked(card: str) -> str:
    return f"****{card[-4:]}" if card else ""


@activity.defn(name=model.AUTHORIZE_PAYMENT)
async def authorize_payment(order: Order) -> str:
    fault = await work(order.order_id, model.AUTHORIZE_PAYMENT, heartbeat=True)
    attempt = activity.info().attempt
    if fault.decline:
        raise ApplicationError(decline_error_message(order.order_id), type="CardDeclined", non_retryable=True)
    if attempt <= fault.transient_failures:
        raise ApplicationError(transient_error_message(order.order_id, attempt), type="PaymentGatewayTimeout")
    log.info("payment authorized", order_id=order.order_id, amount_cents=order.amount_cents,
             card=_masked(order.card_number))
    return f"auth-{order.order_id}"


@activity.defn(name=model.CAPTURE_PAYMENT)
async def capture_payment(order: Order) -> None:
    await work(order.order_id, model.CAPTURE_PAYMENT)
    log.info("payment captured", order_id=order.order_id, amount_cents=order.amount_cents)


@activity.defn(name=model.REFUND_PAYMENT)
async def refund_payment(order: Order) -> None:
    await work(order.order_id, model.REFUND_PAYMENT)
    log.info("payment authorization voided", order_id=order.order_id, amount_cents=order.amount_cents)


@activity.defn(name=model.ISSUE_INVOICE)
async def issue_invoice(order: Order) -> str:
    await work(order.order_id, model.ISSUE_INVOICE)
    invoice = f"INV-{order.order_id}"
    log.info("invoice issued", order_id=order.order_id, invoice=invoice, amount_cents=order.amount_cents)
    return invoice


ACTIVITIES = [authorize_payment, capture_payment, refund_payment, issue_invoice]


def main() -> None:
    args = service_arguments("payments", __doc__ or "").parse_args()
    run_service("payments", args, task_queue=model.PAYMENTS_QUEUE, activities=ACTIVITIES)


if __name__ == "__main__":
    main()
