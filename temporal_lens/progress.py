"""The study's progress on its console: one bar per phase, with counts and rates; silent when not a terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

PHASES = {
    "started": "orders started",
    "closed": "orders closed",
    "deleted": "orders deleted",
    "histories": "histories collected",
    "spans": "spans received",
    "scored": "questions scored",
}
"""Phase key -> the bar's label; the driver reports the first three by key (sample_app/driver.py `Progress`)."""


class _RateColumn(ProgressColumn):
    """Items per second over rich's sliding window (its own `speed` estimate)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:7.1f}/s" if task.speed else "       -  ", style="progress.data.speed")


class StudyProgress:
    """Bars for each phase in `PHASES`; `advance` and `update` are safe to call from the event loop or threads."""

    def __init__(self, console: Console, *, orders: int, deleted: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<20}"), BarColumn(bar_width=30), MofNCompleteColumn(), _RateColumn(),
            TimeElapsedColumn(), console=console, disable=not console.is_terminal,
        )
        totals = {"started": orders, "closed": orders, "deleted": deleted}
        self._tasks: dict[str, TaskID] = {}
        self._started = set(totals)
        for key, label in PHASES.items():
            self._tasks[key] = self._progress.add_task(label, total=totals.get(key), start=key in totals)

    def advance(self, phase: str, amount: int = 1) -> None:
        self._start(phase)
        self._progress.advance(self._tasks[phase], amount)

    def update(self, phase: str, *, completed: int, total: int | None = None) -> None:
        """Set a phase's count (and its total, when it becomes known)."""
        self._start(phase)
        self._progress.update(self._tasks[phase], completed=completed, total=total)

    def _start(self, phase: str) -> None:
        # A phase's clock (elapsed, rate) starts with its first item, not when the study starts.
        if phase not in self._started:
            self._started.add(phase)
            self._progress.start_task(self._tasks[phase])

    def counts(self) -> dict[str, tuple[float, float | None]]:
        """Phase key -> (count, total or None when unknown)."""
        tasks = {task.id: task for task in self._progress.tasks}
        return {key: (tasks[task].completed, tasks[task].total) for key, task in self._tasks.items()}

    def start(self) -> None:
        self._progress.start()

    def stop(self) -> None:
        """Stop drawing (the bars stay on the console as they last were); stopping again does nothing."""
        self._progress.stop()

    def __enter__(self) -> StudyProgress:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
