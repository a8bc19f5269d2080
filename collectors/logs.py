"""JSON-lines log files (structlog or `logging` JSON) loaded into the `logs` table.

A file is streamed and written in batches. A row's key is (source_file, line_no), so loading a file again stores
only lines not stored before: reloading is idempotent and a file that grew loads its new lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporal_lens import keys
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.log_rows import log_row
from temporal_lens.collectors.span_rows import int32, text
from temporal_lens.collectors.tables import LOGS

# Column -> record keys it is read from, first present wins; keys used go to the column, the rest to `attributes`.
# The correlation columns (workflow_id, run_id, ...) are read from their `temporal.*` keys by `log_row`.
_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "time", "ts", "@timestamp", "asctime"),
    "level": ("level", "levelname", "severity"),
    "event": ("event", "message", "msg"),
    "service_name": ("service.name", "service_name", "service"),
    "trace_id": (keys.TRACE_ID, "otelTraceID"),
    "span_id": (keys.SPAN_ID, "otelSpanID"),
}


@dataclass(frozen=True)
class LogLineError:
    """One line that could not be loaded."""

    path: str
    line_no: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_no}: {self.message}"


@dataclass
class LogLoadResult:
    """What loading one file stored: rows newly stored, rows already present (an earlier load), lines rejected."""

    path: str
    loaded: int = 0
    skipped_duplicates: int = 0
    errors: list[LogLineError] = field(default_factory=list)


class _BadLine(ValueError):
    pass


def load_log_file(
    writer: BatchWriter,
    path: str | Path,
    *,
    service_name: str | None = None,
    batch_size: int = 10_000,
) -> LogLoadResult:
    """Load one JSON-lines file; malformed lines are reported in the result and the rest still load.

    Args:
        service_name: used for records that do not name their service (a record's own value wins).
        batch_size: rows per transaction.

    Naive timestamps are taken as UTC; numbers as Unix epoch seconds (milliseconds, microseconds or
    nanoseconds when too large to be seconds).
    """
    path = Path(path).absolute()
    source = str(path)
    result = LogLoadResult(source)
    columns = _empty_columns()

    def flush() -> None:
        if not columns["line_no"]:
            return
        rows = len(columns["line_no"])
        stored = writer.insert("logs", LOGS.table(columns))
        result.loaded += stored
        result.skipped_duplicates += rows - stored
        for values in columns.values():
            values.clear()

    with path.open("rb") as lines:
        for line_no, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                row = _log_row(raw, first_line=line_no == 1)
            except _BadLine as err:
                result.errors.append(LogLineError(source, line_no, str(err)))
                continue
            if row["service_name"] is None:
                row["service_name"] = service_name
            row.update(source_file=source, line_no=line_no)
            for name, values in columns.items():
                values.append(row[name])
            if len(columns["line_no"]) >= batch_size:
                flush()
    flush()
    return result


def load_log_files(
    writer: BatchWriter,
    paths_or_dirs: Iterable[str | Path],
    *,
    service_name: str | None = None,
    pattern: str = "*.jsonl",
) -> list[LogLoadResult]:
    """Load files, and every `pattern` file directly inside each given folder (in name order); one result each."""
    results = []
    for given in paths_or_dirs:
        given = Path(given)
        files = sorted(given.glob(pattern)) if given.is_dir() else [given]
        results += [load_log_file(writer, path, service_name=service_name) for path in files]
    return results


def _empty_columns() -> dict[str, list[Any]]:
    return {name: [] for name in LOGS.columns}


def _log_row(raw: bytes, *, first_line: bool) -> dict[str, Any]:
    try:
        decoded = raw.decode("utf-8-sig" if first_line else "utf-8")
        record = json.loads(decoded, parse_constant=_reject_constant)
    except ValueError as err:  # also UnicodeDecodeError, JSONDecodeError and rejected NaN/Infinity
        raise _BadLine(f"not valid JSON ({err})") from err
    except RecursionError as err:
        raise _BadLine("JSON nested too deeply") from err
    if not isinstance(record, dict):
        raise _BadLine(f"not a JSON object but {type(record).__name__}")

    found: dict[str, Any] = {}
    rest = dict(record)
    for column, aliases in _ALIASES.items():
        found[column] = None
        for alias in aliases:
            if rest.get(alias) is not None:
                found[column] = rest.pop(alias)
                break
    level = found["level"]
    row = log_row(
        time=None if found["time"] is None else _parse_time(found["time"]),
        level=None if level is None else str(level).lower(),
        event=found["event"],
        service_name=found["service_name"],
        trace_id=found["trace_id"],
        span_id=found["span_id"],
        attributes=rest,
    )
    _fill_from_temporal_extras(row, rest)
    return row


def _fill_from_temporal_extras(row: dict[str, Any], rest: dict[str, Any]) -> None:
    """Plain `logging` records from the Temporal SDK carry ids in `temporal_workflow` / `temporal_activity`."""
    for extra in ("temporal_activity", "temporal_workflow"):
        info = rest.get(extra)
        if not isinstance(info, dict):
            continue
        row["workflow_id"] = row["workflow_id"] or text(info.get("workflow_id"))
        row["run_id"] = row["run_id"] or text(info.get("workflow_run_id") or info.get("run_id"))
        if extra == "temporal_activity":
            row["activity_id"] = row["activity_id"] or text(info.get("activity_id"))
            if row["attempt"] is None:
                row["attempt"] = int32(info.get("attempt"))


def _parse_time(value: Any) -> datetime:
    if isinstance(value, bool):
        raise _BadLine(f"unparsable timestamp {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
        for _ in range(3):  # ms, us, ns
            if abs(seconds) < 1e11:
                break
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise _BadLine(f"unparsable timestamp {value!r}") from err
    if not isinstance(value, str):
        raise _BadLine(f"unparsable timestamp {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise _BadLine(f"unparsable timestamp {value!r}") from err
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
