"""Back-pressure for the OTLP receivers: exporters that outnumber the writer are told to come back, not queued.

Every Export waits for one of a few store slots (the DuckDB writer serializes inserts anyway). One that cannot get a
slot within `wait` seconds is refused as retryable, with the delay to retry after: gRPC RESOURCE_EXHAUSTED with a
`google.rpc.RetryInfo` (what OTLP exporters honour), HTTP 429 with Retry-After. Requests held in memory are then
bounded by the receiver's concurrency limit, not by how many exporters there are.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo

DEFAULT_STORE_SLOTS = 2
"""One batch inserting while the next is converted to Arrow; more only wait on the writer's lock."""
DEFAULT_ADMIT_WAIT = 2.0
"""Seconds an Export may wait for a store slot before it is refused (well inside exporters' 10 s deadline)."""
DEFAULT_RETRY_AFTER = 1.0
"""The delay a refused exporter is asked to wait before it sends the batch again."""
RETRY_INFO_KEY = "google.rpc.retryinfo-bin"
"""Trailing metadata key OTLP/gRPC exporters read the server's retry delay from."""


class StoreAdmission:
    """At most `slots` Exports store at once; one that waits longer than `wait` seconds is turned away."""

    def __init__(self, *, slots: int = DEFAULT_STORE_SLOTS, wait: float = DEFAULT_ADMIT_WAIT,
                 retry_after: float = DEFAULT_RETRY_AFTER) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        if wait < 0 or retry_after <= 0:
            raise ValueError("wait must be >= 0 and retry_after > 0")
        self._slots = threading.BoundedSemaphore(slots)
        self.wait = wait
        self.retry_after = retry_after

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True holding a store slot, or False when none came free in time (refuse the request then)."""
        admitted = self._slots.acquire(timeout=self.wait)
        try:
            yield admitted
        finally:
            if admitted:
                self._slots.release()

    def retry_info(self) -> bytes:
        """`google.rpc.RetryInfo` asking for `retry_after` seconds, serialized for gRPC trailing metadata."""
        seconds = int(self.retry_after)
        delay = Duration(seconds=seconds, nanos=int((self.retry_after - seconds) * 1e9))
        return RetryInfo(retry_delay=delay).SerializeToString()

    def retry_after_header(self) -> str:
        """HTTP Retry-After: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


__all__ = [
    "DEFAULT_ADMIT_WAIT",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_STORE_SLOTS",
    "RETRY_INFO_KEY",
    "StoreAdmission",
]
