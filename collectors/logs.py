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

import pyarrow as pa

from temporal_lens import keys
from temporal_lens.collectors.db import BatchWriter

LOGS_SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("us", tz="UTC")),
        ("level", pa.string()),
        ("event", pa.string()),
        ("service_name", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("workflow_id", pa.string()),
        ("run_id", pa.string()),
        ("activity_id", pa.string()),
        ("attempt", pa.int32()),
        ("event_id", pa.int64()),
        ("attributes", pa.string()),
        ("source_file", pa.string()),
        ("line_no", pa.int64()),
    ]
)

# Column -> record keys it is read from, first present wins; keys used go to the column, the rest to `attributes`.
_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "time", "ts", "@timestamp", "asctime"),
    "level": ("level", "levelname", "severity"),
    "event": ("event", "message", "msg"),
    "service_name": ("service.name", "service_name", "service"),
    "trace_id": (keys.TRACE_ID, "otelTraceID"),
    "span_id": (keys.SPAN_ID, "otelSpanID"),
    "workflow_id": (keys.WORKFLOW_ID,),
    "run_id": (keys.RUN_ID,),
    "activity_id": (keys.ACTIVITY_ID,),
    "attempt": (keys.ATTEMPT,),
    "event_id": (keys.EVENT_ID,),
}
_INTEGER_COLUMNS = {"attempt": 32, "event_id": 64}


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
        stored = writer.insert("logs", pa.table(columns, schema=LOGS_SCHEMA))
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
    return {name: [] for name in LOGS_SCHEMA.names}


def _log_row(raw: bytes, *, first_line: bool) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig" if first_line else "utf-8")
        record = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:  # also UnicodeDecodeError, JSONDecodeError and rejected NaN/Infinity
        raise _BadLine(f"not valid JSON ({err})") from err
    if not isinstance(record, dict):
        raise _BadLine(f"not a JSON object but {type(record).__name__}")

    row: dict[str, Any] = {}
    rest = dict(record)
    for column, aliases in _ALIASES.items():
        value = None
        for alias in aliases:
            if rest.get(alias) is not None:
                value = rest.pop(alias)
                break
        row[column] = value

    if row["time"] is not None:
        row["time"] = _parse_time(row["time"])
    if row["level"] is not None:
        row["level"] = str(row["level"]).lower()
    for column in ("event", "service_name", "trace_id", "span_id", "workflow_id", "run_id", "activity_id"):
        if row[column] is not None and not isinstance(row[column], str):
            row[column] = json.dumps(row[column]) if isinstance(row[column], (dict, list)) else str(row[column])
    for column, bits in _INTEGER_COLUMNS.items():
        value = row[column]
        row[column] = _as_int(value, bits)
        if value is not None and row[column] is None:
            rest[_ALIASES[column][0]] = value  # an odd value stays visible instead of costing the line
    _fill_from_temporal_extras(row, rest)
    row["attributes"] = json.dumps(rest, ensure_ascii=False)
    return row


def _fill_from_temporal_extras(row: dict[str, Any], rest: dict[str, Any]) -> None:
    """Plain `logging` records from the Temporal SDK carry ids in `temporal_workflow` / `temporal_activity`."""
    for extra in ("temporal_activity", "temporal_workflow"):
        info = rest.get(extra)
        if not isinstance(info, dict):
            continue
        row["workflow_id"] = row["workflow_id"] or _text(info.get("workflow_id"))
        row["run_id"] = row["run_id"] or _text(info.get("workflow_run_id") or info.get("run_id"))
        if extra == "temporal_activity":
            row["activity_id"] = row["activity_id"] or _text(info.get("activity_id"))
            if row["attempt"] is None:
                row["attempt"] = _as_int(info.get("attempt"), _INTEGER_COLUMNS["attempt"])


def _as_int(value: Any, bits: int) -> int | None:
    """An integer that fits a signed `bits`-bit column, from an int, integral float or decimal string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int) or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        return None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


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
