"""SIGTERM and SIGINT as one exception the main thread unwinds through, once, so every `finally` and `__exit__`
on the way out (children stopped, receivers drained, the database closed) runs to its end.

Python's own SIGINT handling is not enough for a long-running command: a process started in the background by a
non-interactive shell inherits SIGINT ignored (so `kill -INT` did nothing), SIGTERM's default ends the process
without unwinding (so children outlived it), and a second Ctrl-C during clean-up interrupts the clean-up itself.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop by `signum`; a KeyboardInterrupt, so code that handles Ctrl-C handles it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


@dataclass
class StopRequest:
    """What `stop_on_signals` saw: the first stop signal (None until one came)."""

    signum: int | None = None
    holding: bool = False
    """While set, a signal is only recorded: clean-up that has begun is never cut short."""
    deferring: int = 0
    """While above 0, the first signal is recorded and raised when the last `signals_deferred` block ends."""
    dropped: bool = False
    """The first signal's exception was raised where Python drops exceptions (a finalizer): it is to be raised
    again, by the signal sent once more or at the end of a `signals_deferred` block."""

    @property
    def name(self) -> str | None:
        return None if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum

    def hold(self) -> None:
        """From now on signals are recorded, never raised: call it when clean-up starts."""
        self.holding = True

    def wait(self) -> int:
        """Block until a stop signal arrives (handlers record it instead of raising); returns the signal number.

        It looks every `_POLL_S`: the handler runs in this very thread, between two of its steps, so an Event it
        set could be one whose lock this thread holds inside `Event.wait` (a deadlock: `receive` never stopped)."""
        self.hold()
        while self.signum is None:
            time.sleep(_POLL_S)
        return self.signum


_POLL_S = 0.05
"""How often `StopRequest.wait` looks for a signal."""

_AGAIN_S = 0.02
"""How long a signal's exception dropped in a finalizer waits before the signal is sent again."""

_active: list[StopRequest] = []
"""The requests of the `stop_on_signals` blocks the process is in, innermost last."""


def stop_requested() -> StopRequest | None:
    """The innermost `stop_on_signals` request that has seen a signal, if any.

    For code that must tell a failure a signal caused from any other: a library can turn the exception raised in
    its call into its own (DuckDB reports "Query interrupted"), or catch it and carry on.
    """
    return next((request for request in reversed(_active) if request.signum is not None), None)


def raise_if_stopped() -> None:
    """Raise `Interrupted` when a signal came that something on the way swallowed; call it between steps."""
    request = stop_requested()
    if request is not None and request.signum is not None:
        raise Interrupted(request.signum)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Within: the first SIGTERM or SIGINT raises `Interrupted` in the main thread (unless `hold()` was called);
    any later one is recorded and ignored. The previous handlers are back on the way out."""
    request = StopRequest()
    raised: list[Interrupted] = []
    in_hook = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if in_hook.is_set():  # sent again (below) while the hook still runs: the sender sends once more
            return
        first = request.signum is None
        if first:
            request.signum = signum
        if (first or request.dropped) and not request.holding and not request.deferring:
            request.holding, request.dropped = True, False
            raised.append(Interrupted(request.signum))  # type: ignore[arg-type]
            raise raised[-1]

    def send_again(signum: int) -> None:
        """Until the signal's exception is raised where it can be (the hook restarts this when it is not)."""
        while request in _active and request.dropped and not request.holding:
            time.sleep(_AGAIN_S)
            if request in _active and request.dropped and not request.holding and not in_hook.is_set():
                os.kill(os.getpid(), signum)

    previous_hook = sys.unraisablehook

    def swallowed(unraisable: Any) -> None:
        """A handler that runs while Python finalizes an object (a `__del__`, a weak reference's callback) raises
        into code that cannot raise: Python reports the exception and drops it, and the signal would be lost (and
        every later one ignored). It is sent again instead, from another thread, to land in code that can raise;
        meanwhile the request still names it (a `wait()` or a `hold()` in between sees it)."""
        if not (raised and unraisable.exc_value is raised[-1]):
            previous_hook(unraisable)
            return
        in_hook.set()
        try:
            request.holding, request.dropped = False, True
            threading.Thread(target=send_again, args=(raised[-1].signum,), name="lens-signal-again",
                             daemon=True).start()
        finally:
            in_hook.clear()

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    sys.unraisablehook = swallowed
    _active.append(request)
    try:
        yield request
    finally:
        _active.remove(request)
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Within: a stop signal is recorded, not raised; it is raised once the block has ended (and no outer block
    defers it). For steps a signal must not leave half done, such as building or closing an event loop.

    Blocking the signals (`pthread_sigmask`) would not do: the kernel hands a process's signal to any thread that
    does not block it, and Python then runs the handler in the main thread all the same.
    """
    request = _active[-1] if _active else None
    if request is None:
        yield
        return
    request.deferring += 1
    try:
        yield
    finally:
        request.deferring -= 1
        if not request.deferring and request.signum is not None and not request.holding:
            request.holding, request.dropped = True, False
            raise Interrupted(request.signum)  # any exception of the block becomes its __context__


__all__ = [
    "STOP_SIGNALS",
    "Interrupted",
    "StopRequest",
    "raise_if_stopped",
    "signals_deferred",
    "stop_on_signals",
    "stop_requested",
]
