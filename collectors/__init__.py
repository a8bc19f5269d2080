"""Collectors: bring histories, spans, logs and application tables into one DuckDB file."""

from temporal_lens.collectors.addresses import (
    OpenListenerError,
    dialable_host,
    is_loopback,
    join_host_port,
    parse_host_port,
)
from temporal_lens.collectors.admission import StoreAdmission
from temporal_lens.collectors.app_db import AppTableError, load_sqlite_table
from temporal_lens.collectors.db import (
    BatchWriter,
    DatabaseFileError,
    DatabaseInUseError,
    DatabasePlaceError,
    open_database,
    verify_database,
)
from temporal_lens.collectors.history_export import ExportFileError, export_file_paths, load_export_files
from temporal_lens.collectors.history_files import (
    HistoryFileError,
    load_history_files,
    load_history_json,
    read_history_json,
)
from temporal_lens.collectors.history_live import CollectProgress, collect_histories
from temporal_lens.collectors.history_model import (
    ACTIVITY_CLOSE_STATUS,
    CHILD_CLOSE_STATUS,
    CLOSED_STATUSES,
    RUN_CLOSE_STATUS,
    event_type_name,
    flatten_histories,
    flatten_history,
    workflow_row,
)
from temporal_lens.collectors.history_traces import HISTORY_SERVICE, run_spans, synthesize_history_spans
from temporal_lens.collectors.history_writer import CollectResult
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
from temporal_lens.collectors.layout import READ_ORDER, order_for_reading
from temporal_lens.collectors.logs import LogLineError, LogLoadResult, load_log_file, load_log_files
from temporal_lens.collectors.open_runs import PENDING_ACTIVITIES, OpenRunsResult, observe_open_runs
from temporal_lens.collectors.otlp_convert import OTLP_LOG_SOURCE, logs_to_table, otlp_log_key
from temporal_lens.collectors.otlp_files import OtlpFilesResult, load_otlp_files
from temporal_lens.collectors.otlp_http import OtlpHttpReceiver
from temporal_lens.collectors.otlp_receiver import OtlpReceiver, ReceiverBindError, spans_to_table
from temporal_lens.collectors.parquet import PARTITIONING, Partitioning, export_parquet
from temporal_lens.collectors.tables import HISTORY_EVENTS, LOGS, SPANS, TABLES, WORKFLOWS, TableShape

__all__ = [
    "ACTIVITY_CLOSE_STATUS",
    "CHILD_CLOSE_STATUS",
    "CLOSED_STATUSES",
    "HISTORY_EVENTS",
    "HISTORY_SERVICE",
    "LOGS",
    "OTLP_LOG_SOURCE",
    "PARTITIONING",
    "PENDING_ACTIVITIES",
    "READ_ORDER",
    "RUN_CLOSE_STATUS",
    "SPANS",
    "TABLES",
    "WORKFLOWS",
    "AgentDatagramError",
    "AppTableError",
    "BatchWriter",
    "CollectProgress",
    "CollectResult",
    "DatabaseFileError",
    "DatabaseInUseError",
    "DatabasePlaceError",
    "ExportFileError",
    "HistoryFileError",
    "JaegerAgentReceiver",
    "JaegerApiError",
    "JaegerFormatError",
    "LogLineError",
    "LogLoadResult",
    "OpenListenerError",
    "OpenRunsResult",
    "OtlpFilesResult",
    "OtlpHttpReceiver",
    "OtlpReceiver",
    "Partitioning",
    "ReceiverBindError",
    "StoreAdmission",
    "TableShape",
    "collect_histories",
    "collect_jaeger_api",
    "decode_emit_batch",
    "dialable_host",
    "event_type_name",
    "export_file_paths",
    "export_jaeger",
    "export_parquet",
    "fetch_jaeger_traces",
    "flatten_histories",
    "flatten_history",
    "is_loopback",
    "jaeger_spans_table",
    "jaeger_trace_document",
    "join_host_port",
    "load_export_files",
    "load_history_files",
    "load_history_json",
    "load_jaeger_file",
    "load_log_file",
    "load_log_files",
    "load_otlp_files",
    "load_sqlite_table",
    "logs_to_table",
    "observe_open_runs",
    "open_database",
    "order_for_reading",
    "otlp_log_key",
    "parse_host_port",
    "read_history_json",
    "run_spans",
    "spans_to_table",
    "synthesize_history_spans",
    "verify_database",
    "workflow_row",
]
