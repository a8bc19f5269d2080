"""OTLP/JSON-lines files (the OpenTelemetry Collector's file exporter) into `spans` and `logs`: each line a request,
a bad line named with its file and line number, the lines around it stored, a second load storing nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from temporal_lens import keys
from temporal_lens.collectors import BatchWriter, load_otlp_files, open_database

_RESOURCE = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="files-svc"))])


def _span(n: int) -> Span:
    return Span(trace_id=bytes([1] * 16), span_id=n.to_bytes(8, "big"), name="RunActivity:ship",
                start_time_unix_nano=1_700_000_000_000_000_000 + n, end_time_unix_nano=1_700_000_000_100_000_000 + n,
                attributes=[KeyValue(key=keys.RUN_ID, value=AnyValue(string_value="run-1")),
                            KeyValue(key=keys.ATTEMPT, value=AnyValue(int_value=n))])


def _lines() -> list[str]:
    spans = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=_RESOURCE, scope_spans=[ScopeSpans(spans=[_span(1), _span(2)])])])
    logs = ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=_RESOURCE, scope_logs=[ScopeLogs(
        log_records=[LogRecord(time_unix_nano=1_700_000_000_000_000_000, body=AnyValue(string_value="shipped"),
                               severity_text="INFO")])])])
    # OTLP/JSON, as the Collector writes it: protobuf JSON except that trace and span ids are hex, not base64
    spans_json = json_format.MessageToDict(spans)
    for span in spans_json["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["traceId"] = bytes([1] * 16).hex()
        span["spanId"] = base64.b64decode(span["spanId"]).hex()
    return [json.dumps(spans_json), json_format.MessageToJson(logs, indent=None)]


def test_spans_and_logs_load_and_a_bad_line_is_named(tmp_path: Path) -> None:
    spans_line, logs_line = _lines()
    path = tmp_path / "otel.jsonl"
    path.write_text("\n".join([spans_line, '{"resourceMetrics": []}', "not json", logs_line]) + "\n")
    conn = open_database(tmp_path / "lens.duckdb")
    try:
        result = load_otlp_files(BatchWriter(conn), [tmp_path])
        assert (result.spans, result.logs) == (2, 1)
        assert [error.split(": ", 1)[0] for error in result.errors] == [f"{path}:2", f"{path}:3"]
        assert "no resourceSpans or resourceLogs" in result.errors[0]
        rows = conn.execute("SELECT service_name, run_id, attempt FROM spans ORDER BY attempt").fetchall()
        assert rows == [("files-svc", "run-1", 1), ("files-svc", "run-1", 2)]
        again = load_otlp_files(BatchWriter(conn), [path])
        assert (again.spans, again.logs) == (0, 0)
    finally:
        conn.close()
