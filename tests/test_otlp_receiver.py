"""The OTLP receiver end to end: a real SDK exporter or a raw gRPC stub, a real receiver, a real DuckDB file."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from temporal_lens import keys
from temporal_lens.collectors import BatchWriter, OtlpReceiver, open_database, spans_to_table


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = open_database(tmp_path / "lens.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def receiver(conn: duckdb.DuckDBPyConnection) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(BatchWriter(conn)) as receiver:
        yield receiver


@pytest.fixture
def stub(receiver: OtlpReceiver) -> Iterator[TraceServiceStub]:
    with grpc.insecure_channel(receiver.endpoint) as channel:
        yield TraceServiceStub(channel)


def _emit_order_trace(provider: TracerProvider) -> dict[str, Any]:
    """A workflow span with an activity child that failed; returns the SDK's own view of both spans."""
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "RunWorkflow:Order",
        kind=SpanKind.SERVER,
        attributes={keys.WORKFLOW_ID: "order-42", keys.RUN_ID: "run-1"},
    ) as parent, tracer.start_as_current_span(
        "RunActivity:authorize_payment",
        attributes={keys.WORKFLOW_ID: "order-42", keys.RUN_ID: "run-1", keys.ACTIVITY_ID: "3", keys.ATTEMPT: 2},
        record_exception=False,
        set_status_on_exception=False,
    ) as child:
        child.record_exception(ValueError("card declined"))
        child.set_status(StatusCode.ERROR, "card declined")
    return {"parent": parent.get_span_context(), "child": child.get_span_context()}


def _recorded_spans(count: int = 1) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for _ in range(count):
        _emit_order_trace(provider)
    provider.shutdown()
    return list(memory.get_finished_spans())


def _tree(rows: Sequence[tuple[str, str, str | None, int | None]]) -> list[str]:
    """(name, span_id, parent_span_id, attempt) rows as an indented tree, like tests/spantree.py does for the SDK."""
    children: dict[str | None, list[tuple[str, str, str | None, int | None]]] = {}
    ids = {row[1] for row in rows}
    for row in rows:
        children.setdefault(row[2] if row[2] in ids else None, []).append(row)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for name, span_id, _, attempt in sorted(children.get(parent, [])):
            lines.append("  " * depth + name + (f" attempt={attempt}" if attempt is not None else ""))
            walk(span_id, depth + 1)

    walk(None, 0)
    return lines


def test_sdk_export_is_stored(conn: duckdb.DuckDBPyConnection, receiver: OtlpReceiver) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "orders", "deployment.environment": "test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True)))
    try:
        contexts = _emit_order_trace(provider)
        assert provider.force_flush()
    finally:
        provider.shutdown()

    db = conn.cursor()
    rows = db.execute("SELECT name, span_id, parent_span_id, attempt FROM spans").fetchall()
    assert _tree(rows) == ["RunWorkflow:Order", "  RunActivity:authorize_payment attempt=2"]

    parent, child = contexts["parent"], contexts["child"]
    stored = {
        row[0]: row
        for row in db.execute(
            """SELECT name, trace_id, span_id, parent_span_id, kind, service_name, status_code, status_message,
                      workflow_id, run_id, activity_id, attempt, attributes, events, resource, source,
                      start_time <= end_time, duration_ms >= 0
               FROM spans"""
        ).fetchall()
    }
    workflow, activity = stored["RunWorkflow:Order"], stored["RunActivity:authorize_payment"]
    assert workflow[1:4] == (f"{parent.trace_id:032x}", f"{parent.span_id:016x}", None)
    assert activity[1:4] == (f"{child.trace_id:032x}", f"{child.span_id:016x}", f"{parent.span_id:016x}")
    assert workflow[4:8] == ("SERVER", "orders", "UNSET", None)
    assert activity[4:8] == ("INTERNAL", "orders", "ERROR", "card declined")
    assert activity[8:12] == ("order-42", "run-1", "3", 2)
    assert isinstance(activity[11], int)
    assert workflow[8:12] == ("order-42", "run-1", None, None)
    assert json.loads(activity[12])[keys.ATTEMPT] == 2
    events = json.loads(activity[13])
    assert [(e["name"], e["attributes"]["exception.type"], e["attributes"]["exception.message"]) for e in events] == [
        ("exception", "ValueError", "card declined")
    ]
    assert events[0]["time"].endswith("+00:00")
    assert json.loads(workflow[13]) == []
    assert json.loads(activity[14])["deployment.environment"] == "test"
    assert activity[15] == keys.SPAN_SOURCE_OTLP
    assert workflow[16:] == (True, True)
    # The question files read the first event's message with DuckDB's JSON path syntax; prove that path works here.
    assert db.execute(
        """SELECT events->>'$[0].attributes."exception.message"' FROM spans WHERE status_code = 'ERROR'"""
    ).fetchall() == [("card declined",)]
    assert (receiver.spans_received, receiver.spans_stored, receiver.batches_rejected) == (2, 2, 0)


