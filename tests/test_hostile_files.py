"""Hostile files through the CLI: real inputs mutated (truncated, bytes flipped, re-encoded, a huge line, deep
nesting, bytes spliced in) end in exit 0 or 2 with a one-line error, never a traceback; the good records around the
damage are kept, and nothing already in the database changes. A database DuckDB cannot read in full is reported by
every command that opens it, never silently reported on.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.collectors import BatchWriter, load_history_json, load_log_file, open_database, verify_database
from tests.collector_inputs import history_json, log_line
from tests.test_jaeger import RECORDED

_PROFILE = settings()
SETTINGS = settings(_PROFILE, max_examples=max(5, _PROFILE.max_examples // 4),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""A quarter of the profile tests/conftest.py loads (20 examples; 5 in `make test-fast`): each example is a whole
CLI command on a database, about half a second; the explicit @example cases always run besides."""
DB_SETTINGS = SETTINGS

HUGE_LINE = b'{"event": "' + b"x" * (2 * 1024 * 1024) + b'"}'

mutations = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("encode"), st.sampled_from(["utf-16", "utf-32", "cp500"])),
    st.tuples(st.just("huge_line"), st.floats(0, 1)),
    st.tuples(st.just("nest"), st.integers(50, 5000)),
    st.tuples(st.just("splice"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
)


def mutate(data: bytes, mutation: tuple[Any, ...]) -> bytes:
    kind, *how = mutation
    at = int(how[0] * len(data)) if kind in ("truncate", "huge_line", "splice") else 0
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        flipped = bytearray(data)
        for where, mask in how[0]:
            index = min(int(where * len(flipped)), len(flipped) - 1)
            flipped[index] ^= mask
        return bytes(flipped)
    if kind == "encode":
        return data.decode("utf-8").encode(how[0])
    if kind == "huge_line":
        line_start = data.rfind(b"\n", 0, at) + 1
        return data[:line_start] + HUGE_LINE + b"\n" + data[line_start:]
    if kind == "nest":
        return b"[" * how[0] + data + b"]" * how[0]
    return data[:at] + how[1] + data[at:]


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), prog_name="temporal-lens")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    printed = result.stdout + result.stderr
    assert "Traceback" not in printed, printed
    assert result.exit_code in (0, 2), printed
    return result.exit_code, printed


