"""Jaeger JSON: files, a real HTTP query API, and exports that load back into the same rows."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from temporal_lens.collectors import (
    BatchWriter,
    JaegerApiError,
    JaegerFormatError,
    collect_jaeger_api,
    export_jaeger,
    load_jaeger_file,
    open_database,
    spans_to_table,
)

# A trace as Jaeger's query API returns it (64-bit trace id, as jaeger-client services produce).
RECORDED = {
    "data": [
        {
            "traceID": "5d1f8a3c2b4e6f70",
            "spans": [
                {
                    "traceID": "5d1f8a3c2b4e6f70",
                    "spanID": "5d1f8a3c2b4e6f70",
                    "operationName": "HTTP POST /orders",
                    "references": [],
                    "startTime": 1764230400000000,
                    "duration": 250000,
                    "tags": [
                        {"key": "span.kind", "type": "string", "value": "server"},
                        {"key": "http.status_code", "type": "int64", "value": 201},
                        {"key": "temporal.workflow_id", "type": "string", "value": "order-42"},
                    ],
                    "logs": [],
                    "processID": "p1",
                    "warnings": None,
                },
                {
                    "traceID": "5d1f8a3c2b4e6f70",
                    "spanID": "0a0b0c0d0e0f1011",
                    "operationName": "charge",
                    "references": [
                        {"refType": "CHILD_OF", "traceID": "5d1f8a3c2b4e6f70", "spanID": "5d1f8a3c2b4e6f70"}
                    ],
                    "startTime": 1764230400100000,
                    "duration": 50000,
                    "tags": [
                        {"key": "temporal.workflow_id", "type": "string", "value": "order-42"},
                        {"key": "temporal.activity_id", "type": "string", "value": "3"},
                        {"key": "temporal.attempt", "type": "int64", "value": 2},
                        {"key": "amount", "type": "float64", "value": 12.5},
                        {"key": "error", "type": "bool", "value": True},
                    ],
                    "logs": [
                        {
                            "timestamp": 1764230400120000,
                            "fields": [
                                {"key": "event", "type": "string", "value": "card declined"},
                                {"key": "retryable", "type": "bool", "value": False},
                            ],
                        }
                    ],
                    "processID": "p2",
                    "warnings": None,
                },
            ],
            "processes": {
                "p1": {"serviceName": "orders", "tags": [{"key": "hostname", "type": "string", "value": "web-1"}]},
                "p2": {"serviceName": "payments", "tags": []},
            },
            "warnings": None,
        }
    ],
    "total": 0,
    "limit": 0,
    "offset": 0,
    "errors": None,
}
TRACE_ID = "00000000000000005d1f8a3c2b4e6f70"


def span_rows(conn, where: str = "TRUE") -> list[dict]:
    result = conn.execute(f"SELECT * FROM spans WHERE {where} ORDER BY trace_id, span_id")
    names = [c[0] for c in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_file_import_maps_tags_status_and_processes(tmp_path) -> None:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(RECORDED))
    conn = open_database(tmp_path / "lens.duckdb")

    stored = load_jaeger_file(BatchWriter(conn), path)
    again = load_jaeger_file(BatchWriter(conn), path)

    assert (stored, again) == (2, 0)
    server, charge = span_rows(conn)[1], span_rows(conn)[0]
    assert (server["trace_id"], server["name"], server["kind"], server["service_name"]) == (
        TRACE_ID, "HTTP POST /orders", "SERVER", "orders")
    assert server["parent_span_id"] is None and server["status_code"] == "UNSET"
    assert json.loads(server["resource"]) == {"service.name": "orders", "hostname": "web-1"}
    assert json.loads(server["attributes"]) == {"http.status_code": 201, "temporal.workflow_id": "order-42"}
    assert server["duration_ms"] == 250.0
    assert server["end_time"] - server["start_time"] == timedelta(milliseconds=250)
    assert server["start_time"] == datetime(2025, 11, 27, 8, 0, tzinfo=UTC)
    assert (charge["parent_span_id"], charge["service_name"], charge["status_code"]) == (
        "5d1f8a3c2b4e6f70", "payments", "ERROR")
    assert (charge["workflow_id"], charge["activity_id"], charge["attempt"], charge["source"]) == (
        "order-42", "3", 2, "jaeger")
    assert json.loads(charge["events"]) == [
        {"name": "card declined", "time": "2025-11-27T08:00:00.120000+00:00", "attributes": {"retryable": False}}
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"data": [', "not valid JSON"),
        ('{"traces": []}', 'expected an object with a "data" list'),
        ('{"data": [{"traceID": "1"}]}', r'data\[0\] is not a trace'),
        ('{"data": [{"spans": [{"traceID": "zz", "spanID": "1", "operationName": "x", "startTime": 1}]}]}',
         r"data\[0\].spans\[0\]: traceID 'zz' is not a hex id"),
        ('{"data": [{"spans": [{"traceID": "1", "operationName": "x", "startTime": 1}]}]}', "missing field 'spanID'"),
    ],
)
def test_bad_file_is_named_in_the_error(tmp_path, content, problem) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    writer = BatchWriter(open_database(tmp_path / "lens.duckdb"))

    with pytest.raises(JaegerFormatError, match=re.escape(str(path)) + ".*" + problem):
        load_jaeger_file(writer, path)


class _QueryApi(BaseHTTPRequestHandler):
    """A stand-in Jaeger query API: `/ok/...` answers the recording, `/fail/...` a 500, `/html/...` not JSON."""

    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        mode = self.path.split("/")[1]
        status, body = {
            "ok": (200, json.dumps(RECORDED).encode()),
            "fail": (500, b'{"errors": [{"code": 500, "msg": "storage unavailable"}]}'),
            "html": (200, b"<html>Jaeger UI</html>"),
        }[mode]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def query_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _QueryApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _QueryApi.requests = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_query_api_import_asks_for_the_window_and_stores_spans(tmp_path, query_api) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    now = datetime(2025, 11, 27, 9, 0, tzinfo=UTC)

    stored = collect_jaeger_api(
        BatchWriter(conn), f"{query_api}/ok", service="orders", since=timedelta(hours=2), limit=5, now=now
    )

    assert stored == 2
    [request] = _QueryApi.requests
    path, _, query = request.partition("?")
    assert path == "/ok/api/traces"
    assert urllib.parse.parse_qs(query) == {
        "service": ["orders"], "start": ["1764226800000000"], "end": ["1764234000000000"], "limit": ["5"]}
    assert {row["source"] for row in span_rows(conn)} == {"jaeger"}


def test_query_api_errors_are_clear(tmp_path, query_api) -> None:
    writer = BatchWriter(open_database(tmp_path / "lens.duckdb"))

    with pytest.raises(JaegerApiError, match=r"HTTP 500.*storage unavailable"):
        collect_jaeger_api(writer, f"{query_api}/fail", service="orders")
    with pytest.raises(JaegerApiError, match=r"the answer is not JSON.*is .*/html a Jaeger query API"):
        collect_jaeger_api(writer, f"{query_api}/html", service="orders")
    with pytest.raises(JaegerApiError, match=re.escape("cannot reach Jaeger query API at http://127.0.0.1:9")):
        collect_jaeger_api(writer, "http://127.0.0.1:9", service="orders")


def comparable(row: dict) -> dict:
    row = {k: json.loads(v) if k in ("attributes", "events", "resource") else v for k, v in row.items()}
    del row["source"], row["duration_ms"]  # duration: start_time and end_time are compared
    return row


def _sdk_spans() -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders", "deployment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("RunWorkflow:Order", kind=SpanKind.SERVER,
                                      attributes={"temporal.workflow_id": "order-7", "temporal.run_id": "r1"}):
        with tracer.start_as_current_span("RunActivity:charge", kind=SpanKind.CLIENT, attributes={
            "temporal.workflow_id": "order-7", "temporal.activity_id": "1", "temporal.attempt": 3,
            "amount": 9.75, "benign": False}) as span:
            span.add_event("declined", {"code": "51", "retry": True})
            span.set_status(Status(StatusCode.ERROR, "card declined"))
        with tracer.start_as_current_span("Timer:1") as span:
            span.set_status(Status(StatusCode.OK))
    with tracer.start_as_current_span("unrelated"):
        pass
    provider.shutdown()
    return exporter.get_finished_spans()


def test_export_then_import_gives_the_same_rows(tmp_path) -> None:
    source = open_database(tmp_path / "source.duckdb")
    BatchWriter(source).insert("spans", spans_to_table(encode_spans(_sdk_spans())))

    files = export_jaeger(source, tmp_path / "out", workflow_id="order-7")
    all_files = export_jaeger(source, tmp_path / "all")
    loaded = open_database(tmp_path / "loaded.duckdb")
    for path in files:
        load_jaeger_file(BatchWriter(loaded), path)

    assert len(files) == 1 and len(all_files) == 2
    document = json.loads(files[0].read_text())
    [trace] = document["data"]
    assert [p["serviceName"] for p in trace["processes"].values()] == ["orders"]
    charge = next(s for s in trace["spans"] if s["operationName"] == "RunActivity:charge")
    assert {"key": "temporal.attempt", "type": "int64", "value": 3} in charge["tags"]
    assert {"key": "amount", "type": "float64", "value": 9.75} in charge["tags"]
    assert {"key": "error", "type": "bool", "value": True} in charge["tags"]
    assert charge["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "declined"}
    # Same rows, read as values: JSON columns compared parsed (key order is not kept), durations to Jaeger's
    # microsecond precision (the SDK measured nanoseconds), which start_time and end_time already have.
    assert [comparable(row) for row in span_rows(loaded)] == [
        comparable(row) for row in span_rows(source, "name != 'unrelated'")
    ]
    assert {row["source"] for row in span_rows(loaded)} == {"jaeger"}
    for row in span_rows(loaded):
        assert row["duration_ms"] == (row["end_time"] - row["start_time"]) / timedelta(milliseconds=1)


def test_cli_collects_and_exports(tmp_path) -> None:
    from typer.testing import CliRunner

    from temporal_lens.cli import app

    recorded = tmp_path / "trace.json"
    recorded.write_text(json.dumps(RECORDED))
    db = str(tmp_path / "lens.duckdb")
    runner = CliRunner()

    collected = runner.invoke(app, ["collect", "jaeger", "--db", db, "--file", str(recorded)])
    exported = runner.invoke(app, ["export", "jaeger", "--db", db, "--out", str(tmp_path / "j"), "--workflow-id",
                                   "order-42"])
    parquet = runner.invoke(app, ["export", "parquet", "--db", db, "--out", str(tmp_path / "p")])
    synthesized = runner.invoke(app, ["collect", "history-traces", "--db", db])
    both = runner.invoke(app, ["collect", "jaeger", "--db", db, "--file", str(recorded), "--url", "http://x"])
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    bad_file = runner.invoke(app, ["collect", "jaeger", "--db", db, "--file", str(broken)])

    assert (collected.exit_code, collected.output.strip()) == (0, f"stored 2 spans into {db}")
    assert exported.exit_code == 0 and (tmp_path / "j" / f"{TRACE_ID}.json").is_file()
    assert parquet.exit_code == 0 and "spans: 2 rows" in parquet.output
    assert (synthesized.exit_code, synthesized.output.strip()) == (0, f"wrote 0 history-derived spans into {db}")
    assert (both.exit_code, bad_file.exit_code) == (2, 2)
