"""Collectors: bring histories, spans, logs and application tables into one DuckDB file."""

from temporal_lens.collectors.db import BatchWriter, DatabaseInUseError, open_database

__all__ = ["BatchWriter", "DatabaseInUseError", "open_database"]
