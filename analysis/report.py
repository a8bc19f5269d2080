"""The study report: the matrix, the claims, every question's SQL, and one timeline per scenario, as HTML and Markdown.

The HTML is self-contained (plotly's JavaScript is embedded once), so it opens offline from a file.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import jinja2

from temporal_lens.analysis.catalogue import CATALOGUE, SOURCE_TITLES, SOURCES, Question
from temporal_lens.analysis.claims import Claim, judge_claims
from temporal_lens.analysis.scoring import ANSWERS, PARTIAL, Cell, run_sql, score_answers, sources_with_data

SETTINGS_TABLE = "study_settings"
_LANES = ("history", "traces", "logs", "history_traces")


@dataclass
class Timeline:
    order_id: str
    scenario: str
    workflow_id: str
    run_id: str | None
    ui_link: str | None
    html: str


@dataclass
class ReportData:
    cells: list[Cell]
    claims: list[Claim]
    questions: Sequence[Question]
    sources: Sequence[str]
    timelines: list[Timeline] = field(default_factory=list)
    storage: dict[str, float] = field(default_factory=dict)
    """Median bytes per order each source keeps."""
    ui_url: str | None = None
    namespace: str = "default"
    generated_at: str = ""


def store_settings(conn: duckdb.DuckDBPyConnection, **values: str | None) -> None:
    """Remember values the report needs but no source holds (the Web UI address, the namespace)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {SETTINGS_TABLE} (name VARCHAR PRIMARY KEY, value VARCHAR)")
    for name, value in values.items():
        if value is not None:
            conn.execute(f"INSERT OR REPLACE INTO {SETTINGS_TABLE} VALUES ($name, $value)",
                         {"name": name, "value": value})


def read_settings(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        return {r["name"]: r["value"] for r in run_sql(conn, f"SELECT name, value FROM {SETTINGS_TABLE}")}
    except duckdb.Error:
        return {}


def workflow_ui_link(ui_url: str | None, namespace: str, workflow_id: str, run_id: str | None) -> str | None:
    if not ui_url or not run_id:
        return None
    return (f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}/"
            f"{quote(run_id, safe='')}/history")


