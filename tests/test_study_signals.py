"""`temporal-lens study` stopped by SIGTERM or SIGINT in each phase, as `kill` sends them: to the study's pid alone.

The study writes its phase into the run folder's status.json; the test waits for each phase there, sends the signal,
and checks what a user needs after Ctrl-C or `kill`: no process the study started is left (found through /proc
while it ran), its ports are free, the database opens and reads in full, and status.json says "interrupted".
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from temporal_lens.collectors import open_database
from temporal_lens.run_status import PHASES, read_status

pytestmark = [pytest.mark.server, pytest.mark.study]

STUDY = ["--headless", "--orders", "1", "--cases", "0", "--scenarios", "happy", "--timeout", "60"]
PHASE_TIMEOUT = 180.0
"""Generous: the machine is shared; the test never asserts on time, only waits for the phase to come."""


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children_of(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running or stopped, not a zombie (a zombie holds no port and does no work; init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_phase(study: subprocess.Popen, runs: Path, phase: str, seen: set[int]) -> None:
    deadline = time.monotonic() + PHASE_TIMEOUT
    while time.monotonic() < deadline:
        assert study.poll() is None, f"the study ended (code {study.returncode}) before the {phase} phase"
        seen |= _descendants(study.pid)
        folders = list(runs.iterdir()) if runs.exists() else []
        status = read_status(folders[0]) if folders else None
        if status and status["phase"] == phase:
            seen |= _descendants(study.pid)
            return
        if status and status["phase"] and PHASES.index(status["phase"]) > PHASES.index(phase):
            pytest.fail(f"the study went past the {phase} phase between two looks")
        time.sleep(0.01)
    pytest.fail(f"the study did not reach the {phase} phase in {PHASE_TIMEOUT:.0f}s")


def _end_leftovers(study: subprocess.Popen, seen: set[int]) -> None:
    """Whatever a failed assertion left running: the study's process group, then every child it was seen with."""
    if study.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(study.pid, signal.SIGKILL)
        study.wait()
    for pid in seen:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_in_any_phase_stops_every_child_and_keeps_what_was_committed(
    tmp_path: Path, phase: str, signum: signal.Signals
) -> None:
    runs, output = tmp_path / "runs", tmp_path / "study.out"
    seen: set[int] = set()
    with output.open("wb") as out:
        # its own session: a test run's Ctrl-C does not reach it, and the clean-up below can end its whole group
        study = subprocess.Popen(
            [sys.executable, "-m", "temporal_lens", "study", "--runs-dir", str(runs), *STUDY],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_phase(study, runs, phase, seen)
        study.send_signal(signum)
        returncode = study.wait(timeout=120)
    finally:
        _end_leftovers(study, seen)
    printed = output.read_text(errors="replace")

    assert returncode == 128 + signum, printed
    assert f"stopped by {signum.name}" in printed and "Traceback" not in printed, printed
    # the dev server, its health probes and the three services, whichever had started
    survivors = {pid for pid in seen if _alive(pid)}
    assert not survivors, f"still running after the study ended: {survivors}\n{printed}"
    for port in re.findall(r"(?:dev server|OTLP receiver) at 127\.0\.0\.1:(\d+)", printed):
        assert _port_free(int(port)), f"port {port} still taken\n{printed}"

    (run_dir,) = list(runs.iterdir())
    status = read_status(run_dir)
    assert status is not None
    assert (status["status"], status["phase"], status["signal"]) == ("interrupted", phase, signum.name)
    assert not list(run_dir.glob("*.partial"))
    conn = open_database(run_dir / "lens.duckdb", verify=True)  # opens (no lock left) and reads in full
    try:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("spans", "history_events", "ground_truth")}
    except duckdb.Error as err:
        pytest.fail(f"the database is not whole: {err}")
    finally:
        conn.close()
    if phase == "collecting":
        # the driver's spans were acknowledged, so committed, before the services were asked to stop
        assert counts["spans"] > 0, counts
    if phase == "scoring":
        assert min(counts.values()) > 0, counts
