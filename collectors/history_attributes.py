"""A history event's `attributes` text: its ProtoJSON (as `json_format.MessageToDict` writes it), payloads decoded.

Two paths, one output. `attributes_json_via_dict` is the public-API path: `MessageToDict`, then every payload the
message descriptor locates is decoded. `AttributesWriter` gives the same text from the message itself, with a
converter per field compiled once per message type: `MessageToDict` looks every field's kind up again on every
call, which made it most of a live collection's Python time (two activities a run: about 3 ms of 5). What the
compiled path does not handle itself (a 32-bit float, an extension, a well-known type other than Timestamp and
Duration, a payload with external parts) it hands, message by message, to the public-API path. A test compares
both paths event by event on real histories of every event type the test workloads produce.

A payload keeps its shape (`metadata`, `data`); `data` becomes the decoded JSON value where the payload converter
yields one (json/plain, binary/null) and stays base64 otherwise (encrypted, binary); metadata values are text where
they are UTF-8.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter

_PAYLOAD = Payload.DESCRIPTOR.full_name
# Well-known types whose ProtoJSON form is their own `ToJsonString()` (what MessageToDict calls for them too).
_AS_JSON_STRING = frozenset(["google.protobuf.Timestamp", "google.protobuf.Duration"])
_WELL_KNOWN_FILE_PREFIX = "google/protobuf/"
_INT64_TYPES = frozenset([FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64])
_AS_IS_TYPES = frozenset(
    [FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_BOOL]
)

_Convert = Callable[[Any], Any]
# What `json.dumps(value, ensure_ascii=False)` calls, built once instead of once a call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def attributes_json_via_dict(attrs: Message, converter: PayloadConverter) -> str:
    """The attributes text by the public API: `MessageToDict`, payloads decoded where the descriptor puts them."""
    return json.dumps(_message_dict_via_dict(attrs, converter), ensure_ascii=False)


def readable_payload(item: dict[str, Any], converter: PayloadConverter) -> dict[str, Any]:
    """A payload as `MessageToDict` gives it (`metadata` and `data` base64) made readable (see the module doc)."""
    raw_metadata = {key: base64.b64decode(value) for key, value in item.get("metadata", {}).items()}
    readable = dict(item)
    readable["metadata"] = {key: _text_or_base64(value) for key, value in raw_metadata.items()}
    try:
        decoded = converter.from_payload(Payload(metadata=raw_metadata, data=base64.b64decode(item.get("data", ""))))
        json.dumps(decoded)
    except Exception:  # not JSON-shaped (binary, encrypted, unknown encoding): keep Temporal's base64
        return readable
    readable["data"] = decoded
    return readable


class AttributesWriter:
    """Writes attributes text as `attributes_json_via_dict` does, with per-type converters compiled once.

    One writer per payload converter; it holds no per-history state, so one writer serves every history.
    """

    def __init__(self, converter: PayloadConverter) -> None:
        self._converter = converter
        # message type -> (field -> (JSON name, value converter)); None: the type is converted via the dict path
        self._plans: dict[Descriptor, dict[FieldDescriptor, tuple[str, _Convert]] | None] = {}

    def attributes_json(self, attrs: Message) -> str:
        return _ENCODE(self.message(attrs))

    def message(self, value: Message) -> Any:
        """One message's ProtoJSON object, payloads decoded."""
        descriptor = value.DESCRIPTOR
        try:
            plan = self._plans[descriptor]
        except KeyError:
            plan = self._plans[descriptor] = self._plan(descriptor)
        if plan is None:
            return self._special(value, descriptor)
        js = {}
        for field, item in value.ListFields():
            try:
                name, convert = plan[field]
            except KeyError:  # an extension, or a field the compiled plan did not see: the whole message via dict
                return _message_dict_via_dict(value, self._converter)
            js[name] = convert(item)
        return js

    def _special(self, value: Message, descriptor: Descriptor) -> Any:
        if descriptor.full_name == _PAYLOAD and not len(value.external_payloads):  # type: ignore[attr-defined]
            return self._payload(value)  # type: ignore[arg-type]
        if descriptor.full_name in _AS_JSON_STRING:
            return value.ToJsonString()  # type: ignore[attr-defined]
        return _message_dict_via_dict(value, self._converter)

    def _plan(self, descriptor: Descriptor) -> dict[FieldDescriptor, tuple[str, _Convert]] | None:
        if descriptor.full_name == _PAYLOAD or descriptor.file.name.startswith(_WELL_KNOWN_FILE_PREFIX):
            return None
        plan = {}
        for field in descriptor.fields:
            convert = self._field_converter(field)
            if convert is None:
                return None
            plan[field] = (field.json_name, convert)
        return plan

    def _field_converter(self, field: FieldDescriptor) -> _Convert | None:
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            convert_value = self._value_converter(message_type.fields_by_name["value"])
            if convert_value is None:
                return None
            return lambda entries: {_map_key(key): convert_value(entries[key]) for key in entries}
        convert = self._value_converter(field)
        if convert is None or not field.is_repeated:
            return convert
        return lambda values: [convert(value) for value in values]

    def _value_converter(self, field: FieldDescriptor) -> _Convert | None:
        kind = field.cpp_type
        if kind == FieldDescriptor.CPPTYPE_MESSAGE:
            return self.message
        if kind == FieldDescriptor.CPPTYPE_ENUM:
            names = _enum_json_names(field)
            return lambda number: names.get(number, number)  # an open enum's unknown number stays a number
        if kind == FieldDescriptor.CPPTYPE_STRING:
            if field.type == FieldDescriptor.TYPE_BYTES:
                return _base64_text
            return _as_is
        if kind in _INT64_TYPES:
            return str
        if kind in _AS_IS_TYPES:
            return _as_is
        if kind == FieldDescriptor.CPPTYPE_DOUBLE:
            return _double
        return None  # a 32-bit float is printed by its shortest form: the dict path knows how

    def _payload(self, payload: Payload) -> dict[str, Any]:
        # The keys in the order `readable_payload` leaves them: present fields in field order, then what it adds.
        readable: dict[str, Any] = {}
        metadata = payload.metadata
        if metadata:
            readable["metadata"] = {key: _text_or_base64(metadata[key]) for key in metadata}
        if payload.data:
            readable["data"] = _base64_text(payload.data)
        if "metadata" not in readable:
            readable["metadata"] = {}
        try:
            decoded = self._converter.from_payload(payload)
            json.dumps(decoded)
        except Exception:  # not JSON-shaped: keep Temporal's base64, as readable_payload does
            return readable
        readable["data"] = decoded
        return readable


