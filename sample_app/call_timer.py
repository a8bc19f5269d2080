"""How long each of the driver's calls to Temporal took: the evidence that the driver's load fits the machine."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SLOWEST_KEPT = 20
"""Calls the run folder's file lists, slowest first."""


@dataclass(frozen=True)
class TimedCall:
    name: str
    """The gRPC call as the driver makes it: start_workflow, query, describe, delete, signal, update, result."""
    order: str | None
    seconds: float


@dataclass
class CallTimer:
    """Times every call the driver makes; `result` (waiting for a run to close) is kept apart, as it waits on
    purpose and says nothing about the server's latency."""

    calls: list[TimedCall] = field(default_factory=list)
    waits: list[TimedCall] = field(default_factory=list)

    @contextmanager
    def timed(self, name: str, order: str | None = None) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            call = TimedCall(name, order, time.perf_counter() - start)
            (self.waits if name == "result" else self.calls).append(call)

    def slowest(self, count: int = SLOWEST_KEPT) -> list[TimedCall]:
        return sorted(self.calls, key=lambda c: c.seconds, reverse=True)[:count]

    def quantile(self, q: float) -> float:
        """The q-quantile of call durations (nearest rank), 0.0 when nothing was called."""
        if not self.calls:
            return 0.0
        ordered = sorted(c.seconds for c in self.calls)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    def summary(self) -> str:
        """One line: how many calls, the slowest (name, order, seconds) and the p99."""
        if not self.calls:
            return "driver made no calls"
        slowest = self.slowest(1)[0]
        return (f"driver calls: {len(self.calls)}, slowest {slowest.name} {slowest.order or '-'} "
                f"{slowest.seconds:.3f} s, p99 {self.quantile(0.99):.3f} s")

    def write(self, path: Path) -> None:
        """The slowest calls and per-name counts and maxima, as JSON, for the run folder."""
        by_name: dict[str, dict[str, float]] = {}
        for call in self.calls:
            entry = by_name.setdefault(call.name, {"count": 0, "max_s": 0.0, "total_s": 0.0})
            entry["count"] += 1
            entry["max_s"] = max(entry["max_s"], call.seconds)
            entry["total_s"] += call.seconds
        document = {
            "calls": len(self.calls),
            "p50_s": self.quantile(0.5),
            "p99_s": self.quantile(0.99),
            "max_s": self.slowest(1)[0].seconds if self.calls else 0.0,
            "by_name": by_name,
            "slowest": [{"name": c.name, "order": c.order, "seconds": round(c.seconds, 4)} for c in self.slowest()],
        }
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
