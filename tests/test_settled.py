"""`run_settled` stopped by a signal at any moment: SIGINT or SIGTERM sent while a process builds and closes event
loops back to back (most of its time goes there) leaves no traceback and no coroutine never awaited.

Before the loop was built and closed with stop signals deferred, 13 processes of 20 printed one or the other; after
that, 3 of 120 hung, their signal raised inside a finalizer and dropped by Python (fixed in `interrupts`).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from temporal_lens.interrupts import Interrupted, signals_deferred, stop_on_signals
from temporal_lens.settled import run_settled

TRIALS = 12

_CHILD = """
from temporal_lens.interrupts import Interrupted, stop_on_signals
from temporal_lens.settled import run_settled

async def nothing():
    return None

with stop_on_signals():
    print("ready", flush=True)
    try:
        while True:
            run_settled(nothing)
    except Interrupted as stop:
        print("stopped by", stop, flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_loops_are_built_and_closed_leaves_no_traceback(signum: signal.Signals) -> None:
    rng = random.Random(signum)
    for _ in range(TRIALS // 2):
        child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True)  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        subprocess.run(["sleep", f"{rng.uniform(0.005, 0.05):.3f}"], check=True)
        child.send_signal(signum)
        printed = child.communicate(timeout=60)[0]  # a dropped signal would hang the child: the timeout fails it
        assert printed == f"stopped by {signum.name}\n", printed


def test_a_signal_taken_while_an_object_is_finalized_is_raised_after_all() -> None:
    """Python drops an exception raised in a `__del__`: the signal's would be lost, and every later one ignored."""

    class TakesTheSignal:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)  # the handler runs here, in the finalizer

    with stop_on_signals() as stop, pytest.raises(Interrupted, match="SIGINT"):
        TakesTheSignal()  # finalized at once
        for _ in range(500):  # up to 5 s for the signal to come again
            time.sleep(0.01)
    assert stop.name == "SIGINT"


def test_a_signal_in_a_deferred_block_is_raised_when_the_block_ends() -> None:
    done: list[str] = []
    with stop_on_signals() as stop, pytest.raises(Interrupted):
        with signals_deferred():
            with signals_deferred():
                signal.raise_signal(signal.SIGINT)
                done.append("inner")
            done.append("outer")  # an outer block still defers it
        done.append("after")
    assert done == ["inner", "outer"]
    assert stop.name == "SIGINT"


def test_a_signal_while_the_loop_is_built_closes_the_coroutine_and_the_loop(monkeypatch) -> None:
    built: list[asyncio.AbstractEventLoop] = []
    get_loop = asyncio.Runner.get_loop

    def signalled_while_building(runner: asyncio.Runner) -> asyncio.AbstractEventLoop:
        signal.raise_signal(signal.SIGTERM)
        built.append(get_loop(runner))
        return built[-1]

    monkeypatch.setattr(asyncio.Runner, "get_loop", signalled_while_building)

    async def never_started() -> None:
        raise AssertionError("a coroutine a signal came before is not started")

    made: list[Coroutine[Any, Any, None]] = []

    def make() -> Coroutine[Any, Any, None]:
        made.append(never_started())
        return made[-1]

    with stop_on_signals(), pytest.raises(Interrupted, match="SIGTERM"):
        run_settled(make)
    assert [inspect.getcoroutinestate(c) for c in made] == [inspect.CORO_CLOSED]  # not left never awaited
    assert [loop.is_closed() for loop in built] == [True]


def test_a_failure_inside_the_run_is_raised_and_its_tasks_are_cancelled() -> None:
    cancelled: list[str] = []

    async def side() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append("side")
            raise

    async def failing() -> None:
        task = asyncio.create_task(side())
        await asyncio.sleep(0)
        assert not task.done()
        raise ValueError("the run's own failure")

    with pytest.raises(ValueError, match="the run's own failure"):
        run_settled(failing)
    assert cancelled == ["side"]
