"""The workers' own record of every activity attempt: when it started and ended, and how it ended as the worker saw it.

Ground truth for the open-state questions ("what is order X waiting on now?"): each service appends one JSON line
when an attempt starts and one when it ends, to a ledger of its own in the run folder, flushed at once; an attempt
whose worker was killed keeps its start line and has no end. Nothing here is read back from Temporal: the times are
this process's clock, the outcome is what the activity function did.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

LEDGER_GLOB = "attempts-*.jsonl"
COMPLETED, FAILED, TIMED_OUT, CANCELED = "completed", "failed", "timed_out", "canceled"
_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("service", pa.string()), ("workflow_id", pa.string()), ("order_id", pa.string()),
                    ("activity_id", pa.string()), ("step", pa.string()), ("attempt", pa.int32()),
                    ("started_at", _TS), ("ended_at", _TS), ("outcome", pa.string()), ("error", pa.string()),
                    ("status", pa.string()), ("scheduled_at", _TS)])
"""`ground_truth_worker_attempts`: one row per attempt; `ended_at` and `outcome` NULL for an attempt never ended."""


def ledger_path(folder: Path, service: str) -> Path:
    return folder / f"attempts-{service}.jsonl"


class AttemptLedger(Interceptor):
    """A worker interceptor writing each activity attempt's start and end into `folder`'s ledger."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _LedgerInbound(next, self)


class _LedgerInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, root: AttemptLedger) -> None:
        super().__init__(next)
        self._root = root

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        line = {"service": info.task_queue, "workflow_id": info.workflow_id, "activity_id": info.activity_id,
                "step": info.activity_type, "attempt": info.attempt,
                # the status a status-recording attempt carries: the order's state as its own service recorded it
                "status": getattr(input.args[0], "status", None) if input.args else None}
        # When the server made this attempt available to workers (after any retry backoff): from then on the order
        # waits on this step, queued until a worker takes it.
        scheduled = info.current_attempt_scheduled_time
        self._write({**line, "event": "start", "at": _now(), "scheduled_at": scheduled.isoformat()})
        try:
            result = await self.next.execute_activity(input)
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            outcome = TIMED_OUT if details is not None and details.timed_out else CANCELED
            self._write({**line, "event": "end", "at": _now(), "outcome": outcome, "error": None})
            raise
        except BaseException as err:
            # The message as raised (an ApplicationError's str() prefixes its type)
            message = getattr(err, "message", None) or str(err)
            self._write({**line, "event": "end", "at": _now(), "outcome": FAILED, "error": message})
            raise
        self._write({**line, "event": "end", "at": _now(), "outcome": COMPLETED, "error": None})
        return result

    def _write(self, line: dict[str, Any]) -> None:
        # Ground truth must never fail the attempt it records: a ledger that cannot be written loses that line only.
        try:
            with ledger_path(self._root.folder, line["service"]).open("a", encoding="utf-8") as ledger:
                ledger.write(json.dumps(line) + "\n")
        except OSError:
            pass


def _now() -> str:
    return datetime.now(UTC).isoformat()


def load_attempts(folders: Sequence[Path]) -> tuple[pa.Table, list[str]]:
    """Every ledger under `folders` as one row per attempt; a line that does not parse is left out and named in the
    returned errors, the lines around it kept."""
    attempts: dict[tuple, dict[str, Any]] = {}
    errors: list[str] = []
    for folder in folders:
        for path in sorted(Path(folder).glob(LEDGER_GLOB)):
            for line_no, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not text.strip():
                    continue
                try:
                    raw = json.loads(text)
                    key = (raw["service"], raw["workflow_id"], raw["activity_id"], int(raw["attempt"]))
                    at = datetime.fromisoformat(raw["at"])
                    event = raw["event"]
                    if event not in ("start", "end"):
                        raise ValueError(f"event {event!r}")
                except (ValueError, KeyError, TypeError) as err:
                    errors.append(f"{path.name}:{line_no}: not an attempt record ({type(err).__name__}: {err})")
                    continue
                row = attempts.setdefault(key, {
                    "service": key[0], "workflow_id": key[1], "order_id": key[1].partition("-")[2],
                    "activity_id": key[2], "step": raw.get("step"), "attempt": key[3], "started_at": None,
                    "ended_at": None, "outcome": None, "error": None, "status": raw.get("status")})
                if event == "start":
                    row["started_at"] = at
                    row["scheduled_at"] = datetime.fromisoformat(raw["scheduled_at"]) if raw.get("scheduled_at") \
                        else None
                else:
                    row.update(ended_at=at, outcome=raw.get("outcome"), error=raw.get("error"))
    return pa.Table.from_pylist(list(attempts.values()), schema=SCHEMA), errors
