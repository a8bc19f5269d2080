"""Collectors: bring histories, spans, logs and application tables into one DuckDB file."""

from temporal_lens.collectors.app_db import AppTableError, load_sqlite_table
from temporal_lens.collectors.db import BatchWriter, DatabaseInUseError, open_database
from temporal_lens.collectors.history import (
    CollectResult,
    HistoryFileError,
    collect_histories,
    event_type_name,
    flatten_history,
    load_history_json,
    read_history_json,
    workflow_row,
)
from temporal_lens.collectors.logs import LogLineError, LogLoadResult, load_log_file, load_log_files
from temporal_lens.collectors.otlp_receiver import OtlpReceiver, spans_to_table

__all__ = [
    "AppTableError",
    "BatchWriter",
    "CollectResult",
    "DatabaseInUseError",
    "HistoryFileError",
    "LogLineError",
    "LogLoadResult",
    "OtlpReceiver",
    "collect_histories",
    "event_type_name",
    "flatten_history",
    "load_history_json",
    "load_log_file",
    "load_log_files",
    "load_sqlite_table",
    "open_database",
    "read_history_json",
    "spans_to_table",
    "workflow_row",
]
