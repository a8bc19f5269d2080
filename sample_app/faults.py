"""The fault plan: which order's step fails on which attempt, and how long each step works.

The scenario driver writes it before any order starts; the payments and shipping services read it. It never
travels in workflow inputs, so history knows about a fault only through what the fault did.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAULTS_ENV = "TEMPORAL_LENS_FAULTS"
DEFAULT_WORK_MS = 50


@dataclass(frozen=True)
class StepFault:
    transient_failures: int = 0
    """Fail attempts 1..n with a retryable error, then succeed."""
    decline: bool = False
    """Fail with a non-retryable CardDeclined error."""
    out_of_stock: bool = False
    """Fail with a non-retryable OutOfStock error."""
    hang_attempts: int = 0
    """Attempts 1..n never finish: 'timeout' keeps heartbeating past start-to-close, 'heartbeat' stops heartbeating."""
    hang: str = "timeout"
    crash: bool = False
    """Attempt 1 writes a marker file and works until the driver kills the worker process (SIGKILL)."""


def transient_error_message(order_id: str, attempt: int) -> str:
    return f"payment gateway timeout for order {order_id} (attempt {attempt})"


def decline_error_message(order_id: str) -> str:
    return f"card declined for order {order_id}"


def out_of_stock_message(order_id: str) -> str:
    return f"warehouse has no stock left for order {order_id}"


class FaultPlan:
    """Reads the plan file lazily and again whenever it changes."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._explicit = Path(path) if path else None
        self._mtime: float | None = None
        self._orders: dict[str, Any] = {}

    @property
    def path(self) -> Path | None:
        """The explicit path, else $TEMPORAL_LENS_FAULTS (read at use: services set it after import)."""
        if self._explicit is not None:
            return self._explicit
        from_env = os.environ.get(FAULTS_ENV)
        return Path(from_env) if from_env else None

    def _load(self) -> dict[str, Any]:
        path = self.path
        if path is None or not path.exists():
            return {}
        mtime = path.stat().st_mtime
        if mtime != self._mtime:
            self._orders = json.loads(path.read_text(encoding="utf-8")).get("orders", {})
            self._mtime = mtime
        return self._orders

    def work_ms(self, order_id: str, step: str) -> int:
        return int(self._load().get(order_id, {}).get("work_ms", {}).get(step, DEFAULT_WORK_MS))

    def fault(self, order_id: str, step: str) -> StepFault:
        spec = self._load().get(order_id, {}).get("faults", {}).get(step)
        return StepFault(**spec) if spec else StepFault()

    def crash_marker(self, order_id: str) -> Path:
        return crash_marker_path(self.path, order_id)


def crash_marker_path(plan_path: Path | None, order_id: str) -> Path:
    folder = plan_path.parent if plan_path is not None else Path.cwd()
    return folder / f"crash-{order_id}.started"


def write_fault_plan(path: Path, orders: dict[str, dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"orders": orders}, indent=1), encoding="utf-8")
    tmp.replace(path)