def build_report(
    conn: duckdb.DuckDBPyConnection, *, ui_url: str | None = None, namespace: str | None = None,
    cells: list[Cell] | None = None,
) -> ReportData:
    settings = read_settings(conn)
    ui_url = ui_url or settings.get("ui_url")
    namespace = namespace or settings.get("namespace") or "default"
    cells = cells if cells is not None else score_answers(conn, store=False)
    data = ReportData(cells, judge_claims(cells), CATALOGUE, SOURCES, ui_url=ui_url, namespace=namespace,
                      generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    data.storage = _storage(conn)
    data.timelines = [_timeline(conn, order, ui_url, namespace) for order in _chosen_orders(conn)]
    return data


def _storage(conn: duckdb.DuckDBPyConnection) -> dict[str, float]:
    storage_question = next(q for q in CATALOGUE if q.id == "storage_bytes")
    present = sources_with_data(conn)
    medians = {}
    for source in SOURCES:
        sql = storage_question.sql(source)
        if sql is None or source not in present:
            continue
        try:
            values = [float(r["bytes"]) for r in run_sql(conn, sql) if r["bytes"]]
        except duckdb.Error:
            continue
        if values:
            medians[source] = statistics.median(values)
    return medians


def _chosen_orders(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The first order of each scenario kind."""
    try:
        return run_sql(conn, """SELECT order_id, scenario, workflow_id, run_id FROM ground_truth
                                QUALIFY row_number() OVER (PARTITION BY scenario ORDER BY order_id) = 1
                                ORDER BY order_id""")
    except duckdb.Error:
        return []


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return run_sql(conn, sql, params)
    except duckdb.Error:
        return []  # a source whose table is not there has nothing to draw


def _timeline(conn: duckdb.DuckDBPyConnection, order: dict[str, Any], ui_url: str | None, namespace: str) -> Timeline:
    import plotly.graph_objects as go

    ids = {"order": order["workflow_id"], "invoice": "invoice-" + order["order_id"]}
    where = "workflow_id IN ($order, $invoice)"
    history = _rows(conn, f"SELECT event_time AS t, event_type, activity_type, workflow_id FROM history_events "
                          f"WHERE {where} ORDER BY event_time", ids)
    spans = {source: _rows(conn, f"SELECT start_time, end_time, name, service_name FROM spans WHERE {where} AND "
                                 f"source {op} 'history' ORDER BY start_time", ids)
             for source, op in (("traces", "<>"), ("history_traces", "="))}
    logs = _rows(conn, f"SELECT time AS t, event, service_name, level FROM logs WHERE {where} ORDER BY time", ids)

    fig = go.Figure()
    lanes = [lane for lane in _LANES if lane in ("history", "traces", "logs") or spans.get(lane)]
    y_of = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    fig.add_trace(go.Scatter(
        x=[r["t"] for r in history], y=[y_of["history"]] * len(history), mode="markers", name="history events",
        marker={"symbol": "diamond", "size": 9, "color": "#6f42c1"},
        text=[f"{r['event_type']}{' ' + r['activity_type'] if r['activity_type'] else ''} ({r['workflow_id']})"
              for r in history],
        hovertemplate="%{text}<br>%{x}<extra>history</extra>",
    ))
    for source, color in (("traces", "#0d6efd"), ("history_traces", "#20c997")):
        if source not in y_of:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        texts: list[Any] = []
        for k, span in enumerate(spans[source]):
            y = y_of[source] - 0.35 + 0.7 * (k % 8) / 8
            xs += [span["start_time"], span["end_time"], None]
            ys += [y, y, None]
            label = f"{span['name']} [{span['service_name']}]"
            texts += [label, label, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{SOURCE_TITLES[source]} spans",
                                 line={"width": 5, "color": color}, marker={"size": 4, "color": color},
                                 text=texts, hovertemplate="%{text}<br>%{x}<extra>" + source + "</extra>"))
    fig.add_trace(go.Scatter(
        x=[r["t"] for r in logs], y=[y_of["logs"]] * len(logs), mode="markers", name="log records",
        marker={"symbol": "circle", "size": 7, "color": ["#dc3545" if r["level"] == "error" else "#fd7e14"
                                                           for r in logs]},
        text=[f"{r['event']} [{r['service_name']}]" for r in logs],
        hovertemplate="%{text}<br>%{x}<extra>logs</extra>",
    ))
    fig.update_layout(
        height=300, margin={"l": 110, "r": 20, "t": 30, "b": 40}, showlegend=True,
        legend={"orientation": "h", "y": 1.12}, template="plotly_white",
        yaxis={"tickvals": list(y_of.values()), "ticktext": [SOURCE_TITLES[lane] for lane in y_of],
               "range": [-0.6, len(lanes) - 0.4], "zeroline": False},
        xaxis={"title": {"text": "time (UTC)"}},
    )
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"timeline-{order['order_id']}")
    return Timeline(order["order_id"], order["scenario"], order["workflow_id"], order["run_id"],
                    workflow_ui_link(ui_url, namespace, order["workflow_id"], order["run_id"]), html)


def _environment() -> jinja2.Environment:
    templates = files(__package__).joinpath("templates")

    def load(name: str) -> str:
        return templates.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=jinja2.select_autoescape(["html.j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["verdict_label"] = lambda c: f"partial {c.fraction:.0%}" if c.verdict == PARTIAL else c.verdict
    env.globals["ANSWERS"] = ANSWERS
    env.globals["SOURCE_TITLES"] = SOURCE_TITLES
    return env


def render_html(data: ReportData) -> str:
    import plotly.offline

    grid = {(c.question_id, c.source): c for c in data.cells}
    return _environment().get_template("report.html.j2").render(
        data=data, grid=grid, plotly_js=plotly.offline.get_plotlyjs()
    )


def render_markdown(data: ReportData) -> str:
    grid = {(c.question_id, c.source): c for c in data.cells}
    return _environment().get_template("report.md.j2").render(data=data, grid=grid)


def write_report(
    conn: duckdb.DuckDBPyConnection, html_path: Path, md_path: Path | None = None, *,
    ui_url: str | None = None, namespace: str | None = None, cells: list[Cell] | None = None,
) -> tuple[Path, Path]:
    """Write report.html (self-contained) and report.md next to it (or at `md_path`); returns both paths."""
    data = build_report(conn, ui_url=ui_url, namespace=namespace, cells=cells)
    html_path = Path(html_path)
    md_path = Path(md_path) if md_path else html_path.with_suffix(".md")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(data), encoding="utf-8")
    md_path.write_text(render_markdown(data), encoding="utf-8")
    return html_path, md_path
