"""OTLP export requests (traces and logs) flattened into `spans` and `logs` rows, and stored in one transaction.

Both OTLP receivers (gRPC in `otlp_receiver`, HTTP in `otlp_http`) parse a request, hand it to `store_export`, and
acknowledge only after it returns: the batch is committed by then.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
from collections.abc import Iterable
from typing import Any, Literal

import duckdb
import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from temporal_lens import keys
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.log_rows import log_row
from temporal_lens.collectors.span_rows import hex_from_bytes, iso_time, span_link, span_row, to_json
from temporal_lens.collectors.tables import LOGS, SPANS, SPANS_SCHEMA

OTLP_LOG_SOURCE = "otlp"
"""`logs.source_file` of records received over OTLP; their `line_no` is `otlp_log_key(...)` (see schema.sql)."""

Signal = Literal["traces", "logs"]
REQUEST_TYPES: dict[str, type[Message]] = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest}

_KEY_BITS = (1 << 63) - 1
# Storage errors a retry can cure; receivers answer them with a code OTLP exporters retry.
TRANSIENT_DB_ERRORS = (duckdb.IOException, duckdb.TransactionException, duckdb.ConnectionException)
# OTLP severity_number ranges (1-4 TRACE ... 21-24 FATAL) -> the level names structlog writes.
_LEVELS = ((21, "critical"), (17, "error"), (13, "warning"), (9, "info"), (5, "debug"), (1, "trace"))
_LEVEL_ALIASES = {"warn": "warning", "fatal": "critical"}  # OTel's (and Java's) names -> Python's


class StoreError(Exception):
    """A batch was not stored. `kind` is `invalid` (the sender's fault), `transient` (retry) or `internal`."""

    def __init__(self, kind: Literal["invalid", "transient", "internal"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse_request(signal: Signal, body: bytes, *, json_body: bool = False) -> Message:
    """An `Export{Trace,Logs}ServiceRequest` from OTLP protobuf bytes or OTLP/JSON.

    Raises:
        ValueError: the body is not such a request; the message says what is wrong.
    """
    message = REQUEST_TYPES[signal]()
    if not json_body:
        try:
            message.ParseFromString(body)
        except DecodeError as err:
            raise ValueError(f"body is not an OTLP {signal} protobuf ({err})") from err
        return message
    try:
        parsed = json.loads(body)
    except ValueError as err:  # also UnicodeDecodeError
        raise ValueError(f"body is not valid JSON ({err})") from err
    if not isinstance(parsed, dict):
        raise ValueError(f"body is JSON {type(parsed).__name__}, not an OTLP {signal} request object")
    _hex_ids_to_base64(parsed)
    try:
        # OTLP/JSON: receivers must ignore fields they do not know (a newer sender's additions).
        json_format.ParseDict(parsed, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"body is not an OTLP/JSON {signal} request ({err})") from err
    return message


def count_records(signal: Signal, request: Message) -> int:
    if signal == "traces":
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)


def store_export(writer: BatchWriter, signal: Signal, request: Message) -> int:
    """Convert and insert one request in one transaction; returns rows newly stored (re-sent rows are skipped).

    Raises:
        StoreError: nothing of the request was stored; `kind` says whose fault and whether to retry.
    """
    noun = "spans" if signal == "traces" else "log records"
    received = count_records(signal, request)
    try:
        table = spans_to_table(request) if signal == "traces" else logs_to_table(request)
    except ValueError as err:
        raise StoreError("invalid", f"rejected {received} {noun}: {err}") from err
    if not table.num_rows:
        return 0
    try:
        return writer.insert("spans" if signal == "traces" else "logs", table)
    except TRANSIENT_DB_ERRORS as err:
        raise StoreError("transient", f"could not store {received} {noun}, retry later: {err}") from err
    except Exception as err:
        raise StoreError("internal", f"could not store {received} {noun}: {type(err).__name__}: {err}") from err


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
        service_name = service_name if isinstance(service_name, str) else None
        resource_json = to_json(resource)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for i, span in enumerate(scope_spans.spans):
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]"
                rows.append(_span_row(span, where, service_name, resource_json))
    return SPANS.from_rows(rows)


def logs_to_table(request: ExportLogsServiceRequest) -> pa.Table:
    """Flatten an OTLP logs export request into rows of the `logs` table.

    `level` comes from `severity_text` (else `severity_number`), `event` from a string body (other bodies as
    JSON), the correlation columns from the `temporal.*` attributes; other attributes go to `attributes`.
    `source_file` is `otlp` and `line_no` a hash of the record (`otlp_log_key`), so a re-sent batch is not stored
    twice, and identical records inside one batch are stored once.

    Raises:
        ValueError: a record's trace or span id has the wrong length; the message names the record.
    """
    rows: dict[int, dict[str, Any]] = {}
    for r, resource_logs in enumerate(request.resource_logs):
        resource = _attributes(resource_logs.resource.attributes)
        service_name = resource.get("service.name")
        service_name = service_name if isinstance(service_name, str) else None
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            for i, record in enumerate(scope_logs.log_records):
                row = _log_row(record, f"resource_logs[{r}].scope_logs[{s}].log_records[{i}]", service_name)
                rows.setdefault(row["line_no"], row)
    return LOGS.from_rows(list(rows.values()))


def otlp_log_key(record: LogRecord, service_name: str | None) -> int:
    """A 63-bit key from what identifies a log record: time, trace and span ids, severity, body, attributes, service.

    `observed_time` is left out on purpose: a pipeline re-sending a record may stamp it anew.
    """
    identity = [
        record.time_unix_nano or record.observed_time_unix_nano,
        record.trace_id.hex(),
        record.span_id.hex(),
        record.severity_number,
        record.severity_text,
        _any_value(record.body),
        sorted(_attributes(record.attributes).items()),
        service_name,
    ]
    digest = hashlib.blake2b(to_json(identity).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _KEY_BITS


def _log_row(record: LogRecord, where: str, service_name: str | None) -> dict[str, Any]:
    return log_row(
        time=_micros(record.time_unix_nano or record.observed_time_unix_nano),
        level=_level(record),
        event=_any_value(record.body),
        service_name=service_name,
        trace_id=hex_from_bytes(record.trace_id, 16, f"{where}.trace_id") if record.trace_id else None,
        span_id=hex_from_bytes(record.span_id, 8, f"{where}.span_id") if record.span_id else None,
        attributes=_attributes(record.attributes),
        source_file=OTLP_LOG_SOURCE,
        line_no=otlp_log_key(record, service_name),
    )


def _level(record: LogRecord) -> str | None:
    if record.severity_text:
        text = record.severity_text.lower()
        return _LEVEL_ALIASES.get(text, text)
    for floor, name in _LEVELS:
        if record.severity_number >= floor:
            return name
    return None


def _span_row(span: Span, where: str, service_name: str | None, resource_json: str) -> dict[str, Any]:
    parent = span.parent_span_id
    return span_row(
        trace_id=hex_from_bytes(span.trace_id, 16, f"{where}.trace_id"),
        span_id=hex_from_bytes(span.span_id, 8, f"{where}.span_id"),
        parent_span_id=hex_from_bytes(parent, 8, f"{where}.parent_span_id") if parent else None,
        name=span.name,
        kind=_enum_name(Span.SpanKind, span.kind, "SPAN_KIND_"),
        service_name=service_name,
        start_nanos=span.start_time_unix_nano or None,  # 0 means "not set" in OTLP
        end_nanos=span.end_time_unix_nano or None,
        status_code=_enum_name(Status.StatusCode, span.status.code, "STATUS_CODE_"),
        status_message=span.status.message or None,
        attributes=_attributes(span.attributes),
        events=[_event(event) for event in span.events],
        links=[_link(link, f"{where}.links[{n}]") for n, link in enumerate(span.links)],
        resource=resource_json,
        source=keys.SPAN_SOURCE_OTLP,
    )


def _micros(unix_nano: int) -> int | None:
    # 0 means "not set" in OTLP; storing it would put records in 1970.
    return unix_nano // 1000 if unix_nano else None


def _event(event: Span.Event) -> dict[str, Any]:
    return {"name": event.name, "time": iso_time(_micros(event.time_unix_nano)),
            "attributes": _attributes(event.attributes)}


def _link(link: Span.Link, where: str) -> dict[str, Any]:
    return span_link(
        hex_from_bytes(link.trace_id, 16, f"{where}.trace_id"),
        hex_from_bytes(link.span_id, 8, f"{where}.span_id"),
        _attributes(link.attributes),
    )


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


# OTLP/JSON writes trace and span ids as hex where protobuf's JSON mapping expects base64.
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _hex_ids_to_base64(item)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in _ID_FIELDS and isinstance(item, str):
            try:
                value[key] = base64.b64encode(bytes.fromhex(item)).decode("ascii")
            except ValueError as err:
                raise ValueError(f"{key} {item[:40]!r} is not hex ({err})") from err
        elif key not in ("attributes", "body", "value"):  # values the sender chose are not ids to convert
            _hex_ids_to_base64(item)


__all__ = [
    "OTLP_LOG_SOURCE",
    "SPANS_SCHEMA",
    "StoreError",
    "count_records",
    "logs_to_table",
    "otlp_log_key",
    "parse_request",
    "spans_to_table",
    "store_export",
]


class ReceiverCounters:
    """What a receiver has received, stored and rejected; updated from its serving threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans_received = 0
        self.spans_stored = 0
        self.logs_received = 0
        self.logs_stored = 0
        self.batches_rejected = 0
        self.batches_busy = 0
        """Of `batches_rejected`: those refused for load (retryable), not for what they held."""

    def _count(
        self, signal: Signal = "traces", *, received: int = 0, stored: int = 0, rejected: int = 0, busy: int = 0
    ) -> None:
        with self._lock:
            if signal == "traces":
                self.spans_received += received
                self.spans_stored += stored
            else:
                self.logs_received += received
                self.logs_stored += stored
            self.batches_rejected += rejected + busy
            self.batches_busy += busy
