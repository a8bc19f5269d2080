"""Analysis: the question catalogue asked of every source, scored against ground truth, judged, and reported."""

from temporal_lens.analysis.asking import Answer, ask_question
from temporal_lens.analysis.catalogue import CATALOGUE, KINDS, SOURCES, Cannot, Question, question
from temporal_lens.analysis.causes import CAUSES, OUTCOMES, Cause
from temporal_lens.analysis.claims import Claim, judge_claims
from temporal_lens.analysis.interval import wilson_interval
from temporal_lens.analysis.matrix import matrix_reasons, render_matrix
from temporal_lens.analysis.report import store_settings, write_report
from temporal_lens.analysis.scopes import ALL, RETAINED, SCOPES
from temporal_lens.analysis.scoring import ANSWERS, CANNOT, PARTIAL, Cell, run_sql, score_answers, score_question

__all__ = [
    "ALL",
    "ANSWERS",
    "CANNOT",
    "CATALOGUE",
    "CAUSES",
    "KINDS",
    "OUTCOMES",
    "PARTIAL",
    "RETAINED",
    "SCOPES",
    "SOURCES",
    "Answer",
    "Cannot",
    "Cause",
    "Cell",
    "Claim",
    "Question",
    "ask_question",
    "judge_claims",
    "matrix_reasons",
    "question",
    "render_matrix",
    "run_sql",
    "score_answers",
    "score_question",
    "store_settings",
    "wilson_interval",
    "write_report",
]
