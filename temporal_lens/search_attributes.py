"""The custom search attributes the orders upsert: registered on the server (or found there) before any order starts.

A workflow that upserts an attribute the namespace does not know fails its workflow task again and again, so an order
would hang instead of failing; checking first turns that into one clear error naming the attribute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from temporal_lens.stack import StackError

REGISTERED_WITHIN_S = 30.0
"""How long a newly added attribute may take to be listed (the server's cache of namespace metadata)."""


class SearchAttributeError(StackError):
    """A custom search attribute is missing (and could not be added) or has another type."""


def type_name(index_type: int) -> str:
    """An index type as `temporal operator search-attribute create --type` and `start-dev --search-attribute` spell
    it (KEYWORD_LIST -> KeywordList)."""
    try:
        name = SearchAttributeIndexedValueType(index_type).name
    except ValueError:
        return f"unknown type {index_type}"
    return "".join(part.title() for part in name.split("_"))


def search_attribute_types(keys: Sequence[SearchAttributeKey]) -> dict[str, str]:
    """Name -> type name of each key: what `DevServer(search_attributes=...)` registers at launch."""
    return {key.name: type_name(key.indexed_value_type) for key in keys}


async def _registered(client: Client) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(listed.custom_attributes)


def _mistyped(keys: Sequence[SearchAttributeKey], found: dict[str, int]) -> list[str]:
    return [f"search attribute {key.name} is {type_name(found[key.name])}, the orders need "
            f"{type_name(key.indexed_value_type)}" for key in keys
            if key.name in found and found[key.name] != int(key.indexed_value_type)]


async def ensure_search_attributes(client: Client, keys: Sequence[SearchAttributeKey], *,
                                   register: bool = True) -> list[str]:
    """Make sure `client`'s namespace has every key with its type; returns the names this call added.

    Raises SearchAttributeError naming the attribute when one has another type, or is missing and `register` is
    False or the server refuses to add it.
    """
    found = await _registered(client)
    problems = _mistyped(keys, found)
    if problems:
        raise SearchAttributeError("; ".join(problems))
    missing = [key for key in keys if key.name not in found]
    if not missing:
        return []
    names = ", ".join(key.name for key in missing)
    if not register:
        raise SearchAttributeError(f"search attribute(s) {names} missing in namespace {client.namespace}")
    try:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: int(key.indexed_value_type) for key in missing},
        ))
    except Exception as err:
        raise SearchAttributeError(f"search attribute(s) {names} missing in namespace {client.namespace} and "
                                   f"could not be added: {err}") from err
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REGISTERED_WITHIN_S
    while True:
        found = await _registered(client)
        if all(key.name in found for key in missing):
            break
        if loop.time() > deadline:
            raise SearchAttributeError(f"search attribute(s) {names} added but not listed after "
                                       f"{REGISTERED_WITHIN_S:.0f}s")
        await asyncio.sleep(0.2)
    problems = _mistyped(keys, found)
    if problems:
        raise SearchAttributeError("; ".join(problems))
    return [key.name for key in missing]
