"""OTLP logs (gRPC and HTTP) and OTLP/HTTP traces: real SDK exporters or raw requests, real receivers, real DuckDB."""

from __future__ import annotations

import base64
import gzip
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import grpc
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from temporal_lens import keys
from temporal_lens.collectors import BatchWriter, OtlpHttpReceiver, OtlpReceiver, open_database

TOKEN = "s3cret"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = open_database(tmp_path / "lens.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def http_receiver(conn: duckdb.DuckDBPyConnection) -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver(BatchWriter(conn), max_body_bytes=1024 * 1024) as receiver:
        yield receiver


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return conn.cursor().execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _recorded_logs(count: int = 2) -> list[ReadableLogRecord]:
    """`count` WARN records emitted inside a span, with Temporal correlation keys."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "payments"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("test")
    attributes = {keys.WORKFLOW_ID: "order-7", keys.RUN_ID: "run-1", keys.ACTIVITY_ID: "3", keys.ATTEMPT: 2}
    with TracerProvider().get_tracer("test").start_as_current_span("RunActivity:charge"):
        for n in range(count):
            logger.emit(
                LogRecord(
                    timestamp=time.time_ns(),
                    body=f"card declined {n}",
                    severity_text="WARN",
                    severity_number=SeverityNumber.WARN,
                    attributes={**attributes, "amount": 12.5},
                )
            )
    provider.shutdown()
    return list(memory.get_finished_logs())


def _recorded_spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("RunWorkflow:Order", attributes={keys.WORKFLOW_ID: "o-1"}),
        tracer.start_as_current_span("RunActivity:charge"),
    ):
        pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def _post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers["Content-Type"]


def test_sdk_log_export_over_grpc_is_stored_once(conn: duckdb.DuckDBPyConnection) -> None:
    with OtlpReceiver(BatchWriter(conn)) as receiver:
        exporter = OTLPLogExporter(endpoint=receiver.endpoint, insecure=True)
        records = _recorded_logs()
        assert exporter.export(records).name == "SUCCESS"
        assert exporter.export(records).name == "SUCCESS"  # an exporter's retry of the same batch
        exporter.shutdown()
        assert (receiver.logs_received, receiver.logs_stored, receiver.batches_rejected) == (4, 2, 0)

    rows = conn.execute(
        "SELECT level, event, service_name, length(trace_id), length(span_id), workflow_id, run_id, activity_id,"
        " attempt, attributes->>'amount', source_file FROM logs ORDER BY event"
    ).fetchall()
    assert rows == [
        ("warning", f"card declined {n}", "payments", 32, 16, "order-7", "run-1", "3", 2, "12.5", "otlp")
        for n in range(2)
    ]
    trace_id = format(records[0].log_record.trace_id, "032x")
    assert conn.execute("SELECT DISTINCT trace_id FROM logs").fetchall() == [(trace_id,)]


def test_http_accepts_protobuf_json_and_gzip_for_traces_and_logs(
    conn: duckdb.DuckDBPyConnection, http_receiver: OtlpHttpReceiver
) -> None:
    url = http_receiver.endpoint
    spans = encode_spans(_recorded_spans())
    status, body, content_type = _post(f"{url}/v1/traces", spans.SerializeToString(), "application/x-protobuf")
    assert (status, content_type) == (200, "application/x-protobuf")
    assert body == b""  # an empty ExportTraceServiceResponse

    logs = encode_logs(_recorded_logs())
    gzipped = gzip.compress(logs.SerializeToString())
    status, _, _ = _post(f"{url}/v1/logs", gzipped, "application/x-protobuf", **{"Content-Encoding": "gzip"})
    assert status == 200

    # OTLP/JSON writes ids as hex; send the same spans that way: they are the same rows, so nothing new is stored.
    as_json = json_format.MessageToDict(spans)
    for resource_spans in as_json["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in span:
                        span[field] = _b64_to_hex(span[field])
    as_json["aNewerField"] = {"ignored": True}
    status, body, content_type = _post(
        f"{url}/v1/traces", json.dumps(as_json).encode(), "application/json; charset=utf-8"
    )
    assert (status, body, content_type) == (200, b"{}", "application/json")

    assert (_count(conn, "spans"), _count(conn, "logs")) == (2, 2)
    assert (http_receiver.spans_received, http_receiver.spans_stored) == (4, 2)
    assert (http_receiver.logs_received, http_receiver.logs_stored) == (2, 2)
    expected = {
        (span.trace_id.hex(), span.span_id.hex())
        for rs in spans.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    }
    assert set(conn.execute("SELECT trace_id, span_id FROM spans").fetchall()) == expected


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def test_http_refusals_are_clear_and_serving_continues(
    conn: duckdb.DuckDBPyConnection, http_receiver: OtlpHttpReceiver
) -> None:
    url = http_receiver.endpoint
    good = encode_spans(_recorded_spans()).SerializeToString()

    status, body, _ = _post(f"{url}/v1/traces", b"\xff\x00garbage\x13\x37", "application/x-protobuf")
    assert status == 400
    assert "not an OTLP traces protobuf" in Status.FromString(body).message

    status, body, _ = _post(f"{url}/v1/logs", b"{not json", "application/json")
    assert status == 400
    assert "not valid JSON" in json.loads(body)["message"]

    status, body, _ = _post(f"{url}/v1/traces", good, "text/plain")
    assert status == 415
    assert "'text/plain' is not application/x-protobuf or application/json" in Status.FromString(body).message

    status, body, _ = _post(f"{url}/v1/metrics", good, "application/x-protobuf")
    assert status == 404

    status, body, _ = _post(f"{url}/v1/traces", b"\0" * (50 * 1024 * 1024), "application/x-protobuf")
    assert status == 413
    assert "over the 1048576-byte limit" in Status.FromString(body).message

    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    status, body, _ = _post(f"{url}/v1/traces", bomb, "application/x-protobuf", **{"Content-Encoding": "gzip"})
    assert status == 413

    assert (_count(conn, "spans"), _count(conn, "logs")) == (0, 0)
    assert http_receiver.batches_rejected == 6
    status, _, _ = _post(f"{url}/v1/traces", good, "application/x-protobuf")
    assert status == 200
    assert _count(conn, "spans") == 2


def test_http_bearer_token(conn: duckdb.DuckDBPyConnection) -> None:
    good = encode_spans(_recorded_spans()).SerializeToString()
    with OtlpHttpReceiver(BatchWriter(conn), token=TOKEN) as receiver:
        url = f"{receiver.endpoint}/v1/traces"
        assert _post(url, good, "application/x-protobuf")[0] == 401
        assert _post(url, good, "application/x-protobuf", Authorization="Bearer wrong")[0] == 401
        assert _count(conn, "spans") == 0
        assert _post(url, good, "application/x-protobuf", Authorization=f"Bearer {TOKEN}")[0] == 200
    assert _count(conn, "spans") == 2


def test_grpc_refusals_are_clear_and_serving_continues(conn: duckdb.DuckDBPyConnection) -> None:
    good_logs = encode_logs(_recorded_logs())
    with (
        OtlpReceiver(BatchWriter(conn), max_message_bytes=1024 * 1024, token=TOKEN) as receiver,
        grpc.insecure_channel(
            receiver.endpoint, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
        ) as channel,
    ):
        auth = [("authorization", f"Bearer {TOKEN}")]
        raw_export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as garbage:
            raw_export(b"\xff\x00garbage\x13\x37", metadata=auth)
        assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not an OTLP traces protobuf" in garbage.value.details()

        with pytest.raises(grpc.RpcError) as huge:
            raw_export(b"\0" * (50 * 1024 * 1024), metadata=auth)
        assert huge.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        logs_stub = LogsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as anonymous:
            logs_stub.Export(good_logs)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as wrong:
            logs_stub.Export(good_logs, metadata=[("authorization", "Bearer nope")])
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert _count(conn, "logs") == 0

        logs_stub.Export(good_logs, metadata=auth)
        TraceServiceStub(channel).Export(
            encode_spans(_recorded_spans()), metadata=auth, compression=grpc.Compression.Gzip
        )
        assert (receiver.logs_stored, receiver.spans_stored) == (2, 2)
    assert (_count(conn, "logs"), _count(conn, "spans")) == (2, 2)


def test_log_record_with_bad_trace_id_rejects_its_whole_batch(conn: duckdb.DuckDBPyConnection) -> None:
    request = encode_logs(_recorded_logs(3))
    request.resource_logs[0].scope_logs[0].log_records[1].trace_id = b"\x01\x02"
    with OtlpReceiver(BatchWriter(conn)) as receiver, grpc.insecure_channel(receiver.endpoint) as channel:
        with pytest.raises(grpc.RpcError) as rejected:
            LogsServiceStub(channel).Export(request)
        assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "log_records[1].trace_id must be 16 non-zero bytes, got 2 bytes" in rejected.value.details()
        assert _count(conn, "logs") == 0
