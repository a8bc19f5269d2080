"""The workers' own ground truth of queue wait: each attempt's scheduled -> started, as the attempt saw it.

Each service appends one JSON line per attempt it starts to a ledger of its own in the run folder (next to the fault
plan), before the attempt's work begins and flushed at once: a worker killed mid-attempt keeps every line written
before. The study loads the ledgers into `ground_truth_queue_waits`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from temporalio import activity

LEDGER_GLOB = "queue-waits-*.jsonl"
_TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([("service", pa.string()), ("order_id", pa.string()), ("workflow_id", pa.string()),
                    ("activity_id", pa.string()), ("step", pa.string()), ("attempt", pa.int32()),
                    ("scheduled_at", _TS), ("started_at", _TS), ("queue_ms", pa.float64())])


def ledger_path(folder: Path, service: str) -> Path:
    return folder / f"queue-waits-{service}.jsonl"


def record_queue_wait(folder: Path, order_id: str) -> None:
    """Append the running attempt's queue wait to its service's ledger (the service is the task queue it polls)."""
    info = activity.info()
    scheduled, started = info.current_attempt_scheduled_time, info.started_time
    line = {"service": info.task_queue, "order_id": order_id, "workflow_id": info.workflow_id,
            "activity_id": info.activity_id, "step": info.activity_type, "attempt": info.attempt,
            "scheduled_at": scheduled.isoformat(), "started_at": started.isoformat(),
            "queue_ms": (started - scheduled).total_seconds() * 1000}
    with ledger_path(folder, info.task_queue).open("a", encoding="utf-8") as ledger:
        ledger.write(json.dumps(line) + "\n")


def load_queue_waits(folders: Sequence[Path]) -> tuple[pa.Table, list[str]]:
    """Every ledger line under `folders` as one table; a line that does not parse (a worker killed while writing
    it) is left out and named in the returned errors, the lines around it kept."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for folder in folders:
        for path in sorted(Path(folder).glob(LEDGER_GLOB)):
            for line_no, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not text.strip():
                    continue
                try:
                    raw = json.loads(text)
                    row = {name: raw[name] for name in SCHEMA.names}
                    row["scheduled_at"] = datetime.fromisoformat(raw["scheduled_at"])
                    row["started_at"] = datetime.fromisoformat(raw["started_at"])
                except (ValueError, KeyError, TypeError) as err:
                    errors.append(f"{path.name}:{line_no}: not a queue-wait record ({type(err).__name__}: {err})")
                    continue
                rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMA), errors
