"""OTLP/JSON files (the OpenTelemetry Collector's `file` exporter: one export request per line) into `spans`/`logs`.

Each line is an `ExportTraceServiceRequest` (`resourceSpans`) or an `ExportLogsServiceRequest` (`resourceLogs`),
stored through the same parse-and-store core the receivers use, so a file read twice stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.otlp_convert import Signal, StoreError, parse_request, store_export

_SIGNAL_OF_KEY: dict[str, Signal] = {"resourceSpans": "traces", "resource_spans": "traces",
                  "resourceLogs": "logs", "resource_logs": "logs"}


@dataclass(frozen=True)
class OtlpFilesResult:
    """Rows newly stored, and one line per request that could not be (file and line named)."""

    spans: int = 0
    logs: int = 0
    errors: tuple[str, ...] = ()


def load_otlp_files(
    writer: BatchWriter, paths_or_dirs: Iterable[str | Path], *, pattern: str = "*.json*"
) -> OtlpFilesResult:
    """Load OTLP/JSON-lines files (and every `pattern` file directly inside each folder); a bad line is named in
    `errors` and the lines around it still load."""
    spans = logs = 0
    errors: list[str] = []
    for given in paths_or_dirs:
        given = Path(given)
        for path in sorted(given.glob(pattern)) if given.is_dir() else [given]:
            try:
                lines = path.read_bytes().splitlines()
            except OSError as err:
                errors.append(f"{path}: {err.strerror or err}")
                continue
            for line_no, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    signal = _signal(line)
                    stored = store_export(writer, signal, parse_request(signal, line, json_body=True))
                except (ValueError, StoreError) as err:
                    errors.append(f"{path}:{line_no}: {err}")
                    continue
                if signal == "traces":
                    spans += stored
                else:
                    logs += stored
    return OtlpFilesResult(spans, logs, tuple(errors))


def _signal(line: bytes) -> Signal:
    try:
        parsed = json.loads(line)
    except ValueError as err:
        raise ValueError(f"not valid JSON ({err})") from err
    if isinstance(parsed, dict):
        for key, signal in _SIGNAL_OF_KEY.items():
            if key in parsed:
                return signal
    raise ValueError("not an OTLP/JSON export request (no resourceSpans or resourceLogs)")
