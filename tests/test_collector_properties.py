"""Property-based tests: random and mutated inputs never crash a collector with anything but its documented error,
and never commit part of a batch (the row count is unchanged, or grows by exactly the good records)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from temporal_lens import keys
from temporal_lens.collectors import BatchWriter, HistoryFileError, load_history_json, load_log_file, open_database
from temporal_lens.collectors.otlp_convert import StoreError, parse_request, store_export
from tests.collector_inputs import history_dict, log_line

SETTINGS = settings()
"""The profile tests/conftest.py loads: 80 examples per property, fewer in the fast part (`make test-fast`)."""


@pytest.fixture(scope="module")
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with tempfile.TemporaryDirectory() as folder:
        conn = open_database(Path(folder) / "lens.duckdb")
        yield conn
        conn.close()


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _count(conn: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: list | None = None) -> int:
    return conn.cursor().execute(f"SELECT count(*) FROM {table} WHERE {where}", params or []).fetchall()[0][0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
log_records = st.fixed_dictionaries(
    {},
    optional={
        "event": json_values,
        "level": json_values,
        "timestamp": st.one_of(json_values, st.datetimes().map(lambda d: d.isoformat())),
        keys.ATTEMPT: json_values,
        keys.EVENT_ID: json_values,
        keys.WORKFLOW_ID: json_values,
        "temporal_activity": json_values,
    },
)
log_lines = st.one_of(
    log_records.map(json.dumps),
    json_values.map(json.dumps),
    st.integers(0, 10_000).map(log_line),
    st.binary(max_size=40).map(lambda raw: raw.replace(b"\n", b" ").decode("latin-1")),
    st.text(max_size=40).map(lambda text: text.replace("\n", " ").replace("\r", " ")),
)


@SETTINGS
@given(lines=st.lists(log_lines, min_size=1, max_size=15), batch_size=st.integers(1, 5))
def test_log_loader_stores_exactly_the_good_lines(conn, scratch, lines, batch_size) -> None:
    path = scratch / "random.jsonl"
    raw = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    path.write_bytes(raw)
    source = str(path.absolute())
    conn.execute("DELETE FROM logs WHERE source_file = ?", [source])
    before = _count(conn, "logs")

    result = load_log_file(BatchWriter(conn), path, batch_size=batch_size)

    nonblank = [n for n, line in enumerate(raw.split(b"\n")[:-1], start=1) if line.strip()]
    assert result.loaded + len(result.errors) == len(nonblank)
    assert _count(conn, "logs") == before + result.loaded
    stored = {n for (n,) in conn.execute("SELECT line_no FROM logs WHERE source_file = ?", [source]).fetchall()}
    assert stored | {error.line_no for error in result.errors} == set(nonblank)
    assert all(error.path == source and str(error).startswith(f"{source}:") for error in result.errors)


def _mutations(value: object) -> st.SearchStrategy:
    """Strategies that change one part of a history JSON: drop a key, replace a value, cut the text."""
    paths: list[tuple] = []

    def walk(node: object, at: tuple) -> None:
        paths.append(at)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*at, key))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, (*at, i))

    walk(value, ())
    return st.tuples(st.sampled_from(paths[1:]), st.sampled_from(["drop", "replace"]), json_values)


def _apply(document: dict, path: tuple, action: str, replacement: object) -> None:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if action == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement


BASE_HISTORY = history_dict("order-p", "run-p", activities=2)


@SETTINGS
@given(
    mutations=st.lists(_mutations(BASE_HISTORY), max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 2000)),
)
@example(mutations=[(("events", 6, "eventType"), "replace", -1)], cut=None)  # a type number no enum names
@example(mutations=[(("events", 3, "eventType"), "replace", 999)], cut=None)
def test_history_loader_stores_a_whole_history_or_nothing(conn, scratch, mutations, cut) -> None:
    document = json.loads(json.dumps(BASE_HISTORY))
    for path, action, replacement in mutations:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier mutation removed this path
            _apply(document, path, action, replacement)
    text = json.dumps(document)
    file = scratch / "mutated.json"
    file.write_text(text[:cut] if cut is not None else text)
    conn.execute("DELETE FROM history_events; DELETE FROM workflows")

    try:
        result = load_history_json(BatchWriter(conn), file)
    except HistoryFileError as err:
        assert str(err).startswith(f"{file}: ")
        assert (_count(conn, "history_events"), _count(conn, "workflows")) == (0, 0)
        return
    assert _count(conn, "history_events") == result.events > 0
    assert _count(conn, "workflows") == 1


ids = st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20))
short_ids = st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=10))
any_values = st.one_of(
    st.builds(AnyValue, string_value=st.text(max_size=10)),
    st.builds(AnyValue, int_value=st.integers(-(2**63), 2**63 - 1)),
    st.builds(AnyValue, double_value=st.floats()),
    st.builds(AnyValue, bool_value=st.booleans()),
    st.builds(AnyValue, bytes_value=st.binary(max_size=8)),
    st.just(AnyValue()),
)
attributes = st.lists(
    st.builds(
        KeyValue, key=st.sampled_from([keys.WORKFLOW_ID, keys.ATTEMPT, keys.EVENT_ID, "x", ""]), value=any_values
    ),
    max_size=4,
)
times = st.integers(0, 2**62)


@SETTINGS
@given(
    spans=st.lists(
        st.builds(
            Span,
            trace_id=ids,
            span_id=short_ids,
            parent_span_id=short_ids,
            name=st.text(max_size=8),
            start_time_unix_nano=times,
            end_time_unix_nano=times,
            kind=st.integers(0, 9),
            attributes=attributes,
        ),
        max_size=5,
    )
)
def test_span_converter_stores_all_or_nothing(conn, spans) -> None:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])
    _assert_all_or_nothing(conn, "traces", "spans", request)


@SETTINGS
@given(
    records=st.lists(
        st.builds(
            LogRecord,
            trace_id=ids,
            span_id=short_ids,
            time_unix_nano=times,
            severity_number=st.integers(0, 30),
            severity_text=st.text(max_size=6),
            body=any_values,
            attributes=attributes,
        ),
        max_size=5,
    )
)
def test_log_converter_stores_all_or_nothing(conn, records) -> None:
    request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=records)])])
    _assert_all_or_nothing(conn, "logs", "logs", request)


def _assert_all_or_nothing(conn, signal, table, request) -> None:
    # Every example must go through the wire forms too: protobuf bytes and their parse are lossless.
    assert parse_request(signal, request.SerializeToString()) == request
    where, params = ("source = 'otlp'", []) if table == "spans" else ("source_file = 'otlp'", [])
    before = _count(conn, table, where, params)
    try:
        stored = store_export(BatchWriter(conn), signal, request)
    except StoreError as err:
        assert err.kind == "invalid", err
        assert _count(conn, table, where, params) == before
        return
    assert _count(conn, table, where, params) == before + stored
    assert store_export(BatchWriter(conn), signal, request) == 0  # re-sent: nothing new


@SETTINGS
@given(body=st.binary(max_size=200), signal=st.sampled_from(["traces", "logs"]), as_json=st.booleans())
def test_request_parser_raises_only_value_error(body, signal, as_json) -> None:
    with contextlib.suppress(ValueError):
        parse_request(signal, body, json_body=as_json)
