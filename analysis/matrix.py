"""The answerability matrix as a terminal table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from temporal_lens.analysis.catalogue import SOURCE_TITLES
from temporal_lens.analysis.scoring import ANSWERS, PARTIAL, Cell

_STYLE = {ANSWERS: "bold green", PARTIAL: "yellow", "cannot": "red"}


def render_matrix(cells: Sequence[Cell], *, title: str = "Answerability: which source answers which question") -> Table:
    sources = list(dict.fromkeys(cell.source for cell in cells))
    table = Table(title=title, show_lines=True)
    table.add_column("question", max_width=48)
    for source in sources:
        table.add_column(SOURCE_TITLES.get(source, source), justify="center")
    by_question: dict[str, dict[str, Cell]] = {}
    for cell in cells:
        by_question.setdefault(cell.question_id, {})[cell.source] = cell
    for row in by_question.values():
        first = next(iter(row.values()))
        rendered = []
        for source in sources:
            cell = row.get(source)
            if cell is None:
                rendered.append("")
                continue
            label = cell.verdict if cell.verdict != PARTIAL else f"partial {cell.fraction:.0%}"
            rendered.append(f"[{_STYLE.get(cell.verdict, '')}]{label}[/]")
        table.add_row(f"{first.question}\n[dim]{first.question_id}[/]", *rendered)
    return table


def matrix_reasons(cells: Sequence[Cell]) -> list[str]:
    """One line per cell that is not a full answer, saying why."""
    return [f"{c.question_id} / {c.source}: {c.verdict} ({c.reason})" for c in cells if c.verdict != ANSWERS]
