"""An in-process OTLP/gRPC trace receiver that stores every exported span into the `spans` table.

The embedded stack needs no Collector or Jaeger: services export straight here, and an Export is acknowledged only
once its batch is committed, so a span the exporter saw acknowledged is a span the analysis can read.
"""

from __future__ import annotations

import base64
import errno
import json
import math
import socket
import threading
from collections.abc import Iterable
from concurrent import futures
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import duckdb
import grpc
import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from temporal_lens import keys
from temporal_lens.collectors.db import BatchWriter

SPANS_SCHEMA = pa.schema(
    [
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("service_name", pa.string()),
        ("start_time", pa.timestamp("us", tz="UTC")),
        ("end_time", pa.timestamp("us", tz="UTC")),
        ("duration_ms", pa.float64()),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("activity_id", pa.string()),
        ("attempt", pa.int32()),
        ("attributes", pa.string()),
        ("events", pa.string()),
        ("resource", pa.string()),
        ("source", pa.string()),
    ]
)

# OTLP's own exporters default to 4 MiB messages; a slow service flushing a long backlog can exceed that.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT32 = range(-(2**31), 2**31)
# Storage errors a retry can cure get UNAVAILABLE, which OTLP exporters retry; anything else is INTERNAL (not retried).
_TRANSIENT_DB_ERRORS = (duckdb.IOException, duckdb.TransactionException, duckdb.ConnectionException)


class ReceiverBindError(OSError):
    """The receiver could not listen on the requested address (most often: the port is taken)."""


def spans_to_table(request: ExportTraceServiceRequest) -> pa.Table:
    """Flatten an OTLP export request into rows of the `spans` table.

    Raises:
        ValueError: a span is malformed (ids of the wrong length); the message says which span and why, so the
            sender's INVALID_ARGUMENT explains itself.
    """
    rows: list[dict[str, Any]] = []
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        service_name = resource.get("service.name")
        resource_json = _to_json(resource)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for i, span in enumerate(scope_spans.spans):
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]"
                row = _span_row(span, where)
                row["service_name"] = service_name if isinstance(service_name, str) else None
                row["resource"] = resource_json
                rows.append(row)
    return pa.Table.from_pylist(rows, schema=SPANS_SCHEMA)


def _span_row(span: Span, where: str) -> dict[str, Any]:
    trace_id = _hex_id(span.trace_id, 16, f"{where}.trace_id")
    span_id = _hex_id(span.span_id, 8, f"{where}.span_id")
    parent_span_id = _hex_id(span.parent_span_id, 8, f"{where}.parent_span_id") if span.parent_span_id else None
    attributes = _attributes(span.attributes)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "name": span.name,
        "kind": _enum_name(Span.SpanKind, span.kind, "SPAN_KIND_"),
        # 0 means "not set" in OTLP; storing it would put spans in 1970.
        "start_time": start // 1000 if start else None,
        "end_time": end // 1000 if end else None,
        "duration_ms": (end - start) / 1e6 if start and end else None,
        "status_code": _enum_name(Status.StatusCode, span.status.code, "STATUS_CODE_"),
        "status_message": span.status.message or None,
        "workflow_id": _text(attributes.get(keys.WORKFLOW_ID)),
        "run_id": _text(attributes.get(keys.RUN_ID)),
        "activity_id": _text(attributes.get(keys.ACTIVITY_ID)),
        "attempt": _int32(attributes.get(keys.ATTEMPT)),
        "attributes": _to_json(attributes),
        "events": _to_json([_event(event) for event in span.events]),
        "source": keys.SPAN_SOURCE_OTLP,
    }


def _event(event: Span.Event) -> dict[str, Any]:
    return {"name": event.name, "time": _iso_time(event.time_unix_nano), "attributes": _attributes(event.attributes)}


def _hex_id(raw: bytes, length: int, field: str) -> str:
    # All-zero ids are invalid per the trace context spec and would collide on the primary key.
    if len(raw) != length or not any(raw):
        shown = "all zeros" if raw and not any(raw) else f"{len(raw)} bytes"
        raise ValueError(f"{field} must be {length} non-zero bytes, got {shown}")
    return raw.hex()


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return enum.Name(value).removeprefix(prefix)
    except ValueError:  # a value from a newer proto than ours: keep it rather than reject the span
        return str(value)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _any_value(pair.value) for pair in pairs}


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "double_value" and not math.isfinite(value.double_value):
        return str(value.double_value)  # JSON has no NaN/Infinity, and DuckDB's JSON type rejects them
    return getattr(value, kind)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _to_json(value)


