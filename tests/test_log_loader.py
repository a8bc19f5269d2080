from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from temporal_lens.collectors import BatchWriter, load_log_file, load_log_files, open_database

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def structlog_line(**overrides: object) -> str:
    record = {
        "timestamp": "2026-11-27T19:00:00.123456Z",
        "level": "info",
        "event": "activity completed",
        "service.name": "payments",
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "temporal.workflow_id": "order-1",
        "temporal.run_id": "run-1",
        "temporal.activity_id": "1",
        "temporal.attempt": 2,
        "temporal.event_id": 7,
        "order_id": "o-1",
    }
    record.update(overrides)
    return json.dumps(record)


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "logs" / "payments.jsonl"
    path.parent.mkdir()
    lines = [
        structlog_line(),  # 1
        structlog_line(level="WARNING", event="retrying", **{"temporal.attempt": "3"}),  # 2
        '{"timestamp": "2026-11-27T19:00:01Z", "level": "info", "event": "cut o',  # 3: malformed
        "",  # 4: blank
        json.dumps(  # 5: plain logging JSON
            {"asctime": "2026-11-27 19:00:01,500", "levelname": "ERROR", "message": "plain record", "name": "app.db"}
        ),
        structlog_line(timestamp="yesterday"),  # 6: unparsable timestamp
        "[1, 2, 3]",  # 7: not an object
        structlog_line(event="last line"),  # 8
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_good_lines_load_around_bad_ones(tmp_path, log_file) -> None:
    conn = open_database(tmp_path / "lens.duckdb")

    result = load_log_file(BatchWriter(conn), log_file, service_name="fallback-service", batch_size=2)

    assert result.loaded == 4
    assert [(error.line_no, error.path) for error in result.errors] == [
        (3, str(log_file)),
        (6, str(log_file)),
        (7, str(log_file)),
    ]
    assert "not valid JSON" in result.errors[0].message
    assert "unparsable timestamp 'yesterday'" in result.errors[1].message
    assert "not a JSON object" in result.errors[2].message
    assert str(result.errors[0]).startswith(f"{log_file}:3: ")

    rows = conn.execute(
        "SELECT line_no, time, level, event, service_name, trace_id, span_id, workflow_id, run_id, activity_id,"
        " attempt, event_id, attributes, source_file FROM logs ORDER BY line_no"
    ).fetchall()
    assert [row[0] for row in rows] == [1, 2, 5, 8]
    first = rows[0]
    assert first[1:12] == (
        datetime(2026, 11, 27, 19, 0, 0, 123456, tzinfo=UTC),
        "info",
        "activity completed",
        "payments",
        TRACE_ID,
        SPAN_ID,
        "order-1",
        "run-1",
        "1",
        2,
        7,
    )
    assert json.loads(first[12]) == {"order_id": "o-1"}
    assert first[13] == str(log_file)
    assert (rows[1][2], rows[1][10]) == ("warning", 3)
    plain = rows[2]
    assert plain[1:5] == (
        datetime(2026, 11, 27, 19, 0, 1, 500000, tzinfo=UTC),
        "error",
        "plain record",
        "fallback-service",
    )
    assert plain[5:12] == (None,) * 7
    assert json.loads(plain[12]) == {"name": "app.db"}


def test_loading_twice_keeps_one_copy(tmp_path, log_file) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    writer = BatchWriter(conn)

    first = load_log_file(writer, log_file)
    second = load_log_file(writer, log_file)

    assert (first.loaded, first.skipped_duplicates) == (4, 0)
    assert (second.loaded, second.skipped_duplicates) == (0, 4)
    assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 4


def test_a_folder_loads_its_jsonl_files(tmp_path, log_file) -> None:
    (log_file.parent / "orders.jsonl").write_text(structlog_line(**{"service.name": "orders"}) + "\n")
    (log_file.parent / "notes.txt").write_text("not a log\n")
    conn = open_database(tmp_path / "lens.duckdb")

    results = load_log_files(BatchWriter(conn), [log_file.parent])

    assert [(Path(r.path).name, r.loaded, len(r.errors)) for r in results] == [
        ("orders.jsonl", 1, 0),
        ("payments.jsonl", 4, 3),
    ]
    services = conn.execute("SELECT service_name, count(*) FROM logs GROUP BY ALL ORDER BY 1").fetchall()
    assert services == [("orders", 1), ("payments", 3), (None, 1)]  # the plain logging line names no service


def test_odd_typed_value_stays_in_attributes(tmp_path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(structlog_line(**{"temporal.attempt": "second"}) + "\n")
    conn = open_database(tmp_path / "lens.duckdb")

    assert load_log_file(BatchWriter(conn), path).loaded == 1
    attempt, attributes = conn.execute("SELECT attempt, attributes FROM logs").fetchone()
    assert attempt is None
    assert json.loads(attributes)["temporal.attempt"] == "second"
