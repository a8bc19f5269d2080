"""The answerability matrix as a terminal table that fits 80 columns: question ids as rows, short labels as cells."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich import box
from rich.table import Table

from temporal_lens.analysis.catalogue import SOURCE_TITLES
from temporal_lens.analysis.scopes import RETAINED
from temporal_lens.analysis.scoring import ANSWERS, CANNOT, NO_DATA, NOT_MEASURED, PARTIAL, Cell

_STYLE = {ANSWERS: "bold green", PARTIAL: "yellow", CANNOT: "red"}
SHORT_TITLES = {"temporal": "in place", "history": "history", "app_db": "app db", "history_traces": "hist→tr"}
"""Column titles short enough for 80 columns (the full ones are in the report)."""
FEW_MARK = "*"
LEGEND = ("k/n: units right of n judged (green all, yellow some, red none); second line: Wilson 95% interval; "
          f"{FEW_MARK} few cases (n < 5); cannot: no query can express it; n/a: nothing to judge")


def _short(count: int) -> str:
    return str(count) if count < 1000 else f"{count / 1000:.1f}k" if count < 10_000 else f"{count // 1000}k"


def cell_label(cell: Cell) -> str:
    """The cell in at most 9 characters: `k/n` (with `*` when few cases; from 1000 units on, the share rounded down
    and n in thousands: `99% 10k`), or why there is nothing to count."""
    if cell.n >= 1000:
        share = "all" if cell.orders_right == cell.n else f"{math.floor(100 * cell.orders_right / cell.n)}%"
        return f"{share} {_short(cell.n)}"
    if cell.n:
        return f"{cell.orders_right}/{cell.n}{FEW_MARK if cell.few_cases else ''}"
    if cell.reason == NO_DATA:
        return "no data"
    if cell.reason.startswith(NOT_MEASURED):
        return "n/a"
    return "cannot"


def interval_label(cell: Cell) -> str:
    """A partial's Wilson 95% interval in whole percent (`62-99%`)."""
    low, high = cell.interval
    return f"{low:.0%}-{high:.0%}".replace("%-", "-")


def render_matrix(cells: Sequence[Cell], *, title: str = "Answerability: which source answers which question") -> Table:
    sources = list(dict.fromkeys(cell.source for cell in cells))
    if cells and all(cell.scope == RETAINED for cell in cells):
        title += " (without the deleted runs)"
    # No padding: the box's blank column rule already parts the columns, and six sources must fit 80 columns.
    table = Table(title=title, caption=LEGEND, box=box.SIMPLE_HEAD, padding=(0, 0), collapse_padding=True)
    table.add_column("question", no_wrap=True)
    for source in sources:
        table.add_column(SHORT_TITLES.get(source, SOURCE_TITLES.get(source, source)), justify="center", no_wrap=True)
    by_question: dict[str, dict[str, Cell]] = {}
    for cell in cells:
        by_question.setdefault(cell.question_id, {})[cell.source] = cell
    for question_id, row in by_question.items():
        rendered = []
        for source in sources:
            cell = row.get(source)
            if cell is None:
                rendered.append("")
                continue
            label = cell_label(cell)
            if cell.verdict == PARTIAL:
                label += f"\n[dim]{interval_label(cell)}[/]"
            rendered.append(f"[{_STYLE.get(cell.verdict, '')}]{label}[/]")
        table.add_row(question_id, *rendered)
    return table


def matrix_reasons(cells: Sequence[Cell]) -> list[str]:
    """One line per cell that is not a full answer, saying why."""
    return [f"{c.question_id} / {c.source}: {c.verdict} ({c.reason})" for c in cells if c.verdict != ANSWERS]