def _message_dict_via_dict(value: Message, converter: PayloadConverter) -> Any:
    as_dict = json_format.MessageToDict(value)
    return _decode_message(as_dict, value.DESCRIPTOR, converter)


def _decode_payloads(value: dict[str, Any], descriptor: Descriptor, converter: PayloadConverter) -> None:
    """Replace payloads inside a MessageToDict result, guided by the message descriptor (never by key guessing)."""
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key)
        if field is None or field.message_type is None:
            continue
        message_type = field.message_type
        if message_type.GetOptions().map_entry:
            entry_type = message_type.fields_by_name["value"].message_type
            if entry_type is not None and isinstance(item, dict):
                for entry_key, entry in item.items():
                    item[entry_key] = _decode_message(entry, entry_type, converter)
        elif isinstance(item, list):
            value[key] = [_decode_message(element, message_type, converter) for element in item]
        else:
            value[key] = _decode_message(item, message_type, converter)


def _decode_message(item: Any, descriptor: Descriptor, converter: PayloadConverter) -> Any:
    if not isinstance(item, dict):
        return item
    if descriptor.full_name == _PAYLOAD:
        return readable_payload(item, converter)
    _decode_payloads(item, descriptor, converter)
    return item


def _enum_json_names(field: FieldDescriptor) -> dict[int, Any]:
    """Each value of the field's enum as MessageToDict prints it, asked of MessageToDict itself once."""
    message_class = message_factory.GetMessageClass(field.containing_type)
    names = {}
    for number in field.enum_type.values_by_number:
        probe = message_class()
        if field.is_repeated:
            getattr(probe, field.name).append(number)
        else:
            setattr(probe, field.name, number)
        printed = json_format.MessageToDict(probe).get(field.json_name)
        if printed is not None:  # a singular field's zero value is not printed: it never reaches the writer
            names[number] = printed[0] if field.is_repeated else printed
    return names


def _map_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _as_is(value: Any) -> Any:
    return value


def _base64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("utf-8")


def _double(value: float) -> Any:
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    if math.isnan(value):
        return "NaN"
    return value


def _text_or_base64(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")
