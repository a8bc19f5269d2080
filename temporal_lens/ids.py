"""Deterministic trace and span ids derived from workflow identity, shared by interceptors and collectors.

Hashing gives ids that come out the same on every worker and every replay, and lets a collector name the trace a
run's interceptor spans went into without importing the interceptors.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any


def _digest_int(bits: int, *parts: object) -> int:
    data = "\x1f".join(str(part) for part in parts).encode()
    value = int.from_bytes(hashlib.blake2b(data, digest_size=bits // 8).digest(), "big")
    return value or 1  # zero is the invalid id in OpenTelemetry


def workflow_trace_id(workflow_id: str, run_id: str) -> int:
    """Trace id for a run that arrived without trace context (schedules, the CLI, other SDKs)."""
    return _digest_int(128, "trace", workflow_id, run_id)


def workflow_span_id(run_id: str, sequence: int) -> int:
    """Id of the `sequence`-th span a run creates; sequence 0 is the run's own span.

    The same as `_digest_int(64, "span", run_id, sequence)`; a run's spans share the hash of everything before
    the sequence number, kept for the runs in flight."""
    hasher = _span_prefix(run_id).copy()
    hasher.update(str(sequence).encode())
    return int.from_bytes(hasher.digest(), "big") or 1


@functools.lru_cache(maxsize=4096)
def _span_prefix(run_id: str) -> Any:
    return hashlib.blake2b(f"span\x1f{run_id}\x1f".encode(), digest_size=8)


def history_span_id(run_id: str, event_id: int, *, role: str = "") -> int:
    """Id of a span synthesized from history, opened by `event_id` of the run.

    A domain of its own, so it never collides with the interceptors' `workflow_span_id` in the same trace;
    `role` tells apart two spans one event opens.
    """
    return _digest_int(64, "history-span", run_id, event_id, role)