def _rows(db: Path) -> dict[str, Counter]:
    with duckdb.connect(str(db), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: Counter(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def _kept(before: dict[str, Counter], after: dict[str, Counter]) -> None:
    """Every row there before is there after, unchanged: new rows only were added."""
    for table, rows in before.items():
        missing = rows - after[table]
        assert not missing, f"{table} lost or changed {sum(missing.values())} row(s)"


@pytest.fixture(scope="module")
def baseline() -> Iterator[Path]:
    """A database already holding a log file, a history and a Jaeger trace, which no later load may touch."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "base.jsonl").write_text("\n".join(log_line(n) for n in range(1000, 1005)) + "\n")
        (root / "base.json").write_text(history_json("wf-base", "run-base", activities=2))
        conn = open_database(root / "lens.duckdb")
        writer = BatchWriter(conn)
        load_log_file(writer, root / "base.jsonl")
        load_history_json(writer, root / "base.json", namespace="default")
        conn.close()
        assert _cli("collect", "jaeger", "--db", str(root / "lens.duckdb"), "--file", str(_jaeger_file(root)))[0] == 0
        yield root / "lens.duckdb"


def _jaeger_file(folder: Path, trace_id: str = "00000000000000aa") -> Path:
    text = json.dumps(RECORDED).replace("5d1f8a3c2b4e6f70", trace_id)
    path = folder / f"jaeger-{trace_id}.json"
    path.write_text(text)
    return path


@pytest.fixture
def scratch(baseline: Path) -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "lens.duckdb"
        shutil.copy(baseline, db)
        yield Path(folder), db


def _fresh(scratch: tuple[Path, Path], baseline: Path) -> tuple[Path, Path]:
    """The scratch folder with the database back to the baseline: Hypothesis reuses the fixture across examples."""
    folder, db = scratch
    shutil.copy(baseline, db)
    return folder, db


@SETTINGS
@given(mutation=mutations)
@example(mutation=("nest", 5000))
@example(mutation=("encode", "utf-16"))
def test_a_damaged_log_file_keeps_its_good_lines_and_the_file_beside_it(scratch, baseline, mutation) -> None:
    folder, db = _fresh(scratch, baseline)
    good, damaged = folder / "good.jsonl", folder / "damaged.jsonl"
    good.write_text("\n".join(log_line(n) for n in range(20)) + "\n")
    original = [log_line(n).encode() for n in range(100, 120)]
    damaged.write_bytes(mutate(b"\n".join(original) + b"\n", mutation))
    before = _rows(db)

    code, printed = _cli("collect", "logs", str(good), str(damaged), "--db", str(db))

    after = _rows(db)
    _kept(before, after)
    with duckdb.connect(str(db), read_only=True) as conn:
        def loaded(path: Path) -> int:
            return conn.execute("SELECT count(*) FROM logs WHERE source_file = ?", [str(path)]).fetchall()[0][0]

        assert loaded(good) == 20
        untouched = set(original) & set(damaged.read_bytes().split(b"\n"))
        assert loaded(damaged) >= len(untouched), printed
    assert code == 0 or "damaged.jsonl" in printed


@SETTINGS
@given(mutation=mutations)
@example(mutation=("nest", 5000))
@example(mutation=("truncate", 0.5))
@example(mutation=("flip", [(0.625, 1), (0.046875, 1)]))  # two event types damaged: still one line for the file
def test_a_damaged_history_file_is_one_error_and_the_good_history_still_loads(scratch, baseline, mutation) -> None:
    folder, db = _fresh(scratch, baseline)
    good, damaged = folder / "good.json", folder / "damaged.json"
    good.write_text(history_json("wf-good", "run-good", activities=1))
    damaged.write_bytes(mutate(history_json("wf-damaged", "run-damaged", activities=3).encode(), mutation))
    before = _rows(db)

    code, printed = _cli("collect", "history", str(damaged), str(good), "--db", str(db))

    _kept(before, _rows(db))
    with duckdb.connect(str(db), read_only=True) as conn:
        events = conn.execute("SELECT count(*) FROM history_events WHERE workflow_id = 'wf-good'").fetchall()[0][0]
    assert events == 5, printed  # started, task scheduled/started/completed... as history_dict builds one
    if code == 2:  # an error, or a warning that part of it was stored raw: one line, naming the file
        assert len([line for line in printed.splitlines() if "damaged.json" in line]) == 1, printed


@SETTINGS
@given(mutation=mutations)
@example(mutation=("nest", 5000))
def test_a_damaged_jaeger_file_is_one_error_and_the_good_file_still_loads(scratch, baseline, mutation) -> None:
    folder, db = _fresh(scratch, baseline)
    good = _jaeger_file(folder, "00000000000000bb")
    damaged = folder / "damaged.json"
    damaged.write_bytes(mutate(_jaeger_file(folder, "00000000000000cc").read_bytes(), mutation))
    before = _rows(db)

    code, printed = _cli("collect", "jaeger", "--db", str(db), "--file", str(damaged), "--file", str(good))

    _kept(before, _rows(db))
    with duckdb.connect(str(db), read_only=True) as conn:
        spans = conn.execute("SELECT count(*) FROM spans WHERE trace_id LIKE '%00000000000000bb'").fetchall()[0][0]
    assert spans == 2, printed
    assert code == 0 or "damaged.json" in printed


def _readable(db: Path) -> bool:
    """What DuckDB itself says of a copy: it opens and every row of every table reads."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "copy.duckdb"
        shutil.copy(db, copy)
        try:
            conn = duckdb.connect(str(copy))
        except duckdb.Error:
            return False
        try:
            verify_database(conn, copy)
            return True
        except Exception:
            return False
        finally:
            conn.close()


db_mutations = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=4)),
    st.tuples(st.just("splice"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
)


@DB_SETTINGS
@given(mutation=db_mutations)
@example(mutation=("truncate", 0.1))
@example(mutation=("truncate", 0.0))
def test_a_damaged_database_is_reported_by_ask_never_answered_from(scratch, baseline, mutation) -> None:
    _, db = _fresh(scratch, baseline)
    db.write_bytes(mutate(baseline.read_bytes(), mutation))
    readable = _readable(db)

    code, printed = _cli("ask", "--db", str(db), "--sql", "SELECT count(*) AS n FROM logs", "--format", "json")

    assert code == (0 if readable else 2), printed
    if not readable:
        assert len(printed.strip().splitlines()) == 1 and str(db) in printed


@pytest.fixture(scope="module")
def damaged(baseline: Path) -> Path:
    """The baseline with one byte flipped in a block that holds rows (found by trying), so it opens but cannot be
    read in full: the state `report` used to write a report from."""
    data = baseline.read_bytes()
    path = baseline.with_name("damaged.duckdb")
    for offset in range(4096 * 3, len(data), 4096):
        candidate = bytearray(data)
        candidate[offset + 100] ^= 0xFF
        path.write_bytes(bytes(candidate))
        try:
            duckdb.connect(str(path)).close()
        except duckdb.Error:
            continue  # a header or catalogue block: it does not even open
        if not _readable(path):
            return path
    pytest.fail("no data block found to damage")


@pytest.mark.parametrize("command", [
    ["report", "--out", "{folder}/report.html"],
    ["ask"],
    ["ask", "--sql", "SELECT 1"],
    ["export", "parquet", "--out", "{folder}/parquet"],
    ["export", "jaeger", "--out", "{folder}/jaeger"],
    ["collect", "history-traces"],
    ["collect", "logs", "{folder}/one.jsonl"],
])
def test_every_command_reports_a_database_it_cannot_read_in_full(damaged: Path, tmp_path: Path, command) -> None:
    damaged = Path(shutil.copy(damaged, tmp_path / "lens.duckdb"))
    (tmp_path / "one.jsonl").write_text(log_line(1) + "\n")
    args = [part.format(folder=tmp_path) for part in command]
    code, printed = _cli(*args, "--db", str(damaged))
    assert code == 2, printed
    assert "cannot be read in full" in printed and len(printed.strip().splitlines()) == 1, printed
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "parquet").exists()


