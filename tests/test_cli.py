"""Exit codes and output of the read-only commands: 0 success, 2 bad usage or input."""

from __future__ import annotations

import json
import subprocess
import sys

from temporal_lens.collectors import open_database


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "temporal_lens", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_reading_a_missing_database_is_bad_input_and_creates_nothing(tmp_path) -> None:
    missing = tmp_path / "nowhere" / "lens.duckdb"
    for args in (["ask", "--db", str(missing)], ["report", "--db", str(missing), "--out", str(tmp_path / "r.html")],
                 ["export", "parquet", "--db", str(missing), "--out", str(tmp_path / "p")]):
        completed = _cli(*args)
        assert completed.returncode == 2, args
        assert "database" in completed.stderr and str(missing) in completed.stderr
    assert not missing.parent.exists()


def test_ask_sql_formats_and_errors(tmp_path) -> None:
    db = tmp_path / "lens.duckdb"
    open_database(db).close()
    completed = _cli("ask", "--db", str(db), "--sql", "SELECT 1 AS one, 'a' AS letter", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [{"one": 1, "letter": "a"}]
    assert _cli("ask", "--db", str(db), "--sql", "SELECT nope").returncode == 2
    assert _cli("ask", "--db", str(db), "no_such_question").returncode == 2
    assert _cli("ask", "--db", str(db), "--format", "xml").returncode == 2
