"""The orders service: runs OrderWorkflow and keeps its own `orders` table (SQLite), updated on every status change.

That table is the "keep a database for listing and history" architecture the study compares with Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity

from temporal_lens.interceptors import get_logger
from temporal_lens.sample_app import model
from temporal_lens.sample_app.model import StatusChange
from temporal_lens.sample_app.service import run_service, service_arguments
from temporal_lens.sample_app.workflows import InvoiceWorkflow, LoyaltyWorkflow, OrderWorkflow

APP_DB_ENV = "TEMPORAL_LENS_APP_DB"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id     TEXT PRIMARY KEY,
    customer     TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    status       TEXT NOT NULL,
    shipping_address TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
)
"""

_CHANGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS order_status_changes (
    order_id   TEXT NOT NULL,
    status     TEXT NOT NULL,
    changed_at DATETIME NOT NULL
)
"""
"""Every status change the service recorded, with its time: what the orders table was at any moment."""

log = get_logger("orders")
_lock = threading.Lock()


def _app_db_path() -> Path:
    return Path(os.environ.get(APP_DB_ENV, "app_orders.sqlite"))


@activity.defn(name=model.RECORD_STATUS)
async def record_order_status(change: StatusChange) -> None:
    await asyncio.to_thread(_write_status, change)
    log.info("order status recorded", order_id=change.order_id, status=change.status)


def _write_status(change: StatusChange) -> None:
    now = datetime.now(UTC).isoformat()
    with _lock, contextlib.closing(sqlite3.connect(_app_db_path())) as db, db:
        db.execute(_SCHEMA)
        db.execute(
            """INSERT INTO orders (order_id, customer, amount_cents, status, shipping_address, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
                   shipping_address = excluded.shipping_address""",
            (change.order_id, change.customer, change.amount_cents, change.status, change.shipping_address, now, now),
        )
        db.execute(_CHANGES_SCHEMA)
        db.execute("INSERT INTO order_status_changes (order_id, status, changed_at) VALUES (?, ?, ?)",
                   (change.order_id, change.status, now))


def main() -> None:
    parser = service_arguments("orders", __doc__ or "")
    parser.add_argument("--app-db", default=None, help="the service's own SQLite database file")
    args = parser.parse_args()
    if args.app_db:
        os.environ[APP_DB_ENV] = args.app_db
    run_service(
        "orders",
        args,
        task_queue=model.ORDERS_QUEUE,
        workflows=[OrderWorkflow, InvoiceWorkflow, LoyaltyWorkflow],
        activities=[record_order_status],
    )


if __name__ == "__main__":
    main()
