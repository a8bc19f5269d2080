"""The audit's outputs: report.html (self-contained, plotly embedded), report.md and audit.json, from one
`AuditReport` the questions and coverage measures fill."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from temporal_lens.analysis.audit.catalogue import GenericAnswer, ask_all
from temporal_lens.analysis.audit.coverage import Coverage, measure_coverage

REPORT_HTML, REPORT_MD, SUMMARY_JSON = "report.html", "report.md", "audit.json"
HISTORY_EVENT_LIMIT = 51_200
HISTORY_BYTES_LIMIT = 50 * 1024 * 1024
_ROWS_SHOWN = 50  # per source and question in the report; audit.json carries the counts, the database every row


@dataclass
class AuditReport:
    """Everything the report shows. `context` says what was audited (namespace, window, inputs)."""

    context: dict[str, Any]
    answers: list[GenericAnswer]
    coverage: list[Coverage]
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def answer(self, question_id: str) -> GenericAnswer:
        return next(answer for answer in self.answers if answer.question.id == question_id)

    def measure(self, measure_id: str) -> Coverage:
        return next(measure for measure in self.coverage if measure.id == measure_id)


def build_audit(conn: duckdb.DuckDBPyConnection, context: dict[str, Any], params: dict[str, Any] | None = None
                ) -> AuditReport:
    """Ask every generic question and measure coverage over what `conn` holds."""
    answers = ask_all(conn, params)
    return AuditReport(context, answers, measure_coverage(conn))


def audit_summary(report: AuditReport) -> dict[str, Any]:
    """The JSON summary: counts and verdicts, the stuck runs in full, coverage rows as they are."""
    runs = report.answer("runs_by_status").rows.get("history", [])
    by_type_status: dict[str, dict[str, int]] = {}
    for row in runs:
        counts = by_type_status.setdefault(str(row["workflow_type"]), {})
        counts[str(row["value"])] = counts.get(str(row["value"]), 0) + 1
    stuck = report.answer("stuck_runs").rows.get("describe", [])
    sizes = report.answer("history_size").rows.get("history", [])
    return {
        "generated_at": report.generated_at,
        "context": report.context,
        "runs": {"total": len(runs), "by_type_and_status": by_type_status},
        "stuck_runs": [
            {key: row.get(key) for key in ("workflow_type", "workflow_id", "run_id", "subject", "detail", "attempt",
                                            "last_failure_message", "last_heartbeat_time")}
            for row in stuck
        ],
        "largest_histories": [
            {"workflow_type": row["workflow_type"], "run_id": row["run_id"], "events": row["value"],
             "bytes": row["detail"], "share_of_event_limit": round(row["value"] / HISTORY_EVENT_LIMIT, 6),
             "share_of_size_limit": round((row["detail"] or 0) / HISTORY_BYTES_LIMIT, 6)}
            for row in sorted(sizes, key=lambda row: row["value"], reverse=True)[:10]
        ],
        "questions": [
            {"id": answer.question.id, "title": answer.question.title, "cannot": answer.cannot,
             "rows": {source: len(rows) for source, rows in answer.rows.items()},
             "by_type": [asdict(verdict) for verdict in answer.by_type]}
            for answer in report.answers
        ],
        "coverage": {measure.id: measure.rows for measure in report.coverage},
    }


def write_audit_report(report: AuditReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.html, report.md and audit.json into `out_dir`; returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = audit_summary(report)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files(__package__).joinpath("templates"))),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    shown = {answer.question.id: {source: rows[:_ROWS_SHOWN] for source, rows in answer.rows.items()}
             for answer in report.answers}
    values = {"report": report, "summary": summary, "shown": shown, "limit_events": HISTORY_EVENT_LIMIT,
              "limit_bytes": HISTORY_BYTES_LIMIT}
    paths = {name: out / name for name in (REPORT_HTML, REPORT_MD, SUMMARY_JSON)}
    paths[REPORT_HTML].write_text(
        env.get_template("audit.html.j2").render(**values, chart=_runs_chart(report),
                                                 plotly_js=_plotly_js()), encoding="utf-8")
    md_env = jinja2.Environment(loader=env.loader, autoescape=False, trim_blocks=True, lstrip_blocks=True)
    paths[REPORT_MD].write_text(md_env.get_template("audit.md.j2").render(**values), encoding="utf-8")
    paths[SUMMARY_JSON].write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return paths


def _runs_chart(report: AuditReport) -> str:
    """Runs started per hour, stacked by workflow type and status (history's answer)."""
    import plotly.graph_objects as go

    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in report.answer("runs_by_status").rows.get("history", []):
        series = counts.setdefault((str(row["workflow_type"]), str(row["value"])), {})
        series[str(row["detail"])] = series.get(str(row["detail"]), 0) + 1
    fig = go.Figure()
    for (workflow_type, status), series in sorted(counts.items()):
        hours = sorted(series)
        fig.add_bar(name=f"{workflow_type} {status}", x=hours, y=[series[hour] for hour in hours])
    fig.update_layout(barmode="stack", height=360, margin={"l": 40, "r": 10, "t": 30, "b": 40},
                      template="plotly_white", xaxis_title="start hour (UTC)", yaxis_title="runs")
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="runs-over-time")


def _plotly_js() -> str:
    import plotly.offline

    return plotly.offline.get_plotlyjs()
