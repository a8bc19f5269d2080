"""An in-process OTLP/HTTP receiver: `POST /v1/traces` and `/v1/logs`, protobuf or JSON bodies, gzip or not.

Built on the standard library's `ThreadingHTTPServer`. Like the gRPC receiver it answers 200 only once the batch is
committed, and every refusal is an HTTP status with a `google.rpc.Status` body saying why: 400 malformed, 401 no
or wrong bearer token, 404 unknown path, 411 no Content-Length, 413 too large, 415 unsupported content type,
429 with Retry-After when more requests arrive than the writer keeps up with, 503 storage busy (OTLP exporters retry
both), 500 anything else. The server keeps serving after each.
"""

from __future__ import annotations

import errno
import hmac
import json
import socket
import threading
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from temporal_lens.collectors.addresses import (
    dialable_host,
    join_host_port,
    require_token_beyond_loopback,
)
from temporal_lens.collectors.admission import StoreAdmission
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.otlp_convert import (
    ReceiverCounters,
    Signal,
    StoreError,
    count_records,
    parse_request,
    store_export,
)
from temporal_lens.collectors.otlp_receiver import (
    DEFAULT_MAX_CONCURRENT_EXPORTS,
    DEFAULT_MAX_MESSAGE_BYTES,
    ReceiverBindError,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/logs": "logs"}
_RESPONSES = {"traces": ExportTraceServiceResponse, "logs": ExportLogsServiceResponse}
_STATUS = {
    "invalid": HTTPStatus.BAD_REQUEST,
    "transient": HTTPStatus.SERVICE_UNAVAILABLE,
    "internal": HTTPStatus.INTERNAL_SERVER_ERROR,
}
# google.rpc.Code values matching the HTTP statuses, for the Status body.
_RPC_CODES = {400: 3, 401: 16, 404: 5, 411: 3, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}
_DRAIN_CHUNK = 1 << 20


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class OtlpHttpReceiver(ReceiverCounters):
    """An OTLP/HTTP endpoint writing into the lens database; a context manager.

    Args:
        writer: where spans and log records go; a batch is one transaction, re-sent records are skipped by key.
        host, port: where to listen (loopback by default); port 0 picks a free port (read it from `endpoint`).
        max_body_bytes: largest accepted body, before and after gzip; bigger ones get 413.
        max_concurrent_requests: requests handled at once (each connection has its own thread); more get 429.
        admission: how long a request waits for the writer before it gets 429 with Retry-After.
        token: when set, requests must carry `Authorization: Bearer <token>`; others get 401.
        insecure: listen beyond loopback without a token (refused otherwise: OpenListenerError).
    """

    def __init__(
        self,
        writer: BatchWriter,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_EXPORTS,
        admission: StoreAdmission | None = None,
        token: str | None = None,
        insecure: bool = False,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        require_token_beyond_loopback(host, port, token, insecure=insecure, what="OTLP/HTTP receiver")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        if max_concurrent_requests < 1:
            raise ValueError(f"max_concurrent_requests must be at least 1, got {max_concurrent_requests}")
        self._writer = writer
        self._in_flight = threading.BoundedSemaphore(max_concurrent_requests)
        self._admission = admission or StoreAdmission()
        self._host = host
        self._port = port
        self._max_body_bytes = max_body_bytes
        self._expected_auth = f"Bearer {token}".encode() if token else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        super().__init__()

    def start(self) -> OtlpHttpReceiver:
        """Bind and start serving on a background thread.

        Raises:
            ReceiverBindError: the address cannot be listened on; the message names host and port.
        """
        if self._server is not None:
            raise RuntimeError("receiver already started")
        handler = type("_Handler", (_OtlpHandler,), {"receiver": self})
        server_type = type("_Server", (ThreadingHTTPServer,), {"allow_reuse_address": False, "daemon_threads": True})
        if ":" in self._host:
            server_type.address_family = socket.AF_INET6
        try:
            server = server_type((self._host.strip("[]"), self._port), handler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ReceiverBindError(
                    err.errno, f"cannot start OTLP/HTTP receiver: port {self._port} on {self._host} is already in use; "
                    "stop what listens there or choose another port"
                ) from err
            raise ReceiverBindError(
                err.errno or 0, f"cannot start OTLP/HTTP receiver on {self._host}:{self._port}: {err}"
            ) from err
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="otlp-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a request being handled finishes first. Safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def endpoint(self) -> str:
        """`http://host:port`; append `/v1/traces` or `/v1/logs` (OTLPSpanExporter wants the full path)."""
        if self._server is None:
            raise RuntimeError("receiver not started; call start() or use it as a context manager")
        port = self._server.server_address[1]
        return f"http://{join_host_port(dialable_host(self._host), port)}"

    def __enter__(self) -> OtlpHttpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _OtlpHandler(BaseHTTPRequestHandler):
    receiver: OtlpHttpReceiver  # set on the per-receiver subclass
    protocol_version = "HTTP/1.1"  # keep-alive, as OTLP exporters expect
    server_version = "temporal-lens-otlp"

    def do_POST(self) -> None:  # the name http.server dispatches to
        receiver = self.receiver
        if not receiver._in_flight.acquire(blocking=False):
            self._drain()
            receiver._count(busy=1)
            self._refuse(_Refused(HTTPStatus.TOO_MANY_REQUESTS, "too many requests at once; retry later"), False)
            return
        try:
            self._export()
        finally:
            receiver._in_flight.release()

    def _export(self) -> None:
        receiver = self.receiver
        json_body = False
        try:
            signal = _PATHS.get(self.path.split("?", 1)[0])
            if signal is None:
                self._drain()
                raise _Refused(HTTPStatus.NOT_FOUND, f"no OTLP endpoint at {self.path}; use /v1/traces or /v1/logs")
            if receiver._expected_auth is not None:
                given = self.headers.get("Authorization", "").encode("latin-1")
                if not hmac.compare_digest(given, receiver._expected_auth):
                    self._drain()
                    raise _Refused(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token in Authorization")
            media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if media_type not in (PROTOBUF, JSON):
                self._drain()
                raise _Refused(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type {media_type or '(none)'!r} is not {PROTOBUF} or {JSON}",
                )
            json_body = media_type == JSON
            body = self._body()
            try:
                request = parse_request(signal, body, json_body=json_body)
            except ValueError as err:
                raise _Refused(HTTPStatus.BAD_REQUEST, str(err)) from err
            with receiver._admission.slot() as admitted:
                if not admitted:
                    receiver._count(busy=1)
                    self._refuse(_Refused(HTTPStatus.TOO_MANY_REQUESTS, "the receiver is busy writing; retry later"),
                                 json_body)
                    return
                received = count_records(signal, request)
                receiver._count(signal, received=received)
                try:
                    stored = store_export(receiver._writer, signal, request)
                except StoreError as err:
                    raise _Refused(_STATUS[err.kind], str(err)) from err
            receiver._count(signal, stored=stored)
            response = _RESPONSES[signal]()
            self._reply(HTTPStatus.OK, b"{}" if json_body else response.SerializeToString(), json_body)
        except _Refused as refused:
            receiver._count(rejected=1)
            self._refuse(refused, json_body)

    def _body(self) -> bytes:
        limit = self.receiver._max_body_bytes
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked" or length_header is None:
            self.close_connection = True
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length (chunked is not accepted)")
        try:
            length = int(length_header)
        except ValueError as err:
            self.close_connection = True
            raise _Refused(HTTPStatus.BAD_REQUEST, f"Content-Length {length_header!r} is not a number") from err
        if length > limit:
            self._drain(length)
            raise _Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes is over the {limit}-byte limit"
            )
        body = self.rfile.read(length)
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "gzip":
            return _gunzip(body, limit)
        if encoding != "identity":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding!r} is not gzip or identity")
        return body

    def _drain(self, length: int | None = None) -> None:
        """Read and drop a body we refuse, so the client sees our answer instead of a reset connection."""
        if length is None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                self.close_connection = True
                return
        while length > 0:
            chunk = self.rfile.read(min(length, _DRAIN_CHUNK))
            if not chunk:
                break
            length -= len(chunk)

    def _refuse(self, refused: _Refused, json_body: bool) -> None:
        status = Status(code=_RPC_CODES.get(refused.status, 2), message=str(refused))
        if json_body:
            body = json.dumps({"code": status.code, "message": status.message}).encode()
        else:
            body = status.SerializeToString()
        extra = {"WWW-Authenticate": "Bearer"} if refused.status == HTTPStatus.UNAUTHORIZED else {}
        if refused.status == HTTPStatus.TOO_MANY_REQUESTS:
            extra["Retry-After"] = self.receiver._admission.retry_after_header()
        self._reply(refused.status, body, json_body, extra)

    def _reply(self, status: HTTPStatus, body: bytes, json_body: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", JSON if json_body else PROTOBUF)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # refusals are counted and answered; stderr noise per request helps nobody


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"body is not valid gzip ({err})") from err
    if len(data) > limit or inflater.unconsumed_tail:
        raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"gzip body inflates past the {limit}-byte limit")
    if not inflater.eof:
        raise _Refused(HTTPStatus.BAD_REQUEST, "body is truncated gzip")
    return data


__all__ = ["JSON", "PROTOBUF", "OtlpHttpReceiver"]
