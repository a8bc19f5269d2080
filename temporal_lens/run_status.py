"""A run folder's `status.json`: which phase the study is in, and how it ended (complete, interrupted, failed).

Written whole (a temporary file renamed over the old one) at every change, so a reader, a test waiting for a
phase, or a user looking at a folder left by a killed process never sees half a file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"
PHASES = ("stack", "driving", "collecting", "scoring")
"""In order: starting the dev server, receiver and services; driving the orders; stopping the services and
collecting every source; scoring the matrix and writing the report."""
ENDINGS = ("complete", "interrupted", "failed")


class RunStatus:
    """The study's progress in `<run_dir>/status.json`: `{"status", "phase", "pid", "started_at", ...}`."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / STATUS_FILE
        self.phase: str | None = None
        self._fields: dict[str, Any] = {"status": "running", "phase": None, "pid": os.getpid(),
                                        "started_at": _now()}
        self._write()

    def enter(self, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")
        self.phase = phase
        self._fields["phase"] = phase
        self._write()

    def finish(self, status: str, **details: Any) -> None:
        """Record how the run ended; `phase` stays the one it ended in."""
        if status not in ENDINGS:
            raise ValueError(f"unknown ending {status!r}; one of {', '.join(ENDINGS)}")
        self._fields.update(status=status, ended_at=_now(), **details)
        self._write()

    def _write(self) -> None:
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps(self._fields, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, self.path)


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The run folder's status, or None when it has none (yet)."""
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


__all__ = ["ENDINGS", "PHASES", "STATUS_FILE", "RunStatus", "read_status"]
