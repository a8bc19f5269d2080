"""Analysis: the question catalogue asked of every source, scored against ground truth."""

from temporal_lens.analysis.catalogue import CATALOGUE, SOURCES, Question, question
from temporal_lens.analysis.matrix import matrix_reasons, render_matrix
from temporal_lens.analysis.scoring import ANSWERS, CANNOT, PARTIAL, Cell, run_sql, score_answers, score_question

__all__ = [
    "ANSWERS",
    "CANNOT",
    "CATALOGUE",
    "PARTIAL",
    "SOURCES",
    "Cell",
    "Question",
    "matrix_reasons",
    "question",
    "render_matrix",
    "run_sql",
    "score_answers",
    "score_question",
]