@pytest.mark.parametrize("content", [b"", b"not a database\n" * 100, b"\x00" * 8192, b"SQLite format 3\x00" * 64])
def test_a_file_that_is_not_duckdb_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "lens.duckdb"
    db.write_bytes(content)
    # every command opens --db the same way (tests above run each on a damaged file): two of them suffice here
    for args in (["report", "--out", str(tmp_path / "r.html")], ["receive", "--grpc", "127.0.0.1:0", "--http", "off"]):
        code, printed = _cli(*args, "--db", str(db))
        assert code == 2 and len(printed.strip().splitlines()) == 1, printed
        assert str(db) in printed
    assert db.read_bytes() == content  # reported, never rewritten


def test_a_database_where_none_can_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # /proc takes no new files, even from root (a read-only folder does not stop root)
    for db in ("/proc/lens.duckdb", "/proc/no-such-folder/lens.duckdb", f"{tmp_path / 'file'}/lens.duckdb"):
        (tmp_path / "file").write_text("a file, not a folder")
        (tmp_path / "one.jsonl").write_text(log_line(1) + "\n")
        code, printed = _cli("collect", "logs", str(tmp_path / "one.jsonl"), "--db", db)
        assert code == 2 and len(printed.strip().splitlines()) == 1, printed
        assert "--db" in printed
