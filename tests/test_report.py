"""The study's HTML report, opened in a real headless Chromium: matrix and timelines render, no script errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import plotly.offline
import pytest

from temporal_lens.analysis import SOURCES, score_answers
from temporal_lens.analysis.report import build_report, render_markdown, workflow_ui_link, write_report

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get update && apt-get install -y chromium"


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--virtual-time-budget=15000", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


@pytest.mark.server
@pytest.mark.study
def test_study_writes_both_reports_before_naming_the_run_folder(study_run) -> None:
    run_dir, stdout = study_run
    lines = stdout.strip().splitlines()
    assert lines[-1] == f"Run folder: {run_dir}"
    assert f"Report: {run_dir / 'report.html'}" in lines
    assert f"Summary: {run_dir / 'report.md'}" in lines
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| question |" in markdown and "## Claims" in markdown
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    # self-contained: no script or stylesheet is fetched, and plotly.js is embedded once
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    assert html.count("window.Plotly") >= 1
    assert html.count(plotly.offline.get_plotlyjs()[:200]) == 1


@pytest.mark.server
@pytest.mark.study
@pytest.mark.browser
def test_report_renders_in_chromium(study_run, tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)}); install it with `{INSTALL}`")
    run_dir, _ = study_run
    report = (run_dir / "report.html").resolve()

    dumped = _run_chromium(binary, tmp_path / "profile-dom", "--enable-logging=stderr", "--v=0", "--dump-dom",
                           report.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert 'id="answerability-matrix"' in dom
    for source in SOURCES:
        assert f'id="cell-order_status-{source}"' in dom
    assert 'class="main-svg"' in dom, "no plotly figure was drawn: its script did not run"
    assert dom.count('class="plotly-graph-div') >= 1
    # each scenario's order also drawn as a waterfall of its attempts, rendered (an svg inside its div)
    waterfalls = re.findall(r'id="waterfall-[^"]+"[^>]*>\s*<div class="plot-container', dom)
    assert waterfalls, "no attempt waterfall was drawn"
    assert 'id="retained-matrix"' in dom and 'id="method"' in dom and 'id="storage-table"' in dom
    console_errors = [line for line in dumped.stderr.splitlines()
                      if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    assert console_errors == []

    screenshot = tmp_path / "report.png"
    shot = _run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,3000",
                         report.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000


@pytest.mark.server
@pytest.mark.study
def test_report_command_stores_the_ui_url_and_links_each_workflow(study_run, tmp_path: Path) -> None:
    run_dir, _ = study_run
    db = tmp_path / "lens.duckdb"
    shutil.copy(run_dir / "lens.duckdb", db)
    out = tmp_path / "out" / "report.html"
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "report", "--db", str(db), "--out", str(out),
         "--ui-url", "http://127.0.0.1:8233"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    html = out.read_text(encoding="utf-8")
    with duckdb.connect(str(db), read_only=True) as conn:
        first = conn.execute("SELECT workflow_id, run_id FROM ground_truth ORDER BY order_id").fetchall()
    workflow_id, run_id = first[0]
    assert f"http://127.0.0.1:8233/namespaces/default/workflows/{workflow_id}/{run_id}/history" in html
    assert (tmp_path / "out" / "report.md").is_file()
    # stored: a second report without --ui-url still links
    with duckdb.connect(str(db)) as conn:
        data = build_report(conn)
    assert data.ui_url == "http://127.0.0.1:8233"
    assert all(t.ui_link for t in data.timelines if t.run_id)


def test_report_without_any_source_data(tmp_path: Path) -> None:
    """An empty database still reports: every cell is 'cannot', every claim 'not yet measured' or computed."""
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as conn:
        cells = score_answers(conn, store=False)
        assert {c.verdict for c in cells} == {"cannot"}
        html, md = write_report(conn, tmp_path / "r.html", cells=cells)
        data = build_report(conn, cells=cells)
    assert html.is_file() and md.is_file()
    assert {c.verdict for c in data.claims} == {"not yet measured"}
    assert "not yet measured" in render_markdown(data)


def test_workflow_ui_link_quotes_ids() -> None:
    assert workflow_ui_link("http://ui:8080/", "default", "order-a/b", "r1") == (
        "http://ui:8080/namespaces/default/workflows/order-a%2Fb/r1/history"
    )
    assert workflow_ui_link(None, "default", "w", "r") is None


def test_waterfall_has_a_row_per_attempt_the_truth_records(study_run) -> None:
    run_dir, _ = study_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as conn:
        data = build_report(conn, cells=[], retained=[])
        attempts = dict(conn.execute("SELECT order_id, list(step || ' #' || attempt || ' (' || outcome || ')') "
                                     "FROM ground_truth_attempts GROUP BY 1").fetchall())
    drawn = [t for t in data.timelines if t.order_id in attempts]
    assert drawn
    for t in drawn:
        assert f'id="waterfall-{t.order_id}"' in t.waterfall
        for label in attempts[t.order_id]:
            assert label in t.waterfall, (t.scenario, label)
    crashed = [t for t in drawn if t.scenario == "crash"]
    assert crashed and "(lost)" in crashed[0].waterfall
