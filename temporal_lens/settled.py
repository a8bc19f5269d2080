"""`run_settled`: `asyncio.run` for a command a signal may stop at any moment.

Three things go wrong with `asyncio.run` when SIGINT or SIGTERM raise in the main thread
(`interrupts.stop_on_signals`):

- a signal that lands while the event loop is being built leaves a half-built loop whose `__del__` prints a
  traceback ("'_UnixSelectorEventLoop' object has no attribute '_closed'");
- one that lands between a coroutine's making and its task's start, or while the loop is closed, leaves a
  coroutine never awaited (a RuntimeWarning), and one that lands while its task is made leaves a task "destroyed
  but pending";
- a run cut short closes its loop while the Temporal client's calls, finishing on the SDK core's threads, still
  hand their results to it ("Event loop is closed").
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from temporal_lens.interrupts import signals_deferred

T = TypeVar("T")

LANDING_S = 1.0
"""How long a stopped loop stays open for the Temporal client's calls already in flight to hand back their results."""


def run_settled(make: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.run(make(*args, **kwargs))`, except that a stop signal waits while the loop is built, the coroutine
    made and its task started, and while the loop is closed; and that a run cut short (a signal, a failure) cancels
    its tasks and keeps the loop open a moment longer before closing it. The coroutine is made here, as `anyio.run`
    does, so that no signal can come between its making and its task (it would be left never awaited)."""
    runner = coro = None
    try:
        with signals_deferred():  # the task too: one a signal cuts short in its making is left pending, and says so
            runner = asyncio.Runner()
            loop = runner.get_loop()
            coro = make(*args, **kwargs)
            task = loop.create_task(coro)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            with signals_deferred():
                _settle(loop)
            raise
    finally:
        with signals_deferred():
            if runner is not None:
                runner.close()
            if coro is not None and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    with contextlib.suppress(BaseException):
        landing = asyncio.ensure_future(asyncio.sleep(LANDING_S), loop=loop)
        loop.run_until_complete(asyncio.wait({*pending, landing}, timeout=LANDING_S))
    for task in pending:  # the signal's exception may have been raised inside one: it is the one re-raised
        if task.done() and not task.cancelled():
            task.exception()
    # A long poll still open (a run's result) ends only when the server it waits on stops, after this loop is
    # closed; the SDK core then reports the closed loop through sys.excepthook: say nothing of it.
    sys.excepthook = _quiet_about_closed_loops(sys.excepthook)


def _quiet_about_closed_loops(previous: Callable[..., Any]) -> Callable[..., Any]:
    def hook(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
        if not (kind is RuntimeError and str(value) == "Event loop is closed"):
            previous(kind, value, traceback)

    return hook


__all__ = ["LANDING_S", "run_settled"]
