"""Exit codes and output of the read-only commands: 0 success, 2 bad usage or input.

One invocation per command family runs as a user runs it (a subprocess); the others run in-process against the same
Typer app, with stdout and stderr kept apart, which saves the seconds of imports each subprocess pays.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import NamedTuple

from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.collectors import open_database


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _cli(*args: str) -> Ran:
    """The user's path: `python -m temporal_lens ARGS` in its own process."""
    completed = subprocess.run([sys.executable, "-m", "temporal_lens", *args], capture_output=True, text=True,
                               timeout=120, check=False)
    return Ran(completed.returncode, completed.stdout, completed.stderr)


def _in_process(*args: str) -> Ran:
    """The same command through the Typer app in this process."""
    result = CliRunner().invoke(app, list(args), prog_name="temporal-lens")
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_reading_a_missing_database_is_bad_input_and_creates_nothing(tmp_path) -> None:
    missing = tmp_path / "nowhere" / "lens.duckdb"
    for run, args in ((_in_process, ["ask", "--db", str(missing)]),
                      (_in_process, ["report", "--db", str(missing), "--out", str(tmp_path / "r.html")]),
                      (_cli, ["export", "parquet", "--db", str(missing), "--out", str(tmp_path / "p")])):
        completed = run(*args)
        assert completed.returncode == 2, args
        assert "database" in completed.stderr and str(missing) in completed.stderr
    assert not missing.parent.exists()


def test_ask_sql_formats_and_errors(tmp_path) -> None:
    db = tmp_path / "lens.duckdb"
    open_database(db).close()
    # `ask --format json` as a subprocess: tests/test_asking.py::test_the_cli_asks_through_the_same_binding
    completed = _in_process("ask", "--db", str(db), "--sql", "SELECT 1 AS one, 'a' AS letter", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [{"one": 1, "letter": "a"}]
    assert _in_process("ask", "--db", str(db), "--sql", "SELECT nope").returncode == 2
    assert _in_process("ask", "--db", str(db), "no_such_question").returncode == 2
    assert _in_process("ask", "--db", str(db), "--format", "xml").returncode == 2
