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

from temporal_lens.analysis.catalogue import CATALOGUE, PER_ORDER_MEASURE, SOURCE_TITLES, SOURCES, Question
from temporal_lens.analysis.causes import CAUSES
from temporal_lens.analysis.claims import Claim, judge_claims
from temporal_lens.analysis.interval import FEW_CASES
from temporal_lens.analysis.matrix import cell_label, interval_label
from temporal_lens.analysis.scopes import RETAINED, SCOPE_TITLES
from temporal_lens.analysis.scoring import ANSWERS, PARTIAL, Cell, _bind, run_sql, score_answers, sources_with_data
from temporal_lens.analysis.waterfall import waterfall_html

SETTINGS_TABLE = "study_settings"
_LANES = ("history", "traces", "logs", "history_traces")
METHOD_RULE = (
    "A source answers what an operator can derive from what that source stores, with one query over that source's "
    "tables (no ground truth, no other source); the same inference is allowed wherever the same evidence is stored; "
    "every unit a source gets not-right carries a cause; every `cannot` names what the data lacks. Temporal in place "
    "answers only from what the server's own APIs returned when asked (Visibility List and Count, Describe, workflow "
    "queries, one run's history as `temporal workflow show` prints it): per order it may read that run's events, "
    "never join or add up across runs; what needs a server-side operation Temporal lacks (a sum, a percentile, a "
    "join across runs) is `cannot` (a client that lists everything and adds it up is an export: the exported "
    "history column)."
)
"""The one inference rule every cell is scored by, stated in both reports."""


@dataclass(frozen=True)
class Measured:
    """One source's bytes per order, as its measurement question's SQL counts them."""

    orders: int
    median: float
    p95: float
    total: float


@dataclass
class Timeline:
    order_id: str
    scenario: str
    workflow_id: str
    run_id: str | None
    ui_link: str | None
    html: str
    waterfall: str = ""
    """One row per step attempt the ground truth records, each source's view of it on the row."""


@dataclass
class ReportData:
    cells: list[Cell]
    claims: list[Claim]
    questions: Sequence[Question]
    """The questions scored for answerability (measurements are reported apart)."""
    sources: Sequence[str]
    retained: list[Cell] = field(default_factory=list)
    """The same matrix without the deleted runs."""
    timelines: list[Timeline] = field(default_factory=list)
    storage: dict[str, Measured] = field(default_factory=dict)
    """Bytes per order each source keeps."""
    measures: Sequence[Question] = ()
    """The measurement questions behind `storage`."""
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
    cells: list[Cell] | None = None, retained: list[Cell] | None = None,
) -> ReportData:
    settings = read_settings(conn)
    ui_url = ui_url or settings.get("ui_url")
    namespace = namespace or settings.get("namespace") or "default"
    cells = cells if cells is not None else score_answers(conn, store=False)
    retained = retained if retained is not None else score_answers(conn, store=False, scope=RETAINED)
    questions = [q for q in CATALOGUE if q.kind != PER_ORDER_MEASURE]
    data = ReportData(cells, judge_claims(cells), questions, SOURCES, retained=retained, ui_url=ui_url,
                      namespace=namespace, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                      measures=[q for q in CATALOGUE if q.kind == PER_ORDER_MEASURE])
    data.storage = _storage(conn, data.measures)
    data.timelines = [_timeline(conn, order, ui_url, namespace) for order in _chosen_orders(conn)]
    return data


def _storage(conn: duckdb.DuckDBPyConnection, measures: Sequence[Question]) -> dict[str, Measured]:
    """Per source, the bytes per order its measurement query counts: a table of numbers, not a verdict."""
    present = sources_with_data(conn)
    measured = {}
    for q in measures:
        column = q.observed[0] if q.observed else "bytes"
        for source in SOURCES:
            sql = q.sql(source)
            if sql is None or source not in present or source in measured:
                continue
            try:
                params_sql = q.params_sql()
                params = run_sql(conn, params_sql)[0] if params_sql else {}
                rows = run_sql(conn, sql, _bind(sql, params))
                values = sorted(float(r[column]) for r in rows if r[column] is not None)
            except (duckdb.Error, KeyError, IndexError):
                continue
            if values:
                p95 = statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
                measured[source] = Measured(len(values), statistics.median(values), p95, sum(values))
    return measured


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
                    workflow_ui_link(ui_url, namespace, order["workflow_id"], order["run_id"]), html,
                    waterfall_html(conn, order))


def _environment() -> jinja2.Environment:
    templates = files(__package__).joinpath("templates")

    def load(name: str) -> str:
        return templates.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=jinja2.select_autoescape(["html.j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["verdict_label"] = _verdict_label
    env.filters["cell_label"] = cell_label
    env.filters["interval"] = lambda c: interval_label(c) if c.verdict == PARTIAL else ""
    env.globals["ANSWERS"] = ANSWERS
    env.globals["PARTIAL"] = PARTIAL
    env.globals["SOURCE_TITLES"] = SOURCE_TITLES
    env.globals["CAUSES"] = CAUSES
    env.globals["METHOD_RULE"] = METHOD_RULE
    env.globals["FEW_CASES"] = FEW_CASES
    env.globals["RETAINED_TITLE"] = SCOPE_TITLES[RETAINED]
    return env


def _verdict_label(cell: Cell) -> str:
    """The verdict with its n: `answers (n=12)`, `partial 92% [65-99%] (n=12)`, `cannot (n=3, few cases)`."""
    label = f"partial {cell.fraction:.0%} [{interval_label(cell)}]" if cell.verdict == PARTIAL else cell.verdict
    if not cell.n:
        return label
    return f"{label} (n={cell.n}{', few cases' if cell.few_cases else ''})"


def _grids(data: ReportData) -> dict[str, dict[tuple[str, str], Cell]]:
    return {"grid": {(c.question_id, c.source): c for c in data.cells},
            "retained_grid": {(c.question_id, c.source): c for c in data.retained}}


def render_html(data: ReportData) -> str:
    import plotly.offline

    return _environment().get_template("report.html.j2").render(
        data=data, plotly_js=plotly.offline.get_plotlyjs(), **_grids(data)
    )


def render_markdown(data: ReportData) -> str:
    return _environment().get_template("report.md.j2").render(data=data, **_grids(data))


def write_report(
    conn: duckdb.DuckDBPyConnection, html_path: Path, md_path: Path | None = None, *,
    ui_url: str | None = None, namespace: str | None = None, cells: list[Cell] | None = None,
    retained: list[Cell] | None = None,
) -> tuple[Path, Path]:
    """Write report.html (self-contained) and report.md next to it (or at `md_path`); returns both paths."""
    data = build_report(conn, ui_url=ui_url, namespace=namespace, cells=cells, retained=retained)
    html_path = Path(html_path)
    md_path = Path(md_path) if md_path else html_path.with_suffix(".md")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(data), encoding="utf-8")
    md_path.write_text(render_markdown(data), encoding="utf-8")
    return html_path, md_path
