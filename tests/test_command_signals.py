"""`receive`, `receive-jaeger-agent` and `dev` stopped by SIGTERM or SIGINT sent to their pid alone (as `kill` does,
and as a shell's background job inherits SIGINT ignored): exit 143 / 130, what was acknowledged is in the database,
no child left, the port free."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.test_study_signals import _alive, _descendants

SIGNALS = pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """The command in its own process, SIGINT ignored as a non-interactive shell's `cmd &` leaves it; returns it
    once it says it is ready, with what it printed until then."""
    command = [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
               "sys.argv[0] = 'temporal-lens'; from temporal_lens.cli import main; main()", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    assert process.stdout is not None
    printed = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"exited with {process.wait()} before it was ready:\n{printed}")
        printed += line
        if "Ctrl-C stops it" in line:
            return process, printed
    process.kill()
    pytest.fail(f"not ready in time:\n{printed}")


def _spans(count: int) -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for n in range(count):
        provider.get_tracer("t").start_span(f"step {n}").end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@SIGNALS
def test_receive_stops_on_a_signal_with_every_acknowledged_span_committed(tmp_path: Path, signum) -> None:
    db = tmp_path / "lens.duckdb"
    receiver, printed = _start(tmp_path, "receive", "--db", str(db), "--grpc", "127.0.0.1:0", "--http", "off")
    endpoint = re.search(r"OTLP/gRPC receiver at (\S+)", printed).group(1)  # type: ignore[union-attr]
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True)
    assert exporter.export(_spans(7)) == SpanExportResult.SUCCESS
    exporter.shutdown()
    receiver.send_signal(signum)
    rest, _ = receiver.communicate(timeout=60)
    assert receiver.returncode == 128 + signum, printed + rest
    assert f"the receivers stopped by {signum.name}" in rest and "stored 7 spans" in rest
    assert _port_free(int(endpoint.rpartition(":")[2]))
    with duckdb.connect(str(db), read_only=True) as conn:  # no lock left: the database was closed
        assert conn.execute("SELECT count(*) FROM spans").fetchall()[0][0] == 7


@SIGNALS
def test_the_jaeger_agent_receiver_stops_on_a_signal(tmp_path: Path, signum) -> None:
    pytest.importorskip("jaeger_client", reason="the agent receiver decodes with jaeger-client's Thrift types")
    db = tmp_path / "lens.duckdb"
    receiver, printed = _start(tmp_path, "receive-jaeger-agent", "--db", str(db), "--udp", "127.0.0.1:0")
    receiver.send_signal(signum)
    rest, _ = receiver.communicate(timeout=60)
    assert receiver.returncode == 128 + signum, printed + rest
    assert f"stopped by {signum.name}" in rest
    duckdb.connect(str(db), read_only=True).close()


@pytest.mark.server
@SIGNALS
def test_dev_stops_its_server_on_a_signal(tmp_path: Path, signum) -> None:
    dev, printed = _start(tmp_path, "dev", "--workdir", str(tmp_path / "dev"))
    port = int(re.search(r"dev server at 127\.0\.0\.1:(\d+)", printed).group(1))  # type: ignore[union-attr]
    children = _descendants(dev.pid)
    assert children, "the dev server runs as a child"
    dev.send_signal(signum)
    rest, _ = dev.communicate(timeout=60)
    assert dev.returncode == 128 + signum, printed + rest
    assert f"the dev server stopped by {signum.name}" in rest
    assert not {pid for pid in children if _alive(pid)}
    assert _port_free(port)
