"""One order's step attempts as a waterfall: a row per attempt the driver made, each source's view of it on the row.

Where a source's mark is absent from a row, that source does not record that attempt: the picture of the causes
(history keeps only a step's last attempt; a killed worker never exports the span of the attempt it died in).
"""

from __future__ import annotations

from typing import Any

import duckdb

from temporal_lens.analysis.scoring import run_sql

_OFFSET = {"history": -0.25, "traces": 0.0, "logs": 0.25}
"""Where each source draws within an attempt's row."""


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return run_sql(conn, sql, params)
    except duckdb.Error:
        return []  # a source whose table is not there has nothing to draw


def attempt_rows(conn: duckdb.DuckDBPyConnection, order_id: str) -> list[dict[str, Any]]:
    """The attempts the ground truth says the order made, in the order they ran."""
    return _rows(conn, """SELECT step, attempt, outcome, error_type FROM ground_truth_attempts
                          WHERE order_id = $order ORDER BY step, attempt""", {"order": order_id})


def waterfall_html(conn: duckdb.DuckDBPyConnection, order: dict[str, Any]) -> str:
    """The waterfall of `order` (a ground_truth row: order_id, workflow_id) as an HTML fragment ('' if no attempts)."""
    import plotly.graph_objects as go

    attempts = attempt_rows(conn, order["order_id"])
    if not attempts:
        return ""
    row_of = {(a["step"], a["attempt"]): i for i, a in enumerate(attempts)}
    ids = {"order": order["workflow_id"], "invoice": "invoice-" + order["order_id"]}
    where = "workflow_id IN ($order, $invoice)"
    history = _rows(conn, f"""SELECT event_time AS t, event_type, activity_type AS step,
                                     coalesce(attempt, 1) AS attempt, workflow_id
                              FROM history_events WHERE {where} AND activity_type IS NOT NULL""", ids)
    spans = _rows(conn, f"""SELECT start_time, end_time, name, service_name, status_code,
                                   activity_type AS step, attempt
                            FROM spans WHERE {where} AND source <> 'history' AND attempt IS NOT NULL""", ids)
    logs = _rows(conn, f"""SELECT time AS t, event, service_name, level,
                                  activity_type AS step, attempt
                           FROM logs WHERE {where} AND attempt IS NOT NULL""", ids)

    def y(source: str, record: dict[str, Any]) -> float | None:
        row = row_of.get((record["step"], record["attempt"]))
        return None if row is None else len(attempts) - 1 - row + _OFFSET[source]

    fig = go.Figure()
    marks = [r for r in history if y("history", r) is not None]
    fig.add_trace(go.Scatter(
        x=[r["t"] for r in marks], y=[y("history", r) for r in marks], mode="markers", name="history events",
        marker={"symbol": "diamond", "size": 9, "color": "#6f42c1"},
        text=[f"{r['event_type']} {r['step']} attempt {r['attempt']} ({r['workflow_id']})" for r in marks],
        hovertemplate="%{text}<br>%{x}<extra>history</extra>",
    ))
    xs: list[Any] = []
    ys: list[Any] = []
    texts: list[Any] = []
    for span in spans:
        row = y("traces", span)
        if row is None:
            continue
        label = f"{span['name']} attempt {span['attempt']} [{span['service_name']}] {span['status_code'] or ''}"
        xs += [span["start_time"], span["end_time"], None]
        ys += [row, row, None]
        texts += [label, label, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name="spans", line={"width": 6, "color": "#0d6efd"},
                             marker={"size": 4, "color": "#0d6efd"}, text=texts,
                             hovertemplate="%{text}<br>%{x}<extra>traces</extra>"))
    dots = [r for r in logs if y("logs", r) is not None]
    fig.add_trace(go.Scatter(
        x=[r["t"] for r in dots], y=[y("logs", r) for r in dots], mode="markers", name="log records",
        marker={"symbol": "circle", "size": 7, "color": ["#dc3545" if r["level"] == "error" else "#fd7e14"
                                                           for r in dots]},
        text=[f"{r['event']} {r['step']} attempt {r['attempt']} [{r['service_name']}]" for r in dots],
        hovertemplate="%{text}<br>%{x}<extra>logs</extra>",
    ))
    labels = [f"{a['step']} #{a['attempt']} ({a['outcome']})" for a in attempts]
    fig.update_layout(
        height=120 + 34 * len(attempts), margin={"l": 230, "r": 20, "t": 30, "b": 40}, showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"}, template="plotly_white",
        yaxis={"tickvals": list(range(len(attempts) - 1, -1, -1)), "ticktext": labels,
               "range": [-0.6, len(attempts) - 0.4], "zeroline": False},
        xaxis={"title": {"text": "time (UTC)"}},
    )
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"waterfall-{order['order_id']}")
