"""An in-process OTLP/gRPC receiver that stores exported spans and log records into the `spans` and `logs` tables.

The embedded stack needs no Collector or Jaeger: services export straight here, and an Export is acknowledged only
once its batch is committed, so a record the exporter saw acknowledged is a record the analysis can read.
"""

from __future__ import annotations

import errno
import hmac
import socket
from concurrent import futures
from types import TracebackType

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from temporal_lens.collectors.addresses import (
    dialable_host,
    join_host_port,
    require_token_beyond_loopback,
)
from temporal_lens.collectors.admission import RETRY_INFO_KEY, StoreAdmission
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.otlp_convert import (
    SPANS_SCHEMA,
    ReceiverCounters,
    Signal,
    StoreError,
    count_records,
    parse_request,
    spans_to_table,
    store_export,
)

# OTLP's own exporters default to 4 MiB messages; a slow service flushing a long backlog can exceed that.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CONCURRENT_EXPORTS = 16
"""Exports held at once; with the message limit, what bounds a receiver's memory under any number of exporters."""

_METHODS: dict[str, tuple[Signal, type]] = {
    "opentelemetry.proto.collector.trace.v1.TraceService": ("traces", ExportTraceServiceResponse),
    "opentelemetry.proto.collector.logs.v1.LogsService": ("logs", ExportLogsServiceResponse),
}
_STATUS = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "transient": grpc.StatusCode.UNAVAILABLE,  # OTLP exporters retry it
    "internal": grpc.StatusCode.INTERNAL,  # not retried
}


class ReceiverBindError(OSError):
    """The receiver could not listen on the requested address (most often: the port is taken)."""


def _export_handler(root: OtlpReceiver, signal: Signal, response_type: type) -> grpc.RpcMethodHandler:
    """A unary Export taking raw bytes, so a body that is not protobuf gets INVALID_ARGUMENT, not gRPC's INTERNAL."""

    def export(body: bytes, context: grpc.ServicerContext):
        # context.abort raises, so a failed batch never reaches the acknowledgement at the end.
        if not root._authorized(context):
            root._count(rejected=1)
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token in `authorization`")
        try:
            request = parse_request(signal, body)
        except ValueError as err:
            root._count(rejected=1)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        with root._admission.slot() as admitted:
            if not admitted:
                root._count(busy=1)
                context.set_trailing_metadata(((RETRY_INFO_KEY, root._admission.retry_info()),))
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"the receiver is busy writing; retry in {root._admission.retry_after:g}s")
            received = count_records(signal, request)
            root._count(signal, received=received)
            try:
                stored = store_export(root._writer, signal, request)
            except StoreError as err:
                root._count(rejected=1)
                context.abort(_STATUS[err.kind], str(err))
        root._count(signal, stored=stored)
        return response_type()

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=response_type.SerializeToString
    )


class OtlpReceiver(ReceiverCounters):
    """An OTLP/gRPC endpoint (TraceService and LogsService) writing into the lens database; a context manager.

    Args:
        writer: where spans and log records go; a batch is one transaction, re-sent records are skipped by key.
        host, port: where to listen (loopback by default); port 0 picks a free port (read it from `endpoint`).
        max_workers: concurrent Export calls; inserts still serialize on the writer.
        max_concurrent_exports: Exports held at once (running or queued for a worker); gRPC answers more with
            RESOURCE_EXHAUSTED, which OTLP exporters retry. With `max_message_bytes` it bounds the memory requests
            take, however many exporters there are.
        admission: how long an Export waits for the writer before it is refused with RESOURCE_EXHAUSTED and a
            RetryInfo saying when to come back.
        max_message_bytes: largest accepted request; bigger ones get RESOURCE_EXHAUSTED from gRPC itself.
        token: when set, calls must carry metadata `authorization: Bearer <token>`; others get UNAUTHENTICATED.
        insecure: listen beyond loopback without a token (refused otherwise: OpenListenerError).

    Counters (`spans_received`, `spans_stored`, `logs_received`, `logs_stored`, `batches_rejected`) are updated
    as Exports finish (`batches_busy`: refused for load). gzip-compressed requests are accepted.
    """

    def __init__(
        self,
        writer: BatchWriter,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_workers: int = 4,
        max_concurrent_exports: int = DEFAULT_MAX_CONCURRENT_EXPORTS,
        admission: StoreAdmission | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        token: str | None = None,
        insecure: bool = False,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        require_token_beyond_loopback(host, port, token, insecure=insecure, what="OTLP/gRPC receiver")
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_message_bytes < 1:
            raise ValueError(f"max_message_bytes must be positive, got {max_message_bytes}")
        if max_concurrent_exports < max_workers:
            raise ValueError(f"max_concurrent_exports ({max_concurrent_exports}) must be at least max_workers")
        self._writer = writer
        self._max_concurrent_exports = max_concurrent_exports
        self._admission = admission or StoreAdmission()
        self._host = host
        self._port = port
        self._max_workers = max_workers
        self._max_message_bytes = max_message_bytes
        self._expected_auth = f"Bearer {token}".encode() if token else None
        self._server: grpc.Server | None = None
        self._bound_port: int | None = None
        super().__init__()

    def start(self) -> OtlpReceiver:
        """Bind and start serving.

        Raises:
            ReceiverBindError: the address cannot be listened on; the message names host and port.
        """
        if self._server is not None:
            raise RuntimeError("receiver already started")
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="otlp-receiver"),
            maximum_concurrent_rpcs=self._max_concurrent_exports,
            options=[
                ("grpc.max_receive_message_length", self._max_message_bytes),
                # gRPC sets SO_REUSEPORT by default, which lets a second receiver share a busy port and silently
                # split the traffic; refusing it makes "port in use" an error at start.
                ("grpc.so_reuseport", 0),
            ],
        )
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(service, {"Export": _export_handler(self, signal, response)})
                for service, (signal, response) in _METHODS.items()
            ]
        )
        try:
            bound = server.add_insecure_port(join_host_port(self._host, self._port))
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
        return join_host_port(dialable_host(self._host), self._bound_port)

    def _authorized(self, context: grpc.ServicerContext) -> bool:
        if self._expected_auth is None:
            return True
        given = dict(context.invocation_metadata()).get("authorization", "")
        given = given.encode() if isinstance(given, str) else given
        return hmac.compare_digest(given, self._expected_auth)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _bind_error(host: str, port: int) -> ReceiverBindError:
    """Find out why gRPC could not bind (it only logs the reason) by trying the same bind with a plain socket."""
    address = join_host_port(host, port)
    try:
        with socket.create_server((host.strip("[]"), port)):
            pass
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            return ReceiverBindError(err.errno, f"cannot start OTLP receiver: port {port} on {host} is already in use; "
                                                "stop what listens there or choose another port")
        return ReceiverBindError(err.errno, f"cannot start OTLP receiver on {address}: {err.strerror or err}")
    return ReceiverBindError(errno.EADDRNOTAVAIL, f"cannot start OTLP receiver: gRPC could not bind {address}")


__all__ = [
    "DEFAULT_MAX_CONCURRENT_EXPORTS",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "SPANS_SCHEMA",
    "OtlpReceiver",
    "ReceiverBindError",
    "spans_to_table",
]
