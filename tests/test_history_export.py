"""Temporal Cloud's Workflow History Export files (protobuf `WorkflowExecutions`, hourly folders), made by serialising
real histories from the dev server: loaded like live collection, a re-delivered run once, a truncated file named."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from audit_app.workflows import ACTIVITIES, WORKFLOWS, ChainLink, FanOutSweep
from temporalio.api.export.v1 import WorkflowExecution, WorkflowExecutions
from temporalio.api.history.v1 import History
from temporalio.worker import Worker

from temporal_lens.collectors import BatchWriter, collect_histories, open_database

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
async def exported(client, tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    """An export tree (two hours, a run delivered twice, one truncated file), and a live collection to compare:
    (export root, live database, events per run id)."""
    queue = f"export-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        for label in ("a", "b"):
            await client.execute_workflow(FanOutSweep.run, label, id=f"export-sweep-{label}-{queue}", task_queue=queue)
        await client.execute_workflow(ChainLink.run, args=[1, 1], id=f"export-chain-{queue}", task_queue=queue)
    histories = []
    async for execution in client.list_workflows(f"TaskQueue = '{queue}'"):
        histories.append(await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history())
    assert len(histories) == 5  # two sweeps, the chain's first run, its child and the run it continued as
    root = tmp_path_factory.mktemp("export")

    def write(hour: str, name: str, runs: list) -> Path:
        folder = root / "default" / "2026" / "12" / "01" / hour
        folder.mkdir(parents=True, exist_ok=True)
        message = WorkflowExecutions(items=[WorkflowExecution(history=History(events=h.events)) for h in runs])
        (folder / name).write_bytes(message.SerializeToString())
        return folder / name

    first = write("01", "export-1.bin", histories[:3])
    write("02", "export-2.bin", histories[2:])  # histories[2] delivered again, an hour later
    truncated = write("02", "export-3.bin", histories)
    truncated.write_bytes(first.read_bytes()[: len(first.read_bytes()) // 2])

    live = root.parent / "live.duckdb"
    conn = open_database(live)
    try:
        await collect_histories(client, BatchWriter(conn), query=f"TaskQueue = '{queue}'")
    finally:
        conn.close()
    return root, live, {h.run_id: len(h.events) for h in histories}


def collect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "temporal_lens", "collect", "history", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def _table(db: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


_EVENTS = ("SELECT run_id, event_id, event_type, activity_type, attempt, failure_message, attributes"
           " FROM history_events ORDER BY run_id, event_id")
_RUNS = ("SELECT workflow_id, run_id, workflow_type, status, start_time, close_time, task_queue, parent_run_id,"
         " history_length FROM workflows ORDER BY run_id")


def test_export_tree_loads_each_run_once_and_names_the_truncated_file(exported, tmp_path: Path) -> None:
    root, live, events = exported
    db = tmp_path / "lens.duckdb"
    completed = collect("--db", str(db), "--export", str(root))
    assert completed.returncode == 2
    errors = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "export-3.bin" in errors[0] and "not a Workflow History Export file" in errors[0]
    assert f"from {len(events)} runs in 3 export file(s)" in completed.stdout
    assert "(1 delivered again" in completed.stdout
    counts = dict(_table(db, "SELECT run_id, count(*) FROM history_events GROUP BY run_id"))
    assert counts == events
    # the same rows live collection stores
    assert _table(db, _RUNS) == _table(live, _RUNS)
    assert _table(db, _EVENTS) == _table(live, _EVENTS)


def test_a_glob_selects_files_and_loading_again_adds_nothing(exported, tmp_path: Path) -> None:
    root, _, events = exported
    db = tmp_path / "lens.duckdb"
    completed = collect("--db", str(db), "--export", str(root / "**" / "export-[12].bin"))
    assert completed.returncode == 0, completed.stderr
    assert f"from {len(events)} runs in 2 export file(s)" in completed.stdout
    again = collect("--db", str(db), "--export", str(root / "**" / "export-[12].bin"))
    assert again.returncode == 0 and "from 0 runs in 2 export file(s)" in again.stdout
    assert _table(db, "SELECT count(*) FROM workflows") == [(len(events),)]


def test_audit_of_export_files_needs_no_server(exported, tmp_path: Path) -> None:
    root, _, _ = exported
    completed = subprocess.run(
        [sys.executable, "-m", "temporal_lens", "audit", "--db", str(tmp_path / "lens.duckdb"),
         "--export", str(root / "default" / "2026" / "12" / "01" / "01"), "--out", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "audited 3 runs (0 fetched, 3 from export files)" in completed.stdout
    assert (tmp_path / "report" / "audit.json").is_file()
