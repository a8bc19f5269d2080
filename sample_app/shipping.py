"""The shipping service: reserves and releases stock, ships orders (activities on the `shipping` queue)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from temporal_lens.interceptors import get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.faults import out_of_stock_message
from temporal_lens.sample_app.model import Order, Shipment
from temporal_lens.sample_app.service import run_service, service_arguments
from temporal_lens.sample_app.work import work

log = get_logger("shipping")


@activity.defn(name=model.RESERVE_STOCK)
async def reserve_stock(order: Order) -> None:
    await work(order.order_id, model.RESERVE_STOCK)
    log.info("stock reserved", order_id=order.order_id, items=order.items)


@activity.defn(name=model.RELEASE_STOCK)
async def release_stock(order: Order) -> None:
    await work(order.order_id, model.RELEASE_STOCK)
    log.info("stock released", order_id=order.order_id, items=order.items)


@activity.defn(name=model.SHIP_ORDER)
async def ship_order(shipment: Shipment) -> str:
    order = shipment.order
    fault = await work(order.order_id, model.SHIP_ORDER, heartbeat=True)
    if fault.out_of_stock:
        raise ApplicationError(out_of_stock_message(order.order_id), type="OutOfStock", non_retryable=True)
    tracking = f"TRK-{order.order_id}"
    # Like many real services, this one logs where a parcel goes: the study's leak matrix shows what that costs.
    log.info("order shipped", order_id=order.order_id, tracking_number=tracking, address=shipment.address)
    return tracking


ACTIVITIES = [reserve_stock, release_stock, ship_order]


def main() -> None:
    args = service_arguments("shipping", __doc__ or "").parse_args()
    run_service("shipping", args, task_queue=model.SHIPPING_QUEUE, activities=ACTIVITIES)


if __name__ == "__main__":
    main()
