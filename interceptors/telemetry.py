"""configure_telemetry(): one call at process start wires spans to OTLP and logs to a JSON-lines file."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from temporal_lens.interceptors._ids import ForcedIdGenerator
from temporal_lens.interceptors.logs import TemporalContextAdder, drop_during_replay

ENV_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENV_LOG_PATH = "TEMPORAL_LENS_LOG_PATH"


@dataclass
class Telemetry:
    """What `configure_telemetry()` set up; `shutdown()` flushes spans and closes the log file."""

    service_name: str
    otlp_endpoint: str | None
    log_path: Path | None
    tracer_provider: TracerProvider
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def flush(self, timeout_millis: int = 10_000) -> bool:
        return self.tracer_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        global _current
        with _lock:
            if _current is not self:
                return
            _current = None
        self.tracer_provider.shutdown()
        if self._log_file is not None:
            self._log_file.flush()
            self._log_file.close()
        structlog.reset_defaults()


_lock = threading.Lock()
_current: Telemetry | None = None


class _HashOnceResource(Resource):
    """A Resource that computes its hash once. The OTLP exporter groups every span it sends by resource, and the
    SDK's Resource hashes by rendering its attributes as JSON on every call; its attributes never change."""

    def __init__(self, attributes: Any, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    @classmethod
    def of(cls, resource: Resource) -> _HashOnceResource:
        return cls(resource.attributes, resource.schema_url)

    def __hash__(self) -> int:
        return self._hash


def configure_telemetry(
    *,
    service_name: str | None = None,
    otlp_endpoint: str | None = None,
    log_path: str | Path | None = None,
    resource_attributes: dict[str, Any] | None = None,
) -> Telemetry:
    """Set up spans (OTLP/gRPC) and structlog JSON logs for this process. Idempotent.

    Each setting resolves keyword argument, then environment variable, then default:
    `service_name` from OTEL_SERVICE_NAME, else "unknown_service"; `otlp_endpoint` ("host:port" or
    "http://host:port") from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else spans are not
    exported; `log_path` from TEMPORAL_LENS_LOG_PATH, else logs go to stderr. OTEL_RESOURCE_ATTRIBUTES is merged
    into the resource. A second call returns the first call's configuration unchanged.
    """
    global _current
    with _lock:
        if _current is not None:
            return _current
        name = service_name or os.environ.get(ENV_SERVICE_NAME) or "unknown_service"
        endpoint = otlp_endpoint or os.environ.get(ENV_OTLP_TRACES_ENDPOINT) or os.environ.get(ENV_OTLP_ENDPOINT)
        path_value = log_path or os.environ.get(ENV_LOG_PATH)
        path = Path(path_value) if path_value else None

        resource = _HashOnceResource.of(Resource.create({**(resource_attributes or {}), "service.name": name}))
        provider = TracerProvider(resource=resource, id_generator=ForcedIdGenerator())
        if endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        _set_tracer_provider(provider)

        log_file: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: each record reaches the file (the OS) as it is written, so a process killed right after
            # a record keeps it.
            log_file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by shutdown()
        _configure_structlog(name, log_file or sys.stderr.buffer)

        _current = Telemetry(name, endpoint, path, provider, log_file)
        atexit.register(_current.shutdown)
        return _current


def current_telemetry() -> Telemetry | None:
    return _current


def structlog_processors(service_name: str | None = None) -> list[Any]:
    """The processors `configure_telemetry()` uses, for users composing their own structlog pipeline (it stamps the
    same timestamp text, formatted by its JSON renderer instead of the TimeStamper)."""
    return [
        drop_during_replay,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        TemporalContextAdder(service_name=service_name),
        structlog.processors.format_exc_info,
    ]


def json_bytes(value: Any, **_: Any) -> bytes:
    """JSON of a log record as bytes: orjson, or the standard library for what orjson refuses (an int beyond 64
    bits), so no record is lost to its values. Datetimes are written as RFC 3339 ('...Z' in UTC), values JSON
    lacks as their str()."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, default=_json_default).encode()


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _stamp_utc(logger: Any, method_name: str, event_dict: Any) -> Any:
    """`TimeStamper(fmt="iso", utc=True)` for records `json_bytes` renders: the datetime is written as the same
    text, without formatting it in Python first."""
    event_dict["timestamp"] = datetime.now(UTC)
    return event_dict


def _configure_structlog(service_name: str, out: IO[bytes]) -> None:
    processors = [
        _stamp_utc if isinstance(processor, structlog.processors.TimeStamper) else processor
        for processor in structlog_processors(service_name)
    ]
    structlog.configure(
        processors=[*processors, structlog.processors.JSONRenderer(serializer=json_bytes)],
        logger_factory=structlog.BytesLoggerFactory(file=out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )


def _set_tracer_provider(provider: TracerProvider) -> None:
    # The OpenTelemetry API allows setting the global provider once per process; a provider someone else set
    # earlier stays, and our interceptors are then given ours explicitly through `Telemetry.tracer_provider`.
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
