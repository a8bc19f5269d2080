"""The shipping service: reserves and releases stock, ships orders (activities on the `shipping` queue)."""

from __future__ import annotations

import asyncio

from temporalio import activity

from temporal_lens.interceptors import get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.faults import FaultPlan
from temporal_lens.sample_app.model import Order
from temporal_lens.sample_app.service import run_service, service_arguments

_plan = FaultPlan()
log = get_logger("shipping")


async def _work(order: Order, step: str) -> None:
    await asyncio.sleep(_plan.work_ms(order.order_id, step) / 1000)


@activity.defn(name=model.RESERVE_STOCK)
async def reserve_stock(order: Order) -> None:
    await _work(order, model.RESERVE_STOCK)
    log.info("stock reserved", order_id=order.order_id, items=order.items)


@activity.defn(name=model.RELEASE_STOCK)
async def release_stock(order: Order) -> None:
    await _work(order, model.RELEASE_STOCK)
    log.info("stock released", order_id=order.order_id, items=order.items)


@activity.defn(name=model.SHIP_ORDER)
async def ship_order(order: Order) -> str:
    await _work(order, model.SHIP_ORDER)
    tracking = f"TRK-{order.order_id}"
    log.info("order shipped", order_id=order.order_id, tracking_number=tracking)
    return tracking


ACTIVITIES = [reserve_stock, release_stock, ship_order]


def main() -> None:
    args = service_arguments("shipping", __doc__ or "").parse_args()
    run_service("shipping", args, task_queue=model.SHIPPING_QUEUE, activities=ACTIVITIES)


if __name__ == "__main__":
    main()
