"""Back-pressure: more exports than the writer takes are refused as retryable, with when to retry; none is lost.

The writer is held shut by a gate (a real BatchWriter that waits before each transaction), so "busy" is a state the
test controls, not a race it hopes for. bench/receiver_overload.py measures the same under real load.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from temporal_lens.collectors import BatchWriter, OtlpHttpReceiver, OtlpReceiver, open_database
from temporal_lens.collectors.admission import RETRY_INFO_KEY, StoreAdmission
from temporal_lens.collectors.db import Part


class GatedWriter(BatchWriter):
    """A BatchWriter that stores only while its gate is open: the state of a writer that cannot keep up."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        super().__init__(conn)
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def insert_together(self, parts: Sequence[Part]) -> list[int]:
        self.waiting.release()
        self.gate.wait(timeout=30)
        return super().insert_together(parts)


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[GatedWriter]:
    conn = open_database(tmp_path / "lens.duckdb")
    yield GatedWriter(conn)
    conn.close()


def _spans(count: int, name: str) -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for n in range(count):
        provider.get_tracer("t").start_span(f"{name} {n}").end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def _stored(writer: BatchWriter) -> int:
    return writer.connection.cursor().execute("SELECT count(*) FROM spans").fetchall()[0][0]


def test_grpc_refuses_with_retry_info_while_the_writer_is_full_and_stores_every_acknowledged_span(writer) -> None:
    admission = StoreAdmission(slots=1, wait=0.2, retry_after=1.5)
    with (
        OtlpReceiver(writer, max_workers=2, max_concurrent_exports=2, admission=admission) as receiver,
        grpc.insecure_channel(receiver.endpoint) as channel,
    ):
        stub = TraceServiceStub(channel)
        first = stub.Export.future(encode_spans(_spans(3, "first")))
        assert writer.waiting.acquire(timeout=10)  # the first export holds the only slot, stuck at the writer
        with pytest.raises(grpc.RpcError) as busy:
            stub.Export(encode_spans(_spans(2, "second")), timeout=10)
        assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        advice = RetryInfo.FromString(dict(busy.value.trailing_metadata())[RETRY_INFO_KEY])
        assert (advice.retry_delay.seconds, advice.retry_delay.nanos) == (1, 500_000_000)
        assert receiver.batches_busy == 1 and receiver.spans_received == 3  # the refused batch was not counted

        writer.gate.set()
        first.result(timeout=10)
        stub.Export(encode_spans(_spans(2, "second")), timeout=10)  # the retry, now the writer has room
    assert _stored(writer) == receiver.spans_stored == 5


def test_grpc_holds_no_more_than_its_limit_of_exports_at_once(writer) -> None:
    admission = StoreAdmission(slots=1, wait=5.0)
    with (
        OtlpReceiver(writer, max_workers=1, max_concurrent_exports=2, admission=admission) as receiver,
        grpc.insecure_channel(receiver.endpoint) as channel,
    ):
        stub = TraceServiceStub(channel)
        held = [stub.Export.future(encode_spans(_spans(1, f"held {n}"))) for n in range(2)]
        assert writer.waiting.acquire(timeout=10)
        with pytest.raises(grpc.RpcError) as over:
            stub.Export(encode_spans(_spans(1, "over")), timeout=10)
        assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # gRPC's own limit: retryable too
        writer.gate.set()
        for future in held:
            future.result(timeout=10)
    assert _stored(writer) == 2


def test_an_sdk_exporter_retries_after_the_advised_delay_and_its_spans_are_stored(writer) -> None:
    admission = StoreAdmission(slots=1, wait=0.2, retry_after=0.5)
    with OtlpReceiver(writer, admission=admission) as receiver:
        blocker = threading.Thread(target=lambda: OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True)
                                   .export(_spans(1, "blocker")))
        blocker.start()
        assert writer.waiting.acquire(timeout=10)
        threading.Timer(1.0, writer.gate.set).start()  # the writer frees up while the exporter backs off
        exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, timeout=10)
        assert exporter.export(_spans(4, "retried")) == SpanExportResult.SUCCESS
        exporter.shutdown()
        blocker.join(timeout=10)
        assert receiver.batches_busy >= 1
    assert _stored(writer) == 5


def _post(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", parts.path, body, {"Content-Type": "application/x-protobuf"})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_http_answers_429_with_retry_after_when_full_and_stores_every_acknowledged_span(writer) -> None:
    admission = StoreAdmission(slots=1, wait=0.2, retry_after=1.5)
    with OtlpHttpReceiver(writer, max_concurrent_requests=2, admission=admission) as receiver:
        url = f"{receiver.endpoint}/v1/traces"
        first: list[int] = []
        sender = threading.Thread(target=lambda: first.append(_post(url, _body(3, "first"))[0]))
        sender.start()
        assert writer.waiting.acquire(timeout=10)
        status, headers = _post(url, _body(2, "second"))  # waits for the writer past the admission wait
        assert (status, headers.get("Retry-After")) == (429, "2")
        writer.gate.set()
        sender.join(timeout=10)
        assert first == [200]
        assert _post(url, _body(2, "second"))[0] == 200
        assert receiver.batches_busy == 1
    assert _stored(writer) == 5


def _body(count: int, name: str) -> bytes:
    return encode_spans(_spans(count, name)).SerializeToString()
