from __future__ import annotations

import shutil
import socket
import uuid

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from temporal_lens import stack
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


@pytest.mark.server
async def test_a_stopped_server_leaves_one_sqlite_file_holding_every_commit(tmp_path) -> None:
    """The server writes through a write-ahead log; stopping folds it back, so a copy of temporal.sqlite alone (a run
    folder's) opened by another server still has every workflow started before the stop."""
    workflow_id = f"kept-{uuid.uuid4()}"
    with DevServer(tmp_path / "first", headless=True) as server:
        client = await Client.connect(server.address)
        await client.start_workflow("NeverRun", id=workflow_id, task_queue="nobody-polls")
        assert (tmp_path / "first" / "temporal.sqlite-wal").exists()  # the log is in use while the server runs
    assert sorted(p.name for p in (tmp_path / "first").glob("temporal.sqlite*")) == ["temporal.sqlite"]
    (tmp_path / "second").mkdir()
    shutil.copyfile(tmp_path / "first" / "temporal.sqlite", tmp_path / "second" / "temporal.sqlite")
    with DevServer(tmp_path / "second", headless=True) as server:
        described = await (await Client.connect(server.address)).get_workflow_handle(workflow_id).describe()
    assert described.id == workflow_id


@pytest.mark.server
def test_a_port_taken_between_the_check_and_the_bind_is_retried_on_fresh_ports(tmp_path, monkeypatch) -> None:
    """A free port is only free when we look: one taken before the server binds it (here, the HTTP API's, held by
    a socket of the test's) makes the server exit, and the start goes on with fresh ports."""
    real_free_port, calls = stack.free_port, []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]

        def free_port(host: str = "127.0.0.1") -> int:
            calls.append(host)
            return taken if len(calls) == 3 else real_free_port(host)  # the first try's HTTP API port

        monkeypatch.setattr(stack, "free_port", free_port)
        with DevServer(tmp_path, headless=True) as server:
            assert server.pid is not None
    log = (tmp_path / "temporal-server.log").read_text()
    assert f"{taken}: bind: address already in use" in log
    assert len(calls) == 8  # two tries, four ports each
