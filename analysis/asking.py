"""Asking: one catalogue question put to one source, its rows as the operator would read them (no scoring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from temporal_lens.analysis.catalogue import SOURCES, Question
from temporal_lens.analysis.scoring import _bind, run_sql


@dataclass(frozen=True)
class Answer:
    """What `source` answers to a question: its rows, or why it cannot ask it (`cannot` is then set)."""

    question_id: str
    source: str
    question: str
    cannot: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)


def ask_question(conn: duckdb.DuckDBPyConnection, q: Question, source: str) -> Answer:
    """`q` asked of `source`, its parameters (a period, say) bound from the ground truth as the scoring binds them.

    Raises:
        ValueError: `source` is not one of SOURCES.
        duckdb.Error: the question's SQL failed on this database (a table not collected, say).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose among {', '.join(SOURCES)}")
    sql = q.sql(source)
    if sql is None:
        return Answer(q.id, source, q.text, q.cannot_reason(source))
    return Answer(q.id, source, q.text, None, run_sql(conn, sql, _bind(sql, _question_params(conn, q))))


def _question_params(conn: duckdb.DuckDBPyConnection, q: Question) -> dict[str, Any]:
    params_sql = q.params_sql()
    return run_sql(conn, params_sql)[0] if params_sql else {}


__all__ = ["Answer", "ask_question"]
