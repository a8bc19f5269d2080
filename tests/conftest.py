"""Shared fixtures: one real Temporal dev server per test session, on free ports in a temp dir."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from temporal_lens.stack import DevServer


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = DevServer(tmp_path_factory.mktemp("temporal"), headless=True)
    with server:
        yield server


@pytest.fixture(scope="session")
async def client(dev_server: DevServer) -> AsyncIterator[Client]:
    yield await Client.connect(dev_server.address, namespace=dev_server.namespace)


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"
