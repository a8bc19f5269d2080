"""How `temporal-lens audit` connects: TLS and an API key through a real TLS endpoint, the `temporal` CLI's
environment variables, and one clear line with exit code 2 for every connection that cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tls_proxy import SERVER_NAME, TlsForwardingProxy, make_certificates

from temporal_lens.stack import free_port

pytestmark = pytest.mark.server


def run_audit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("TEMPORAL_")}
    return subprocess.run([sys.executable, "-m", "temporal_lens", "audit", *args], capture_output=True, text=True,
                          timeout=300, check=False, env={**clean, **(env or {})})


@pytest.fixture(scope="module")
async def closed_run(client) -> str:
    """A run closed without a worker: started, then terminated. Its workflow id."""
    workflow_id = f"audit-connect-{uuid.uuid4()}"
    handle = await client.start_workflow("NeverPolled", id=workflow_id, task_queue=f"tq-{uuid.uuid4()}")
    await handle.terminate("audit connection test")
    return workflow_id


def _error_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.strip()]


def test_tls_and_api_key_from_the_temporal_environment(dev_server, closed_run, tmp_path: Path) -> None:
    certificates = make_certificates()
    with TlsForwardingProxy(dev_server.address, certificates, api_key="s3cret") as proxy:
        completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--out", str(tmp_path / "report"),
                              "--query", f"WorkflowId = '{closed_run}'",
                              env={"TEMPORAL_ADDRESS": proxy.address, "TEMPORAL_API_KEY": "s3cret",
                                   "TEMPORAL_TLS_CA": str(certificates.write_ca(tmp_path)),
                                   "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME})
    assert completed.returncode == 0, completed.stderr
    assert "audited 1 runs (1 fetched" in completed.stdout
    assert proxy.authorizations and set(proxy.authorizations) == {"Bearer s3cret"}
    assert (tmp_path / "report" / "report.html").is_file()


def test_a_refused_api_key_is_one_line_and_exit_2(dev_server, closed_run, tmp_path: Path) -> None:
    certificates = make_certificates()
    with TlsForwardingProxy(dev_server.address, certificates, api_key="s3cret") as proxy:
        completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--address", proxy.address,
                              "--tls-ca", str(certificates.write_ca(tmp_path)), "--tls-server-name", SERVER_NAME,
                              "--api-key", "wrong")
    assert completed.returncode == 2, completed.stderr
    (line,) = _error_lines(completed)
    assert "refused the credentials" in line and proxy.address in line
    assert "Bearer wrong" in proxy.authorizations


def test_a_server_without_tls_behind_a_tls_client_is_one_line(dev_server, tmp_path: Path) -> None:
    completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--address", dev_server.address,
                          "--api-key", "s3cret")  # an API key turns TLS on; the dev server speaks none
    assert completed.returncode == 2
    (line,) = _error_lines(completed)
    assert line.startswith(f"error: cannot connect to Temporal at {dev_server.address}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--namespace", "no-such-namespace"], "namespace 'no-such-namespace' not found"),
        (["--query", "WorkflowId = 'no-such-workflow'"], "no workflow runs in namespace 'default'"),
        (["--since", "2 days"], "--since must be a number followed by s, m, h or d"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(dev_server, tmp_path: Path, args: list[str], expected: str) -> None:
    completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--address", dev_server.address, *args)
    assert completed.returncode == 2, completed.stderr
    (line,) = _error_lines(completed)
    assert expected in line


def test_an_unreachable_address_is_one_line_and_exit_2(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--address", address)
    assert completed.returncode == 2
    (line,) = _error_lines(completed)
    assert line.startswith(f"error: cannot connect to Temporal at {address}")


def test_a_since_window_keeps_recent_runs(dev_server, closed_run, tmp_path: Path) -> None:
    completed = run_audit("--db", str(tmp_path / "lens.duckdb"), "--address", dev_server.address, "--since", "1h",
                          "--query", f"WorkflowId = '{closed_run}'", "--out", str(tmp_path / "report"))
    assert completed.returncode == 0, completed.stderr
    assert "audited 1 runs (1 fetched" in completed.stdout
