"""Faults during a study: a part killed from outside, a port taken, nowhere to write. Each is one line naming the
part and what to do, the rest is stopped, what was collected is kept, exit 1 (2 when the user's input caused it)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.collectors import open_database
from temporal_lens.run_status import read_status
from temporal_lens.services import _exit_cause
from tests.test_study_signals import STUDY, _alive, _descendants, _end_leftovers, _wait_for_phase

ACTIVITY_WARNING = """\
WARNING:temporalio.activity:Completing activity as failed ({'activity_id': '3', 'attempt': 1})
Traceback (most recent call last):
  File "/app/temporalio/worker/_activity.py", line 301, in _execute_activity
    result = await impl.execute_activity(input)
temporalio.exceptions.ApplicationError: card declined
INFO:orders:charged order-7
"""
CRASH = """\
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "/app/temporal_lens/sample_app/payments.py", line 40, in <module>
    main()
RuntimeError: the fault plan file is unreadable
"""


def test_the_output_shown_for_a_dead_service_is_the_traceback_it_died_with() -> None:
    # an activity's failed attempt, logged with its traceback, and the worker went on: not why it exited
    assert _exit_cause(ACTIVITY_WARNING) == []
    assert _exit_cause(ACTIVITY_WARNING + CRASH) == CRASH.rstrip().splitlines()
    assert _exit_cause(CRASH + "\n") == CRASH.rstrip().splitlines()
    assert _exit_cause("") == [] and _exit_cause("exiting\n") == []


def _pid_of(study: subprocess.Popen, needle: str) -> int:
    for pid in sorted(_descendants(study.pid)):
        with contextlib.suppress(OSError):
            if needle in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return pid
    pytest.fail(f"no process of the study runs {needle!r}")


@pytest.mark.server
@pytest.mark.study
@pytest.mark.parametrize(("needle", "named"), [
    ("temporal_lens.sample_app.payments", "the payments service (pid {pid}) was killed by SIGKILL outside the study's"),
    ("server start-dev", "the Temporal dev server (pid {pid}) was killed by SIGKILL while the study ran"),
], ids=["service", "dev-server"])
def test_a_part_killed_from_outside_stops_the_study_with_one_line_naming_it(tmp_path: Path, needle, named) -> None:
    runs, output = tmp_path / "runs", tmp_path / "study.out"
    seen: set[int] = set()
    with output.open("wb") as out:
        study = subprocess.Popen(
            [sys.executable, "-m", "temporal_lens", "study", "--runs-dir", str(runs), *STUDY],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_phase(study, runs, "driving", seen)
        victim = _pid_of(study, needle)
        os.kill(victim, signal.SIGKILL)
        returncode = study.wait(timeout=150)
    finally:
        _end_leftovers(study, seen)
    printed = output.read_text(errors="replace")

    assert returncode == 1, printed
    errors = [line for line in printed.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named.format(pid=victim) in errors[0], printed
    assert "Traceback" not in printed, printed  # killed by a signal: no output of the process explains that
    assert not {pid for pid in seen if _alive(pid)}, printed
    (run_dir,) = list(runs.iterdir())
    status = read_status(run_dir)
    assert status is not None and (status["status"], status["phase"]) == ("failed", "driving")
    conn = open_database(run_dir / "lens.duckdb", verify=True)
    conn.close()


def _taken_port() -> tuple[socket.socket, int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder, holder.getsockname()[1]


@pytest.mark.server
def test_a_taken_receiver_port_is_the_users_to_change(tmp_path: Path, dev_server) -> None:
    holder, port = _taken_port()
    with holder:
        args = ["study", "--external", "--temporal-address", dev_server.address, "--receive-grpc",
                f"127.0.0.1:{port}", "--otlp-endpoint", f"127.0.0.1:{port}", "--runs-dir", str(tmp_path / "runs")]
        started = time.monotonic()
        result = CliRunner().invoke(app, args, prog_name="temporal-lens")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    (run_dir,) = list((tmp_path / "runs").iterdir())
    assert read_status(run_dir)["status"] == "failed"  # type: ignore[index]
    assert time.monotonic() - started < 120  # nothing waited for orders that could not be driven


def test_receive_on_a_taken_port_is_bad_input(tmp_path: Path) -> None:
    holder, port = _taken_port()
    with holder:
        result = CliRunner().invoke(app, ["receive", "--db", str(tmp_path / "lens.duckdb"), "--grpc",
                                          f"127.0.0.1:{port}", "--http", "off"])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "already in use" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_runs_folder_that_cannot_be_written_is_bad_input(tmp_path: Path) -> None:
    # /proc takes no new folders, even from root (a read-only folder does not stop root); a file is no folder
    (tmp_path / "file").write_text("not a folder")
    for runs in ("/proc/temporal-lens-runs", str(tmp_path / "file")):
        result = CliRunner().invoke(app, ["study", "--runs-dir", runs])
        assert result.exit_code == 2, result.stdout + result.stderr
        assert "--runs-dir" in result.stderr and len(result.stderr.strip().splitlines()) == 1
