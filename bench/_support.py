"""What bench/audit.py and bench/collectors.py share: the result rows they print, and a workload of one activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

rows: list[tuple[str, str, str]] = []
"""(measure, result, detail) in the order measured, for the summary table each script prints at its end."""


def report(name: str, value: str, note: str = "") -> None:
    """Keep one result for the summary table, and show it now (a long benchmark shows its progress)."""
    rows.append((name, value, note))
    print(f"  {name}: {value} {note}", flush=True)


@activity.defn
async def step(n: int) -> int:
    return n + 1


@workflow.defn(sandboxed=False)
class Steps:
    """`steps` runs of the one activity, one after the other (a closed run of 5 + 6 x steps events)."""

    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for n in range(steps):
            total += await workflow.execute_activity(step, n, start_to_close_timeout=timedelta(seconds=30))
        return total