def test_resending_a_batch_stores_it_once(
    conn: duckdb.DuckDBPyConnection, receiver: OtlpReceiver, stub: TraceServiceStub
) -> None:
    request = encode_spans(_recorded_spans(count=2))
    stub.Export(request)
    stub.Export(request)

    assert conn.cursor().execute("SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans").fetchall() == [
        (4, 4)
    ]
    assert (receiver.spans_received, receiver.spans_stored, receiver.batches_rejected) == (8, 4, 0)


def test_invalid_span_is_rejected_and_serving_continues(
    conn: duckdb.DuckDBPyConnection, receiver: OtlpReceiver, stub: TraceServiceStub
) -> None:
    bad = encode_spans(_recorded_spans())
    bad.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02\x03"

    with pytest.raises(grpc.RpcError) as rejected:
        stub.Export(bad)
    assert rejected.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spans[1].trace_id must be 16 non-zero bytes, got 3 bytes" in rejected.value.details()
    assert conn.cursor().execute("SELECT count(*) FROM spans").fetchall() == [(0,)]  # the good span went nowhere

    stub.Export(encode_spans(_recorded_spans()))
    assert conn.cursor().execute("SELECT count(*) FROM spans").fetchall() == [(2,)]
    assert (receiver.spans_received, receiver.spans_stored, receiver.batches_rejected) == (4, 2, 1)


def test_storage_failure_is_reported_and_serving_continues(
    conn: duckdb.DuckDBPyConnection, receiver: OtlpReceiver, stub: TraceServiceStub
) -> None:
    request = encode_spans(_recorded_spans())
    conn.execute("ALTER TABLE spans RENAME TO spans_elsewhere")

    with pytest.raises(grpc.RpcError) as failed:
        stub.Export(request)
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert "could not store 2 spans" in failed.value.details()

    conn.execute("ALTER TABLE spans_elsewhere RENAME TO spans")
    stub.Export(request)  # the exporter's retry, once storage is back
    assert conn.cursor().execute("SELECT count(*) FROM spans").fetchall() == [(2,)]
    assert (receiver.spans_stored, receiver.batches_rejected) == (2, 1)


def test_port_in_use_names_the_port(conn: duckdb.DuckDBPyConnection, receiver: OtlpReceiver) -> None:
    port = int(receiver.endpoint.rpartition(":")[2])
    with pytest.raises(OSError, match=f"port {port} .*already in use"):
        OtlpReceiver(BatchWriter(conn), port=port).start()


def _kv(key: str, **value: Any) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def test_spans_to_table_decodes_every_attribute_type() -> None:
    start_ns = 1_700_000_000_123_456_789
    span = Span(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        name="decode",
        kind=Span.SPAN_KIND_CONSUMER,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 1_500_000,
        status=Status(code=Status.STATUS_CODE_OK),
        attributes=[
            _kv("s", string_value="text"),
            _kv("b", bool_value=True),
            _kv("i", int_value=7),
            _kv("d", double_value=0.25),
            _kv("nan", double_value=math.nan),
            _kv("raw", bytes_value=b"\x00\xff"),
            _kv("list", array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="two")])),
            _kv("map", kvlist_value=KeyValueList(values=[_kv("inner", bool_value=False)])),
            _kv("empty"),
            _kv(keys.ATTEMPT, string_value="3"),
        ],
        events=[Span.Event(name="checkpoint", time_unix_nano=start_ns, attributes=[_kv("n", int_value=1)])],
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]  # no service.name on purpose
    )

    (row,) = spans_to_table(request).to_pylist()

    assert row["trace_id"] == "0102030405060708090a0b0c0d0e0f10"
    assert row["span_id"] == "0102030405060708"
    assert (row["parent_span_id"], row["service_name"], row["kind"], row["status_code"]) == (
        None,
        None,
        "CONSUMER",
        "OK",
    )
    assert row["start_time"].isoformat() == "2023-11-14T22:13:20.123456+00:00"
    assert row["duration_ms"] == 1.5
    assert row["attempt"] == 3
    assert json.loads(row["attributes"]) == {
        "s": "text",
        "b": True,
        "i": 7,
        "d": 0.25,
        "nan": "nan",
        "raw": base64.b64encode(b"\x00\xff").decode(),
        "list": [1, "two"],
        "map": {"inner": False},
        "empty": None,
        keys.ATTEMPT: "3",
    }
    assert json.loads(row["events"]) == [
        {"name": "checkpoint", "time": "2023-11-14T22:13:20.123456+00:00", "attributes": {"n": 1}}
    ]
    assert json.loads(row["resource"]) == {}
