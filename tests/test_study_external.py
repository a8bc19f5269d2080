"""`temporal-lens study --external` against a Temporal server it did not start.

No Docker here, so the "external" stack is a dev server this test starts, and the services export straight to the
study's own receiver (what the collector would forward to), sending the run's token the way the collector does
(`authorization: Bearer <token>`, here through OTEL_EXPORTER_OTLP_HEADERS). That runs every external-mode code path:
no server started by the study, services pointed at a given OTLP endpoint, the receiver bound where it was told and
taking only the token, history collected only for this study's runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from temporalio.client import Client
from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.stack import DevServer, free_port

SCENARIO_KINDS = ("happy", "retry", "decline")
TOKEN = "external-study-token-4b1d"


async def _start_unrelated_workflow(address: str) -> str:
    """A workflow started before the study: collecting it would mean the study reads a shared cluster whole."""
    client = await Client.connect(address)
    workflow_id = f"unrelated-{uuid.uuid4()}"
    await client.start_workflow("NobodyRunsThis", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}")
    return workflow_id


@pytest.fixture(scope="module")
def external_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("external")
    with DevServer(folder / "server", headless=True) as server:
        unrelated = asyncio.run(_start_unrelated_workflow(server.address))
        receiver = f"127.0.0.1:{free_port()}"
        runs = folder / "runs"
        completed = subprocess.run(
            [
                sys.executable, "-m", "temporal_lens", "study", "--external",
                "--temporal-address", server.address, "--namespace", server.namespace,
                "--otlp-endpoint", receiver, "--receive-grpc", receiver, "--ui-url", "",
                "--runs-dir", str(runs), "--orders", "3", "--scenarios", ",".join(SCENARIO_KINDS), "--cases", "1",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
            env={**os.environ, "TEMPORAL_LENS_OTLP_TOKEN": TOKEN,
                 "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{TOKEN}"},
        )  # fmt: skip
        assert completed.returncode == 0, completed.stdout + completed.stderr
        (run_dir,) = list(runs.iterdir())
        yield run_dir, completed.stdout, server, unrelated, receiver, completed.stderr


@pytest.mark.server
@pytest.mark.study
def test_no_dev_server_is_started_and_the_given_addresses_are_used(external_run) -> None:
    run_dir, stdout, server, _, receiver, _ = external_run
    assert f"External Temporal at {server.address}" in stdout
    assert f"OTLP receiver at {receiver}" in stdout
    # a plain dev server: the orders' search attributes are registered before any order starts
    assert "Registered search attributes OrderStatus, CustomerId, OrderTotal in namespace default" in stdout
    assert stdout.index("Registered search attributes") < stdout.index("driving")
    assert stdout.strip().splitlines()[-1] == f"Run folder: {run_dir}"
    assert not (run_dir / "temporal.sqlite").exists()
    assert not (run_dir / "temporal-server.log").exists()


@pytest.mark.server
@pytest.mark.study
def test_every_order_is_in_every_source_and_only_this_studys_runs_are_collected(external_run) -> None:
    run_dir, _, _, unrelated, _, _ = external_run
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        orders = db.sql("SELECT workflow_id, scenario FROM ground_truth").fetchall()
        assert sorted(s for _, s in orders) == sorted(SCENARIO_KINDS)
        for workflow_id, scenario in orders:
            for table in ("history_events", "spans", "logs"):
                rows = db.execute(f"SELECT count(*) FROM {table} WHERE workflow_id = ?", [workflow_id]).fetchall()
                assert rows[0][0] > 0, f"{table} has nothing for {scenario} order {workflow_id}"
        services = {r[0] for r in db.sql("SELECT DISTINCT service_name FROM spans").fetchall()}
        assert {"orders", "payments", "shipping", "order-driver"} <= services
        collected = {r[0] for r in db.sql("SELECT DISTINCT workflow_id FROM workflows").fetchall()}
        assert unrelated not in collected
        verdicts = dict(
            ((q, s), v) for q, s, v in db.sql("SELECT question_id, source, verdict FROM answerability").fetchall()
        )
    assert verdicts[("payment_attempts", "traces")] == "answers"
    assert verdicts[("order_status", "app_db")] == "answers"


def test_bad_receiver_address_is_bad_usage(tmp_path: Path) -> None:
    # in-process: the study's real subprocess path is the one `run_study` and the tests above take
    args = ["study", "--external", "--receive-grpc", "nowhere", "--runs-dir", str(tmp_path)]
    completed = CliRunner().invoke(app, args, prog_name="temporal-lens")
    assert completed.exit_code == 2, completed.stdout + completed.stderr
    assert "--receive-grpc" in completed.stderr


@pytest.mark.server
@pytest.mark.study
def test_the_token_is_never_written_into_logs_the_report_or_the_output(external_run) -> None:
    run_dir, stdout, *_, stderr = external_run
    assert TOKEN not in stdout + stderr
    for path in run_dir.rglob("*"):
        if path.is_file() and path.name != "lens.duckdb":
            assert TOKEN.encode() not in path.read_bytes(), path
    with duckdb.connect(str(run_dir / "lens.duckdb"), read_only=True) as db:
        for (table,) in db.sql("SELECT table_name FROM duckdb_tables()").fetchall():
            hits = db.execute(f"SELECT count(*) FROM {table} t WHERE CAST(t AS VARCHAR) LIKE ?", [f"%{TOKEN}%"])
            assert hits.fetchall()[0][0] == 0, table
