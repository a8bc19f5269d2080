"""Collectors: bring histories, spans, logs and application tables into one DuckDB file."""

from temporal_lens.collectors.addresses import dialable_host, join_host_port, parse_host_port
from temporal_lens.collectors.app_db import AppTableError, load_sqlite_table
from temporal_lens.collectors.db import BatchWriter, DatabaseInUseError, open_database
from temporal_lens.collectors.history import (
    CLOSED_STATUSES,
    CollectProgress,
    CollectResult,
    HistoryFileError,
    collect_histories,
    event_type_name,
    flatten_history,
    load_history_files,
    load_history_json,
    read_history_json,
    workflow_row,
)
from temporal_lens.collectors.history_traces import HISTORY_SERVICE, run_spans, synthesize_history_spans
from temporal_lens.collectors.jaeger import (
    JaegerApiError,
    JaegerFormatError,
    collect_jaeger_api,
    export_jaeger,
    fetch_jaeger_traces,
    jaeger_spans_table,
    jaeger_trace_document,
    load_jaeger_file,
)
from temporal_lens.collectors.jaeger_agent import AgentDatagramError, JaegerAgentReceiver, decode_emit_batch
from temporal_lens.collectors.logs import LogLineError, LogLoadResult, load_log_file, load_log_files
from temporal_lens.collectors.otlp_convert import OTLP_LOG_SOURCE, logs_to_table, otlp_log_key
from temporal_lens.collectors.otlp_http import OtlpHttpReceiver
from temporal_lens.collectors.otlp_receiver import OtlpReceiver, ReceiverBindError, spans_to_table
from temporal_lens.collectors.parquet import PARTITIONING, Partitioning, export_parquet

__all__ = [
    "CLOSED_STATUSES",
    "HISTORY_SERVICE",
    "OTLP_LOG_SOURCE",
    "PARTITIONING",
    "AgentDatagramError",
    "AppTableError",
    "BatchWriter",
    "CollectProgress",
    "CollectResult",
    "DatabaseInUseError",
    "HistoryFileError",
    "JaegerAgentReceiver",
    "JaegerApiError",
    "JaegerFormatError",
    "LogLineError",
    "LogLoadResult",
    "OtlpHttpReceiver",
    "OtlpReceiver",
    "Partitioning",
    "ReceiverBindError",
    "collect_histories",
    "collect_jaeger_api",
    "decode_emit_batch",
    "dialable_host",
    "event_type_name",
    "export_jaeger",
    "export_parquet",
    "fetch_jaeger_traces",
    "flatten_history",
    "jaeger_spans_table",
    "jaeger_trace_document",
    "join_host_port",
    "load_history_files",
    "load_history_json",
    "load_jaeger_file",
    "load_log_file",
    "load_log_files",
    "load_sqlite_table",
    "logs_to_table",
    "open_database",
    "otlp_log_key",
    "parse_host_port",
    "read_history_json",
    "run_spans",
    "spans_to_table",
    "synthesize_history_spans",
    "workflow_row",
]
