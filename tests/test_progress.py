"""The study's progress bars: counts and totals per phase, drawn on a terminal and silent elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from temporal_lens.progress import PHASES, StudyProgress


def _run(console: Console) -> StudyProgress:
    progress = StudyProgress(console, orders=3, deleted=1)
    with progress:
        for _ in range(3):
            progress.advance("started")
        progress.advance("closed")
        progress.advance("deleted")
        progress.update("histories", completed=5, total=10)
        progress.update("spans", completed=120)
        console.print("a line between the bars")
    progress.stop()  # stopping again does nothing
    return progress


def test_each_phase_counts_what_it_was_told() -> None:
    progress = _run(Console(file=io.StringIO(), force_terminal=True, width=100))
    assert set(progress.counts()) == set(PHASES)
    assert progress.counts() == {"started": (3, 3), "closed": (1, 3), "deleted": (1, 1), "histories": (5, 10),
                                 "spans": (120, None), "scored": (0, None)}


def test_a_terminal_sees_the_bars_and_a_pipe_does_not() -> None:
    terminal, pipe = io.StringIO(), io.StringIO()
    _run(Console(file=terminal, force_terminal=True, width=100))
    _run(Console(file=pipe, force_terminal=False, width=100))
    assert "orders started" in terminal.getvalue() and "3/3" in terminal.getvalue()
    assert "orders started" not in pipe.getvalue()
    assert pipe.getvalue() == "a line between the bars\n"
