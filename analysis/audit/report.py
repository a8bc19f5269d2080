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

from temporal_lens.analysis.audit.catalogue import DEFAULT_PARAMS, GenericAnswer, ask_all, question_sql
from temporal_lens.analysis.audit.coverage import Coverage, measure_coverage

REPORT_HTML, REPORT_MD, SUMMARY_JSON = "report.html", "report.md", "audit.json"
HISTORY_EVENT_LIMIT = 51_200
HISTORY_BYTES_LIMIT = 50 * 1024 * 1024
_STUCK_LISTED = 1000  # stuck runs named one by one in audit.json and the report; the count is always whole


@dataclass(frozen=True)
class Overview:
    """The headline figures, aggregated in DuckDB from the questions' own SQL (flat in the number of runs)."""

    runs_total: int
    by_type_and_status: dict[str, dict[str, int]]
    per_hour: list[tuple[str, str, str, int]]
    stuck_total: int
    stuck: list[dict[str, Any]]
    largest: list[dict[str, Any]]


@dataclass
class AuditReport:
    """Everything the report shows. `context` says what was audited (namespace, window, inputs)."""

    context: dict[str, Any]
    overview: Overview
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
    return AuditReport(context, _overview(conn, {**DEFAULT_PARAMS, **(params or {})}), answers,
                       measure_coverage(conn))


def _overview(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> Overview:
    runs = _query(question_sql("runs_by_status", "history"))
    per_hour = [tuple(row) for row in conn.execute(
        f"SELECT CAST(workflow_type AS VARCHAR), value, detail, count(*) FROM ({runs}) GROUP BY ALL ORDER BY ALL"
    ).fetchall()]
    by_type: dict[str, dict[str, int]] = {}
    for workflow_type, status, _, n in per_hour:
        counts = by_type.setdefault(str(workflow_type), {})
        counts[str(status)] = counts.get(str(status), 0) + n
    stuck_total, stuck = 0, []
    if conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pending_activities'").fetchone()[0]:
        stuck_sql = _query(question_sql("stuck_runs", "describe"))
        used = {name: value for name, value in params.items() if f"${name}" in stuck_sql}
        stuck_total = conn.execute(f"SELECT count(*) FROM ({stuck_sql})", used).fetchone()[0]
        stuck = _dicts(conn.execute(f"SELECT * FROM ({stuck_sql}) ORDER BY attempt DESC LIMIT {_STUCK_LISTED}", used))
    sizes = _query(question_sql("history_size", "history"))
    largest = _dicts(conn.execute(
        f"SELECT workflow_type, run_id, value AS events, detail AS bytes, largest_event_bytes,"
        f" round(value / {HISTORY_EVENT_LIMIT}, 6) AS share_of_event_limit,"
        f" round(detail / {HISTORY_BYTES_LIMIT}, 6) AS share_of_size_limit"
        f" FROM ({sizes}) ORDER BY value DESC, detail DESC LIMIT 10"))
    return Overview(sum(sum(counts.values()) for counts in by_type.values()), by_type, per_hour, stuck_total, stuck,
                    largest)


def _query(sql: str | None) -> str:
    assert sql is not None
    return sql.strip().rstrip(";")


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def audit_summary(report: AuditReport) -> dict[str, Any]:
    """The JSON summary: counts and verdicts, the stuck runs, the largest histories, coverage rows as they are."""
    overview = report.overview
    return {
        "generated_at": report.generated_at,
        "context": report.context,
        "runs": {"total": overview.runs_total, "by_type_and_status": overview.by_type_and_status},
        "stuck_total": overview.stuck_total,
        "stuck_runs": overview.stuck,
        "largest_histories": overview.largest,
        "questions": [
            {"id": answer.question.id, "title": answer.question.title, "cannot": answer.cannot,
             "rows": answer.row_counts, "by_type": [asdict(verdict) for verdict in answer.by_type]}
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
    values = {"report": report, "summary": summary, "limit_events": HISTORY_EVENT_LIMIT,
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
    for workflow_type, status, hour, n in report.overview.per_hour:
        counts.setdefault((str(workflow_type), str(status)), {})[str(hour)] = n
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
