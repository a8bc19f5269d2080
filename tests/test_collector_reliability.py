"""Collectors under stress: a second writer, a killed loader, bad files, re-runs, incremental history collection.

Everything real: DuckDB files, subprocesses, the CLI, a Temporal dev server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.collectors import (
    BatchWriter,
    CollectProgress,
    DatabaseInUseError,
    collect_histories,
    load_history_files,
    load_history_json,
    load_log_file,
    open_database,
)
from tests.collector_inputs import history_dict, history_json, log_line

runner = CliRunner()


def _flat(output: str) -> str:
    """Rich wraps long lines at the terminal width; compare text with any run of whitespace as one space."""
    return " ".join(output.split())


def _table(db: Path, sql: str) -> list[tuple]:
    conn = open_database(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- one writer at a time ----------------------------------------------------------------------------------------


def test_second_writer_gets_exit_2_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "same.duckdb"
    conn = open_database(db)
    conn.execute("CREATE TABLE marker AS SELECT 42 AS answer")
    conn.close()
    logs = tmp_path / "a.jsonl"
    logs.write_text(log_line(1) + "\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)",
            str(db),
            "--holder-marker",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        cli = subprocess.run(
            [sys.executable, "-m", "temporal_lens", "collect", "logs", str(logs), "--db", str(db)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "400"},
        )
        assert cli.returncode == 2
        assert "Traceback" not in cli.stderr + cli.stdout
        assert f"is in use by PID {holder.pid}" in cli.stderr
        assert "--holder-marker" in cli.stderr  # the holder's command line, from /proc
        with pytest.raises(DatabaseInUseError, match=f"PID {holder.pid} .*--holder-marker"):
            open_database(db)
    finally:
        holder.kill()
        holder.wait()
    assert _table(db, "SELECT answer FROM marker") == [(42,)]  # the refused writer left the file intact
    assert runner.invoke(app, ["collect", "logs", str(logs), "--db", str(db)]).exit_code == 0


# --- killed mid-run, re-run -------------------------------------------------------------------------------------

_KILLABLE_LOADER = textwrap.dedent(
    """
    import sys
    from temporal_lens.collectors import BatchWriter, load_log_file, open_database

    class AnnouncingWriter(BatchWriter):
        def insert(self, table, batch, **kwargs):
            stored = super().insert(table, batch, **kwargs)
            print("committed", stored, flush=True)
            return stored

    load_log_file(AnnouncingWriter(open_database(sys.argv[1])), sys.argv[2], batch_size=2000)
    print("finished", flush=True)
    """
)


def test_loader_killed_mid_run_then_rerun_is_complete_without_duplicates(tmp_path: Path) -> None:
    lines = 60_000
    logs = tmp_path / "big.jsonl"
    logs.write_text("".join(log_line(n) + "\n" for n in range(lines)))
    db = tmp_path / "lens.duckdb"
    loader = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_LOADER, str(db), str(logs)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert loader.stdout.readline().startswith("committed")
        assert loader.stdout.readline().startswith("committed")
        loader.send_signal(signal.SIGKILL)  # somewhere in the third batch, or between batches
    finally:
        loader.wait()
        loader.stdout.close()
    assert loader.returncode == -signal.SIGKILL

    [(partial,)] = _table(db, "SELECT count(*) FROM logs")
    assert 4000 <= partial < lines  # whole batches only
    conn = open_database(db)
    result = load_log_file(BatchWriter(conn), logs)
    rows = conn.execute("SELECT count(*), count(DISTINCT line_no), min(line_no), max(line_no) FROM logs").fetchall()
    conn.close()
    assert rows == [(lines, lines, 1, lines)]
    assert (result.loaded, result.skipped_duplicates, result.errors) == (lines - partial, partial, [])


# --- bad input: named, exit 2, good records around it kept -------------------------------------------------------


def test_bad_log_lines_are_named_and_good_lines_load(tmp_path: Path) -> None:
    logs = tmp_path / "mixed.jsonl"
    logs.write_bytes(
        (log_line(1) + "\n").encode()
        + b'{"event": "cut off", "level": \n'
        + b"\xff\xfe garbage bytes\n"
        + b"[1, 2, 3]\n"
        + (log_line(5) + "\n").encode()
    )
    db = tmp_path / "lens.duckdb"
    result = runner.invoke(app, ["collect", "logs", str(logs), "--db", str(db)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for line_no, problem in ((2, "not valid JSON"), (3, "not valid JSON"), (4, "not a JSON object but list")):
        assert f"mixed.jsonl:{line_no}: {problem}" in _flat(result.output)
    assert _table(db, "SELECT line_no, event FROM logs ORDER BY line_no") == [(1, "step 1"), (5, "step 5")]

    again = runner.invoke(app, ["collect", "logs", str(logs), "--db", str(db)])  # idempotent, same report
    assert (again.exit_code, again.output) == (2, result.output.replace("loaded 2", "loaded 0"))
    assert _table(db, "SELECT count(*) FROM logs") == [(2,)]


def test_bad_history_files_are_named_and_good_files_load(tmp_path: Path) -> None:
    folder = tmp_path / "histories"
    folder.mkdir()
    (folder / "a-good.json").write_text(history_json("order-1", "run-1", activities=2))
    (folder / "b-truncated.json").write_text(history_json("order-2", "run-2")[:150])
    (folder / "c-not-history.json").write_text(json.dumps({"orders": [1, 2]}))
    newer = history_dict("order-3", "run-3")
    newer["events"].insert(
        -1,
        {
            "eventId": "5",
            "eventTime": "2025-03-01T12:00:04Z",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_TELEPORTED",
            "workflowExecutionTeleportedEventAttributes": {"destination": "mars"},
        },
    )
    newer["events"][-1]["eventId"] = "6"
    (folder / "d-newer-server.json").write_text(json.dumps(newer))
    db = tmp_path / "lens.duckdb"

    result = runner.invoke(app, ["collect", "history", str(folder), "--db", str(db)])
    output = _flat(result.output)
    assert result.exit_code == 2
    assert "Traceback" not in output
    assert "b-truncated.json: not valid JSON" in output
    assert "c-not-history.json: not a workflow history" in output
    assert "d-newer-server.json: event 5 has type WorkflowExecutionTeleported, unknown" in output
    assert _table(db, "SELECT workflow_id, count(*) FROM history_events GROUP BY 1 ORDER BY 1") == [
        ("order-1", 8),
        ("order-3", 6),
    ]
    assert _table(
        db,
        "SELECT event_type, attributes->'$.workflowExecutionTeleportedEventAttributes.destination'"
        " FROM history_events WHERE workflow_id = 'order-3' AND event_id = 5",
    ) == [("WorkflowExecutionTeleported", '"mars"')]
    assert _table(db, "SELECT workflow_id, status FROM workflows ORDER BY 1") == [
        ("order-1", "COMPLETED"),
        ("order-3", "COMPLETED"),
    ]


def test_reloading_history_files_is_idempotent(tmp_path: Path) -> None:
    paths = []
    for n in range(5):
        path = tmp_path / f"h{n}.json"
        path.write_text(history_json(f"order-{n}", f"run-{n}", activities=n))
        paths.append(path)
    conn = open_database(tmp_path / "lens.duckdb")
    writer = BatchWriter(conn)
    snapshot = "SELECT * FROM history_events ORDER BY workflow_id, event_id"
    first = load_history_files(writer, paths, runs_per_batch=2)
    rows = conn.execute(snapshot).fetchall()
    second = load_history_files(writer, paths, runs_per_batch=3)
    single = load_history_json(writer, paths[3])
    assert first == second
    assert (first.runs, first.events, single.events) == (5, sum(2 + 3 * n for n in range(5)), 11)
    assert conn.execute(snapshot).fetchall() == rows
    assert conn.execute("SELECT count(*) FROM workflows").fetchall() == [(5,)]
    conn.close()


@pytest.mark.parametrize("runs_per_batch", [1, 10])
def test_one_run_in_several_files_is_stored_once(tmp_path: Path, runs_per_batch: int) -> None:
    """history_events has no unique index (it would double the cost of loading): a run named twice must still
    land once, whether the copies share a batch or not, and whether a file is named twice or two files hold it."""
    (tmp_path / "a").mkdir()
    first = tmp_path / "a" / "h0.json"
    first.write_text(history_json("order-0", "run-0", activities=1))
    second = tmp_path / "a" / "h1.json"
    second.write_text(history_json("order-0", "run-0", activities=2))  # a later export of the same run
    other = tmp_path / "a" / "h2.json"
    other.write_text(history_json("order-2", "run-2", activities=1))
    conn = open_database(tmp_path / "lens.duckdb")
    result = load_history_files(BatchWriter(conn), [first, tmp_path / "a", tmp_path / "a" / ".." / "a" / "h2.json"],
                                runs_per_batch=runs_per_batch)
    assert not result.errors
    per_run = dict(conn.execute(
        "SELECT run_id, count(*) FROM history_events GROUP BY ALL").fetchall())
    duplicates = conn.execute("SELECT count(*) FROM (SELECT workflow_id, run_id, event_id FROM history_events "
                              "GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
    lengths = dict(conn.execute("SELECT run_id, history_length FROM workflows").fetchall())
    conn.close()
    assert duplicates == 0
    # the copy read last (h1, with two activities) is the one stored
    assert per_run == {"run-0": 2 + 3 * 2, "run-2": 2 + 3} == lengths


def test_batches_are_bounded_by_files_and_bytes(tmp_path: Path) -> None:
    from temporal_lens.collectors.history_files import _batches

    sizes = [10, 10, 50, 200, 10, 10, 10]
    paths = []
    for n, size in enumerate(sizes):
        path = tmp_path / f"f{n}"
        path.write_bytes(b"x" * size)
        paths.append(path)
    batches = [[int(p.name[1:]) for p in batch] for batch in _batches(paths, files=2, max_bytes=60)]
    assert batches == [[0, 1], [2], [3], [4, 5], [6]]
    assert [len(b) for b in _batches(paths, files=10, max_bytes=10**6)] == [7]


# --- incremental history collection against a real server -------------------------------------------------------


@workflow.defn(sandboxed=False)
class Greeting:
    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, name: str, wait: bool) -> str:
        if wait:
            await workflow.wait_condition(lambda: self._released)
        return f"hello {name}"

    @workflow.signal
    def release(self) -> None:
        self._released = True


async def _settle(client: Client, query: str, closed: int, running: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = [e.status async for e in client.list_workflows(query)]
        if (
            statuses.count(WorkflowExecutionStatus.COMPLETED) == closed
            and statuses.count(WorkflowExecutionStatus.RUNNING) == running
        ):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("visibility did not settle in time")


@pytest.mark.server
async def test_second_collection_fetches_only_new_and_open_runs(client: Client, task_queue: str, tmp_path) -> None:
    query = f'TaskQueue = "{task_queue}"'
    conn = open_database(tmp_path / "lens.duckdb")
    writer = BatchWriter(conn)
    steps: list[CollectProgress] = []
    async with Worker(client, task_queue=task_queue, workflows=[Greeting], workflow_runner=UnsandboxedWorkflowRunner()):
        start = lambda name, wait=False: client.start_workflow(  # noqa: E731
            Greeting.run, args=[name, wait], id=f"greet-{name}-{uuid.uuid4()}", task_queue=task_queue
        )
        first_batch = [await start(name) for name in ("ann", "bob", "cy")]
        waiting = await start("dee", wait=True)
        await asyncio.gather(*(handle.result() for handle in first_batch))
        await _settle(client, query, closed=3, running=1)

        first = await collect_histories(client, writer, query=query, concurrency=3, progress=steps.append)
        assert (first.runs, first.fetched, first.skipped, first.missing) == (4, 4, 0, 0)
        assert steps[-1].listed == 4 and steps[-1].total == 4 and steps[-1].events == first.events

        second_batch = [await start(name) for name in ("eve", "fay")]
        await waiting.signal(Greeting.release)
        await asyncio.gather(waiting.result(), *(handle.result() for handle in second_batch))
        await _settle(client, query, closed=6, running=0)

        second = await collect_histories(client, writer, query=query, concurrency=3)
        third = await collect_histories(client, writer, query=query, concurrency=3)
        full = await collect_histories(client, writer, query=query, full=True)

    assert (second.runs, second.fetched, second.skipped) == (6, 3, 3)  # eve, fay, and dee which was open
    assert (third.runs, third.fetched, third.skipped) == (6, 0, 6)
    assert (full.fetched, full.skipped) == (6, 0)
    assert second == third == full
    stored = conn.execute(
        "SELECT count(*), count(DISTINCT (workflow_id, run_id, event_id)) FROM history_events"
    ).fetchall()
    assert stored == [(second.events, second.events)]
    assert conn.execute("SELECT count(*) FROM workflows WHERE status = 'COMPLETED'").fetchall() == [(6,)]
    conn.close()


@pytest.mark.server
def test_cli_collect_history_reports_fetched_and_skipped(dev_server, tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    args = [
        "collect",
        "history",
        "--db",
        str(db),
        "--address",
        dev_server.address,
        "--namespace",
        dev_server.namespace,
        "--query",
        'WorkflowType = "Greeting"',
    ]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert " 0 unchanged and skipped" in first.output
    assert "(0 fetched, " in second.output
    assert _table(db, "SELECT count(*) = count(DISTINCT (workflow_id, run_id, event_id)) FROM history_events") == [
        (True,)
    ]


def test_open_database_message_without_proc(tmp_path: Path) -> None:
    """Where /proc says nothing (the holder just exited), the PID alone is named."""
    from temporal_lens.collectors.db import _lock_holder

    assert _lock_holder("Conflicting lock is held in /usr/bin/python3 (PID 999999999).") == "PID 999999999"
    assert _lock_holder("some other lock trouble") == "another process"
    assert os.getpid() > 0
