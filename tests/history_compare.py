"""Comparing `history_events` rows from the DuckDB fast path with the protobuf path's, and the two attributes paths.

The fast path keeps payloads inside `attributes` base64, as the server wrote them; the protobuf path decodes them
with the payload converter. `decoded_rows` decodes the fast path's payloads the same way so the two compare equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.converter import default as default_converter

from temporal_lens.collectors.history_attributes import AttributesWriter, attributes_json_via_dict, readable_payload
from temporal_lens.collectors.history_model import event_type_name

_PAYLOAD_KEYS = frozenset(["metadata", "data", "externalPayloads"])


def decode_payloads(value: Any) -> Any:
    """Every object shaped like a Temporal Payload (by its keys) decoded as `flatten_history` decodes it."""
    if isinstance(value, list):
        return [decode_payloads(item) for item in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("metadata"), dict) and set(value) <= _PAYLOAD_KEYS:
        return readable_payload(value, default_converter().payload_converter)
    return {key: decode_payloads(item) for key, item in value.items()}


def decoded_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with `attributes` parsed and its payloads decoded."""
    decoded = []
    for row in rows:
        attributes = row["attributes"]
        decoded.append({**row, "attributes": None if attributes is None else decode_payloads(json.loads(attributes))})
    return decoded


def parsed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with `attributes` parsed (the protobuf path's payloads are decoded already)."""
    return [{**row, "attributes": None if row["attributes"] is None else json.loads(row["attributes"])} for row in rows]


def assert_attribute_paths_agree(histories: Iterable[WorkflowHistory]) -> set[str]:
    """Every event's `attributes` text from the compiled path equals the `MessageToDict` path's, event by event;
    returns the event types compared (so a test can say which it needed to see)."""
    converter = default_converter().payload_converter
    writer = AttributesWriter(converter)
    seen = set()
    for history in histories:
        for event in history.events:
            which = event.WhichOneof("attributes")
            if which is None:
                continue
            attrs = getattr(event, which)
            expected = attributes_json_via_dict(attrs, converter)
            assert writer.attributes_json(attrs) == expected, (
                f"{history.workflow_id} event {event.event_id} ({event_type_name(event.event_type)})"
            )
            seen.add(event_type_name(event.event_type))
    return seen