def _int32(value: Any) -> int | None:
    # A non-numeric attempt is a sender's quirk, not a reason to lose the batch; the raw value stays in `attributes`.
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number in _INT32 else None


def _iso_time(unix_nano: int) -> str | None:
    if not unix_nano:
        return None
    return (_EPOCH + timedelta(microseconds=unix_nano // 1000)).isoformat(timespec="microseconds")


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _TraceService(TraceServiceServicer):
    """The gRPC face of the receiver; keeps a reference to the root for the writer and the counters."""

    def __init__(self, root: OtlpReceiver) -> None:
        self._root = root

    def Export(  # the generated servicer fixes the name
        self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> ExportTraceServiceResponse:
        root = self._root
        received = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        root._count(received=received)
        # context.abort raises, so a failed batch never reaches the acknowledgement at the end.
        try:
            table = spans_to_table(request)
        except ValueError as err:
            root._count(rejected=1)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"rejected {received} spans: {err}")
        try:
            stored = root._writer.insert("spans", table) if table.num_rows else 0
        except _TRANSIENT_DB_ERRORS as err:
            root._count(rejected=1)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"could not store {received} spans, retry later: {err}")
        except Exception as err:
            root._count(rejected=1)
            context.abort(grpc.StatusCode.INTERNAL, f"could not store {received} spans: {type(err).__name__}: {err}")
        root._count(stored=stored)
        return ExportTraceServiceResponse()


class OtlpReceiver:
    """An OTLP/gRPC trace endpoint writing into the lens database; use as a context manager.

    Args:
        writer: where spans go; a batch is one transaction, and re-sent spans are skipped by primary key.
        host, port: where to listen; port 0 picks a free port (read it back from `endpoint`).
        max_workers: concurrent Export calls; inserts still serialize on the writer.
        max_message_bytes: largest accepted request; bigger ones get RESOURCE_EXHAUSTED from gRPC itself.
    """

    def __init__(
        self,
        writer: BatchWriter,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_workers: int = 4,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_message_bytes < 1:
            raise ValueError(f"max_message_bytes must be positive, got {max_message_bytes}")
        self._writer = writer
        self._host = host
        self._port = port
        self._max_workers = max_workers
        self._max_message_bytes = max_message_bytes
        self._server: grpc.Server | None = None
        self._bound_port: int | None = None
        self._lock = threading.Lock()
        self.spans_received = 0
        self.spans_stored = 0
        self.batches_rejected = 0

    def start(self) -> OtlpReceiver:
        """Bind and start serving.

        Raises:
            ReceiverBindError: the address cannot be listened on; the message names host and port.
        """
        if self._server is not None:
            raise RuntimeError("receiver already started")
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="otlp-receiver"),
            options=[
                ("grpc.max_receive_message_length", self._max_message_bytes),
                # gRPC sets SO_REUSEPORT by default, which lets a second receiver share a busy port and silently
                # split the traffic; refusing it makes "port in use" an error at start.
                ("grpc.so_reuseport", 0),
            ],
        )
        add_TraceServiceServicer_to_server(_TraceService(self), server)
        try:
            bound = server.add_insecure_port(_join(self._host, self._port))
        except RuntimeError:
            bound = 0
        if not bound:
            server.stop(None)
            raise _bind_error(self._host, self._port)
        server.start()
        self._server, self._bound_port = server, bound
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting calls; in-flight Exports get `grace` seconds to commit. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()

    @property
    def endpoint(self) -> str:
        """`host:port` to hand to `OTLPSpanExporter(endpoint=..., insecure=True)`."""
        if self._bound_port is None:
            raise RuntimeError("receiver not started; call start() or use it as a context manager")
        # Exporters cannot dial a wildcard address; the loopback of the same family reaches the same socket.
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self._host, self._host)
        return _join(host, self._bound_port)

    def _count(self, *, received: int = 0, stored: int = 0, rejected: int = 0) -> None:
        with self._lock:
            self.spans_received += received
            self.spans_stored += stored
            self.batches_rejected += rejected

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _bind_error(host: str, port: int) -> ReceiverBindError:
    """Find out why gRPC could not bind (it only logs the reason) by trying the same bind with a plain socket."""
    address = _join(host, port)
    try:
        with socket.create_server((host.strip("[]"), port)):
            pass
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            return ReceiverBindError(err.errno, f"cannot start OTLP receiver: port {port} on {host} is already in use")
        return ReceiverBindError(err.errno, f"cannot start OTLP receiver on {address}: {err.strerror or err}")
    return ReceiverBindError(errno.EADDRNOTAVAIL, f"cannot start OTLP receiver: gRPC could not bind {address}")
