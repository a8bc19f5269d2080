"""The audit: generic questions and instrumentation coverage for any Temporal namespace, no ground truth needed."""

from temporal_lens.analysis.audit.catalogue import (
    QUESTIONS,
    SOURCES,
    GenericAnswer,
    GenericQuestion,
    PairVerdict,
    TypeVerdict,
    ask_all,
    ask_generic,
    create_views,
)
from temporal_lens.analysis.audit.coverage import MEASURES, Coverage, measure_coverage
from temporal_lens.analysis.audit.report import AuditReport, Overview, audit_summary, build_audit, write_audit_report

__all__ = [
    "MEASURES",
    "QUESTIONS",
    "SOURCES",
    "AuditReport",
    "Coverage",
    "GenericAnswer",
    "GenericQuestion",
    "Overview",
    "PairVerdict",
    "TypeVerdict",
    "ask_all",
    "ask_generic",
    "audit_summary",
    "build_audit",
    "create_views",
    "measure_coverage",
    "write_audit_report",
]
