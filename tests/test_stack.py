from __future__ import annotations

import socket

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from temporal_lens.stack import DevServer, StackError, find_temporal_binary


def test_binary_is_found() -> None:
    assert find_temporal_binary().name == "temporal"


@pytest.mark.server
async def test_dev_server_serves(client) -> None:
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version


def test_taken_port_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} .* already in use"):
            DevServer(tmp_path, port=port, headless=True).start()


def test_missing_binary_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEMPORAL_LENS_TEMPORAL_BIN", str(tmp_path / "nope"))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match="`temporal` binary was not found"):
        find_temporal_binary()
