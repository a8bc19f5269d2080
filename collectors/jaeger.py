"""Jaeger JSON traces into the `spans` table and back out: files, a running Jaeger query API, and exports.

The format is the one Jaeger's query API returns and its UI's "JSON File" upload opens:
`{"data": [{"traceID", "spans": [...], "processes": {"p1": {"serviceName", "tags"}}}]}`, times in microseconds.
Mapped the way OpenTelemetry's Jaeger translator maps it: the tags `span.kind`, `otel.status_code`,
`otel.status_description` and `error` become the span's kind and status (and are written back on export), logs
become span events named by their `event` field, a process becomes the span's `resource` and `service_name`.
The parent is the first CHILD_OF reference in the span's trace (else the first FOLLOWS_FROM in it); every other
reference becomes a link, and links are written back as FOLLOWS_FROM references, so an export imports unchanged.
64-bit trace ids are left-padded to 128 bits, as OpenTelemetry does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.span_rows import datetime_nanos, hex_from_text, iso_time, span_link, span_row, to_json
from temporal_lens.collectors.tables import SPANS

SPAN_SOURCE_JAEGER = "jaeger"
UNKNOWN_SERVICE = "unknown_service"
"""`serviceName` written for spans that name no service (OpenTelemetry's default service name)."""

_KIND_TAG, _STATUS_TAG, _STATUS_MESSAGE_TAG, _ERROR_TAG = (
    "span.kind",
    "otel.status_code",
    "otel.status_description",
    "error",
)
_KINDS = {kind.lower(): kind for kind in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER", "INTERNAL")}


class JaegerFormatError(ValueError):
    """A document is not in the Jaeger JSON shape; the message says where and why."""


class JaegerApiError(RuntimeError):
    """A Jaeger query API could not be reached or answered with an error."""


# ---------------------------------------------------------------------------------------------------- import


def jaeger_spans_table(document: Any, *, source: str = SPAN_SOURCE_JAEGER) -> pa.Table:
    """Rows of the `spans` table for every span of a Jaeger JSON document (`{"data": [trace, ...]}`).

    Raises:
        JaegerFormatError: the document is not Jaeger JSON.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("data"), list):
        raise JaegerFormatError('not Jaeger JSON: expected an object with a "data" list of traces')
    rows: list[dict[str, Any]] = []
    for t, trace in enumerate(document["data"]):
        if not isinstance(trace, Mapping) or not isinstance(trace.get("spans"), list):
            raise JaegerFormatError(f'data[{t}] is not a trace (no "spans" list)')
        processes = trace.get("processes") or {}
        for s, span in enumerate(trace["spans"]):
            try:
                rows.append(_span_row(span, processes, source))
            except (KeyError, TypeError, ValueError) as err:
                raise JaegerFormatError(f"data[{t}].spans[{s}]: {_reason(err)}") from err
    return SPANS.from_rows(rows)


def load_jaeger_file(writer: BatchWriter, path: str | Path, *, source: str = SPAN_SOURCE_JAEGER) -> int:
    """Store the spans of one Jaeger JSON file; returns the rows newly stored (spans already present are skipped).

    Raises:
        JaegerFormatError: the file is not JSON or not Jaeger JSON; the message names the file.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_bytes())
        table = jaeger_spans_table(document, source=source)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JaegerFormatError(f"{path}: not valid JSON ({err})") from err
    except RecursionError as err:  # Python's parser recurses per level; no trace nests that deep
        raise JaegerFormatError(f"{path}: not Jaeger JSON (nested too deeply)") from err
    except JaegerFormatError as err:
        raise JaegerFormatError(f"{path}: {err}") from err
    return writer.insert("spans", table)


def fetch_jaeger_traces(
    url: str,
    *,
    service: str,
    start: datetime,
    end: datetime,
    limit: int = 100,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """GET `{url}/api/traces` for one service and time window; returns the parsed document.

    Raises:
        JaegerApiError: unreachable, an HTTP error, a body that is not JSON, or errors the API reported.
    """
    query = urllib.parse.urlencode(
        {"service": service, "start": _to_micros(start), "end": _to_micros(end), "limit": limit}
    )
    address = f"{url.rstrip('/')}/api/traces?{query}"
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as err:
        detail = err.read(300).decode("utf-8", "replace").strip()
        raise JaegerApiError(f"{address}: HTTP {err.code} {err.reason}" + (f": {detail}" if detail else "")) from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise JaegerApiError(f"cannot reach Jaeger query API at {url}: {reason}") from err
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JaegerApiError(f"{address}: the answer is not JSON ({err}); is {url} a Jaeger query API?") from err
    if isinstance(document, Mapping) and document.get("errors"):
        messages = "; ".join(str(e.get("msg", e) if isinstance(e, Mapping) else e) for e in document["errors"])
        raise JaegerApiError(f"{address}: Jaeger reported errors: {messages}")
    return document


def collect_jaeger_api(
    writer: BatchWriter,
    url: str,
    *,
    service: str,
    since: timedelta = timedelta(hours=1),
    limit: int = 100,
    now: datetime | None = None,
) -> int:
    """Store the traces of `service` from the last `since` that a Jaeger query API returns; returns rows stored.

    Raises:
        JaegerApiError: as `fetch_jaeger_traces`; also when the answer is not Jaeger JSON.
    """
    end = now or datetime.now(UTC)
    document = fetch_jaeger_traces(url, service=service, start=end - since, end=end, limit=limit)
    try:
        table = jaeger_spans_table(document)
    except JaegerFormatError as err:
        raise JaegerApiError(f"{url}: {err}") from err
    return writer.insert("spans", table)


def _span_row(span: Mapping[str, Any], processes: Mapping[str, Any], source: str) -> dict[str, Any]:
    trace_id = hex_from_text(span["traceID"], 32, "traceID")
    tags = _tags(span.get("tags") or [])
    kind = _KINDS.get(str(tags.pop(_KIND_TAG, "")).lower())
    status = str(tags.pop(_STATUS_TAG, "UNSET")).upper()
    status_message = tags.pop(_STATUS_MESSAGE_TAG, None)
    error = tags.pop(_ERROR_TAG, None)
    if error is True or str(error).lower() == "true":
        status = "ERROR"
    process = processes.get(span.get("processID")) or span.get("process") or {}
    service_name = process.get("serviceName") or None
    resource = {"service.name": service_name} if service_name else {}
    resource.update(_tags(process.get("tags") or []))
    start = _micros(span["startTime"], "startTime")
    duration = _micros(span.get("duration", 0), "duration")
    parent, links = _parent_and_links(span, trace_id)
    return span_row(
        trace_id=trace_id,
        span_id=hex_from_text(span["spanID"], 16, "spanID"),
        parent_span_id=parent,
        name=str(span["operationName"]),
        kind=kind,
        service_name=service_name,
        start_nanos=start * 1000,
        end_nanos=(start + duration) * 1000,
        status_code=status,
        status_message=None if status_message is None else str(status_message),
        attributes=tags,
        events=[_event(log) for log in span.get("logs") or []],
        links=links,
        resource=resource,
        source=source,
    )


def _parent_and_links(span: Mapping[str, Any], trace_id: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The parent span (the first CHILD_OF reference in the trace, else the first FOLLOWS_FROM in it, else the older
    `parentSpanID`), and every other reference as a link, as OpenTelemetry's Jaeger translator reads them."""
    references = []
    for ref in span.get("references") or []:
        ref_trace = hex_from_text(ref.get("traceID", trace_id), 32, "references.traceID")
        references.append((ref.get("refType"), ref_trace, hex_from_text(ref["spanID"], 16, "references.spanID")))
    chosen = next(
        (i for wanted in ("CHILD_OF", "FOLLOWS_FROM") for i, (kind, ref_trace, _) in enumerate(references)
         if kind == wanted and ref_trace == trace_id),
        None,
    )
    links = [span_link(ref_trace, ref_span) for i, (_, ref_trace, ref_span) in enumerate(references) if i != chosen]
    if chosen is not None:
        return references[chosen][2], links
    parent = span.get("parentSpanID")  # the older shape some exporters still write
    return (hex_from_text(parent, 16, "parentSpanID") if parent and int(parent, 16) else None), links


def _event(log: Mapping[str, Any]) -> dict[str, Any]:
    fields = _tags(log.get("fields") or [])
    name = fields.pop("event", None)
    return {"name": "log" if name is None else str(name), "time": iso_time(_micros(log["timestamp"], "timestamp")),
            "attributes": fields}


def _tags(tags: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(tag["key"]): _tag_value(tag) for tag in tags}


def _tag_value(tag: Mapping[str, Any]) -> Any:
    value, kind = tag.get("value"), str(tag.get("type", "string")).lower()
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "int64":
        return int(value)
    if kind == "float64":
        return float(value)
    return value  # string, and binary (already base64 in JSON)


def _micros(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field} must be a number of microseconds, got {value!r}")
    return int(value)


def _reason(err: Exception) -> str:
    return f"missing field {err}" if isinstance(err, KeyError) else str(err)


# ---------------------------------------------------------------------------------------------------- export


def jaeger_trace_document(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A Jaeger JSON document (`{"data": [...]}`, one trace per trace id) from `spans` rows as dicts."""
    by_trace: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_trace.setdefault(row["trace_id"], []).append(row)
    return {"data": [_trace(trace_id, spans) for trace_id, spans in by_trace.items()]}


def export_jaeger(
    conn: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    trace_id: str | None = None,
    workflow_id: str | None = None,
) -> list[Path]:
    """Write one Jaeger JSON file per trace, `{out_dir}/{trace_id}.json`; returns the files written.

    Without filters every trace in the database is written; `workflow_id` selects every trace holding a span of
    that workflow.
    """
    condition, params = "TRUE", []
    if trace_id is not None:
        condition, params = "trace_id = ?", [trace_id.lower().rjust(32, "0")]
    elif workflow_id is not None:
        condition, params = "trace_id IN (SELECT trace_id FROM spans WHERE workflow_id = ?)", [workflow_id]
    cursor = conn.cursor()
    try:
        result = cursor.execute(
            f"SELECT * FROM spans WHERE {condition} ORDER BY trace_id, start_time, span_id", params
        )
        names = [column[0] for column in result.description]
        rows = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
    finally:
        cursor.close()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for trace in jaeger_trace_document(rows)["data"]:
        path = out_dir / f"{trace['traceID']}.json"
        path.write_text(json.dumps({"data": [trace]}, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(path)
    return written


def _trace(trace_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    processes: dict[tuple[str, str], str] = {}
    process_docs: dict[str, Any] = {}
    spans = []
    for row in rows:
        resource = _json_value(row.get("resource")) or {}
        service = row.get("service_name") or resource.get("service.name") or UNKNOWN_SERVICE
        process_key = (service, to_json({k: v for k, v in resource.items() if k != "service.name"}))
        if process_key not in processes:
            process_id = processes[process_key] = f"p{len(processes) + 1}"
            extra = {k: v for k, v in resource.items() if k != "service.name"}
            process_docs[process_id] = {"serviceName": service, "tags": _typed_tags(extra)}
        spans.append(_span_doc(trace_id, row, processes[process_key]))
    return {"traceID": trace_id, "spans": spans, "processes": process_docs, "warnings": None}


def _span_doc(trace_id: str, row: Mapping[str, Any], process_id: str) -> dict[str, Any]:
    start = _to_micros(row["start_time"]) if row.get("start_time") else 0
    end = _to_micros(row["end_time"]) if row.get("end_time") else start
    tags = dict(_json_value(row.get("attributes")) or {})
    if row.get("kind") and row["kind"] != "UNSPECIFIED":
        tags[_KIND_TAG] = row["kind"].lower()
    status = row.get("status_code")
    if status and status != "UNSET":
        tags[_STATUS_TAG] = status
    if status == "ERROR":
        tags[_ERROR_TAG] = True
    if row.get("status_message"):
        tags[_STATUS_MESSAGE_TAG] = row["status_message"]
    parent = row.get("parent_span_id")
    references = [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}] if parent else []
    references += [
        {"refType": "FOLLOWS_FROM", "traceID": link["trace_id"], "spanID": link["span_id"]}
        for link in _json_value(row.get("links")) or []
    ]
    return {
        "traceID": trace_id,
        "spanID": row["span_id"],
        "operationName": row["name"],
        "references": references,
        "startTime": start,
        "duration": max(end - start, 0),
        "tags": _typed_tags(tags),
        "logs": [_log_doc(event) for event in _json_value(row.get("events")) or []],
        "processID": process_id,
        "warnings": None,
    }


def _log_doc(event: Mapping[str, Any]) -> dict[str, Any]:
    time = event.get("time")
    micros = _to_micros(datetime.fromisoformat(time)) if time else 0
    fields = {"event": event.get("name", "log"), **(event.get("attributes") or {})}
    return {"timestamp": micros, "fields": _typed_tags(fields)}


def _typed_tags(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Jaeger's typed tags; values Jaeger has no type for (lists, maps) are written as JSON strings."""
    tags = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            kind = "bool"
        elif isinstance(value, int):
            kind = "int64"
        elif isinstance(value, float):
            kind = "float64"
        else:
            kind, value = "string", value if isinstance(value, str) else to_json(value)
        tags.append({"key": key, "type": kind, "value": value})
    return tags


# ---------------------------------------------------------------------------------------------------- shared


def _to_micros(moment: datetime) -> int:
    return datetime_nanos(moment) // 1000


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
