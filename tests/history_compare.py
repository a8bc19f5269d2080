"""Comparing `history_events` rows from the DuckDB fast path with the protobuf path's.

The fast path keeps payloads inside `attributes` base64, as the server wrote them; the protobuf path decodes them
with the payload converter. `decoded_rows` decodes the fast path's payloads the same way so the two compare equal.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.converter import default as default_converter

from temporal_lens.collectors.history_model import readable_payload

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
