"""Process-wide memory (passed through the sandbox) that lets a workflow task fail exactly once per key."""

from __future__ import annotations

import threading

_failed: set[str] = set()
_lock = threading.Lock()


class TaskFailure(RuntimeError):
    """Not a workflow failure: Temporal fails the workflow task and retries it."""


def maybe_fail(key: str) -> None:
    with _lock:
        if key in _failed:
            return
        _failed.add(key)
    raise TaskFailure(f"first try of {key} fails its workflow task")
