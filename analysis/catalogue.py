"""The question catalogue: each operator question, the SQL that asks it of every source, and how to check it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

SOURCES = ("history", "traces", "logs", "app_db")
SOURCE_TITLES = {"history": "history", "traces": "traces", "logs": "logs", "app_db": "app db"}


@dataclass(frozen=True)
class Question:
    """One operator question.

    Args:
        id: folder name under `questions/`; holds `truth.sql` and one `<source>.sql` per source that can ask it.
        text: the question as an operator would ask it.
        key: the columns that identify one answer row besides `order_id`; all other columns are compared.
        tolerance_ms: for timing questions, the answer's `duration_ms` must lie within
            [truth `work_ms` - tolerance_ms[0], truth `work_ms` + tolerance_ms[1]].
        cannot: why a source without SQL cannot answer.
    """

    id: str
    text: str
    key: tuple[str, ...] = ()
    tolerance_ms: tuple[float, float] | None = None
    cannot: dict[str, str] = field(default_factory=dict)

    def folder(self) -> Traversable:
        return files(__package__).joinpath("questions", self.id)

    def sql(self, source: str) -> str | None:
        """The SQL asking this question of `source`, or None where the source cannot express it."""
        path = self.folder().joinpath(f"{source}.sql")
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def truth_sql(self) -> str:
        return self.folder().joinpath("truth.sql").read_text(encoding="utf-8")


CATALOGUE: tuple[Question, ...] = (
    Question(
        id="order_status",
        text="Did order X complete, and with what final status?",
    ),
    Question(
        id="payment_attempts",
        text="How many attempts did payment authorization take for order X, and what failed on each?",
        key=("attempt",),
        cannot={"app_db": "the orders table keeps the order's status, not the attempts of its steps"},
    ),
    Question(
        id="step_durations",
        text="How long did each completed step of order X take?",
        key=("step",),
        tolerance_ms=(15.0, 1500.0),
        cannot={"app_db": "the orders table keeps one updated_at per order, not the start and end of each step"},
    ),
)


def question(question_id: str) -> Question:
    for q in CATALOGUE:
        if q.id == question_id:
            return q
    known = ", ".join(q.id for q in CATALOGUE)
    raise KeyError(f"unknown question {question_id!r}; known: {known}")
