"""Span and trace ids that replay reproduces: derived from workflow identity instead of drawn at random.

A workflow-side span is built only when it ends; its id must be known earlier (activities started under it name it
as their parent) and must come out the same when the workflow replays on another worker. Hashing the run id with a
per-run sequence number gives exactly that.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from temporal_lens.ids import workflow_span_id, workflow_trace_id

__all__ = ["ForcedIdGenerator", "forced_ids", "validation_span_id", "workflow_span_id", "workflow_trace_id"]

_forced: ContextVar[tuple[int | None, int | None] | None] = ContextVar("temporal_lens_forced_ids", default=None)


@contextlib.contextmanager
def forced_ids(*, trace_id: int | None = None, span_id: int | None = None) -> Iterator[None]:
    """Make the next span started in this context take these ids (where the tracer uses `ForcedIdGenerator`)."""
    token = _forced.set((trace_id, span_id))
    try:
        yield
    finally:
        _forced.reset(token)


class ForcedIdGenerator(IdGenerator):
    """Random ids, except inside `forced_ids(...)`, where the given ids are returned."""

    def __init__(self, fallback: IdGenerator | None = None) -> None:
        self._fallback = fallback or RandomIdGenerator()

    def generate_span_id(self) -> int:
        forced = _forced.get()
        if forced is not None and forced[1] is not None:
            return forced[1]
        return self._fallback.generate_span_id()

    def generate_trace_id(self) -> int:
        forced = _forced.get()
        if forced is not None and forced[0] is not None:
            return forced[0]
        return self._fallback.generate_trace_id()


def validation_span_id(run_id: str, update_id: str) -> int:
    """Id of the span of an update's rejected validation: validators run again on replay and are not numbered
    in the run's sequence, so the id comes from the update's own id."""
    data = f"validate\x1f{run_id}\x1f{update_id}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") or 1
