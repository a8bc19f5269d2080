"""`temporal-lens audit` over a workload the test ran itself, served by a LensPlugin worker, a contrib
TracingInterceptor worker and an uninstrumented one (one run of it, shared by every test here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from audit_app.workflows import SHARDS, STUCK_FAILURE
from audit_workload import STUCK_ATTEMPTS, Workload, run_workload

from tests.history_compare import assert_attribute_paths_agree

pytestmark = pytest.mark.server


def run_audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "temporal_lens", "audit", *args],
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
async def audited(client, dev_server, tmp_path_factory) -> tuple[Workload, Path, dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("audit")
    workload = await run_workload(client, dev_server.address, workdir)
    out = workdir / "report"
    completed = run_audit("--db", str(workload.db), "--address", dev_server.address, "--query", workload.query(),
                          "--logs", str(workload.log_path), "--out", str(out))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return workload, out, json.loads((out / "audit.json").read_text())


def _rows(summary: dict[str, Any], measure: str) -> list[dict[str, Any]]:
    return summary["coverage"][measure]


def test_stuck_runs_are_reported_with_attempt_and_last_failure(audited) -> None:
    workload, _, summary = audited
    stuck = {row["run_id"]: row for row in summary["stuck_runs"]}
    assert set(workload.stuck.values()) <= set(stuck)
    for run_id in workload.stuck.values():
        assert stuck[run_id]["attempt"] >= STUCK_ATTEMPTS
        assert stuck[run_id]["last_failure_message"] == STUCK_FAILURE
        assert stuck[run_id]["workflow_type"] == "StuckDrain"


def test_attempt_coverage_is_what_each_worker_instrumented(audited) -> None:
    workload, _, summary = audited
    by_queue: dict[str, dict[str, Any]] = {}
    for row in _rows(summary, "attempt_spans"):
        entry = by_queue.setdefault(row["task_queue"], {"attempts": 0, "with_span": 0, "by": set()})
        entry["attempts"] += row["history_attempts"]
        entry["with_span"] += row["with_span"]
        entry["by"].add(row["instrumented_by"])
    # per queue: the sweep's shards and the flaky probe's two attempts, one activity in each of three chain runs
    expected_attempts = SHARDS + 2 + 3
    lens, contrib, plain = (by_queue[workload.queues[kind]] for kind in ("lens", "contrib", "plain"))
    assert lens == {"attempts": expected_attempts, "with_span": expected_attempts, "by": {"lens"}}
    assert contrib == {"attempts": expected_attempts, "with_span": expected_attempts, "by": {"contrib"}}
    assert plain == {"attempts": expected_attempts, "with_span": 0, "by": {"none (history only)"}}


def test_contrib_service_is_recognised_with_what_it_lacks(audited) -> None:
    _, _, summary = audited
    services = {row["service_name"]: row for row in _rows(summary, "services")}
    assert services["audit-contrib"]["instrumentation"] == "contrib"
    assert "no attempt number on attempt spans" in services["audit-contrib"]["lacks"]
    assert services["audit-contrib"]["in_spans"] and not services["audit-contrib"]["in_logs"]
    assert services["audit-lens"]["instrumentation"] == "lens"
    assert services["audit-lens"]["in_spans"] and services["audit-lens"]["in_logs"]
    assert "no attempt number" not in services["audit-lens"]["lacks"]


def test_uninstrumented_runs_are_history_only(audited) -> None:
    workload, _, summary = audited
    rows = {(row["workflow_type"], row["task_queue"]): row for row in _rows(summary, "runs_without_spans")}
    for workflow_type in ("FanOutSweep", "ChainLink", "Mailbox", "StuckDrain"):
        plain = rows[(workflow_type, workload.queues["plain"])]
        assert plain["runs_without_spans"] == plain["runs"] > 0
        assert rows[(workflow_type, workload.queues["lens"])]["runs_without_spans"] == 0


def _verdict(summary: dict[str, Any], question: str, workflow_type: str) -> dict[str, Any]:
    answer = next(q for q in summary["questions"] if q["id"] == question)
    return next(v for v in answer["by_type"] if v["workflow_type"] == workflow_type)


def _pair(verdict: dict[str, Any], first: str, second: str) -> dict[str, Any]:
    return next(p for p in verdict["pairs"] if (p["first"], p["second"]) == (first, second))


def test_spans_and_logs_fill_the_attempts_history_lacks(audited) -> None:
    workload, _, summary = audited
    verdict = _verdict(summary, "activity_attempts", "FanOutSweep")
    # history: the probe's attempt 2 completed and attempt 1 failed (from attempt 2's last failure), for all three
    assert verdict["rows"]["history"] == 2 * 3
    traces = _pair(verdict, "history", "traces")
    assert traces["disagree"] == 0 and traces["agree"] == 2 * 2  # the lens and contrib workers' spans
    logs = _pair(verdict, "history", "logs")
    assert logs["agree"] == 2 and logs["disagree"] == 0
    assert set(logs["only_first_runs"]) == {workload.runs[("contrib", "FanOutSweep")][0],
                                            workload.runs[("plain", "FanOutSweep")][0]}


def test_rejected_update_is_silent_in_history(audited) -> None:
    workload, _, _ = audited
    conn = duckdb.connect(str(workload.db), read_only=True)
    try:
        from temporal_lens.analysis.audit import QUESTIONS, ask_generic, create_views

        create_views(conn)
        answer = ask_generic(conn, next(q for q in QUESTIONS if q.id == "signals_updates"), keep_rows=None)
    finally:
        conn.close()
    lens_run = workload.runs[("lens", "Mailbox")][0]
    by_source = {source: {row["subject"]: row["value"] for row in rows if row["run_id"] == lens_run}
                 for source, rows in answer.rows.items()}
    assert by_source["history"] == {"signal post accepted": 2, "signal close accepted": 1,
                                    "update set_quota accepted": 1}
    assert by_source["logs"]["update set_quota rejected"] == 1
    assert "update set_quota rejected" not in by_source["history"]


def test_chains_come_from_history(audited) -> None:
    _, _, summary = audited
    verdict = _verdict(summary, "chains", "ChainLink")
    assert verdict["rows"]["history"] == 3 * 2  # a child and a continue-as-new per queue
    assert "history" not in verdict["silent"]


def test_audit_report_opens_in_chromium(audited, tmp_path: Path) -> None:
    from test_report import CHROMIUM_NAMES, INSTALL, _chromium, _run_chromium

    binary = _chromium()
    if binary is None:
        pytest.skip(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)}); install it with `{INSTALL}`")
    _, out, _ = audited
    dumped = _run_chromium(binary, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom",
                           (out / "report.html").resolve().as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'id="runs-over-time"' in dumped.stdout and 'class="main-svg"' in dumped.stdout
    assert 'id="stuck_runs"' in dumped.stdout
    console_errors = [line for line in dumped.stderr.splitlines()
                      if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    assert console_errors == []
    assert "StuckDrain" in (out / "report.md").read_text()


def test_audit_again_fetches_only_what_is_open(audited, dev_server) -> None:
    workload, out, summary = audited
    completed = run_audit("--db", str(workload.db), "--address", dev_server.address, "--query", workload.query(),
                          "--out", str(out.parent / "again"))
    assert completed.returncode == 0, completed.stderr
    # the open runs (one stuck run per queue) are fetched again; closed runs are not
    assert "(3 fetched" in completed.stdout, completed.stdout
    again = json.loads((out.parent / "again" / "audit.json").read_text())
    assert again["runs"] == summary["runs"]


async def test_attributes_paths_agree_on_the_workload(audited, client) -> None:
    """The compiled attributes path (what the audit stored) gives the `MessageToDict` path's text on every event of
    the workload, the stuck run's open history included."""
    workload, _, _ = audited
    histories = [await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
                 async for execution in client.list_workflows(workload.query())]
    seen = assert_attribute_paths_agree(histories)
    assert {
        "ActivityTaskScheduled", "ActivityTaskCompleted", "StartChildWorkflowExecutionInitiated",
        "ChildWorkflowExecutionCompleted", "WorkflowExecutionContinuedAsNew", "WorkflowExecutionSignaled",
        "WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted",
    } <= seen
