"""No open door: a receiver beyond loopback needs a token, and only exporters sending it get anything stored."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from rich.console import Console
from typer.testing import CliRunner

from temporal_lens.cli import app
from temporal_lens.collectors import (
    BatchWriter,
    JaegerAgentReceiver,
    OpenListenerError,
    OtlpHttpReceiver,
    OtlpReceiver,
    is_loopback,
    open_database,
)
from temporal_lens.study import TOKEN_FILE, ExternalStack, _receiver_token

TOKEN = "s3cret-t0ken"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = open_database(tmp_path / "lens.duckdb")
    yield conn
    conn.close()


def _spans(count: int = 3) -> list:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for n in range(count):
        provider.get_tracer("t").start_span(f"step {n}").end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def _stored(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.cursor().execute("SELECT count(*) FROM spans").fetchall()[0][0]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.internal"])
def test_a_receiver_beyond_loopback_without_a_token_is_refused(conn, host: str) -> None:
    for receiver in (OtlpReceiver, OtlpHttpReceiver):
        with pytest.raises(OpenListenerError, match=r"--token .* --insecure"):
            receiver(BatchWriter(conn), host=host)
    with pytest.raises(OpenListenerError, match="agent protocol has no token"):
        JaegerAgentReceiver(BatchWriter(conn), host=host)
    assert not is_loopback(host)
    # with a token, or said to be insecure on purpose, it may be built (not started: the address may not exist)
    OtlpReceiver(BatchWriter(conn), host=host, token=TOKEN)
    OtlpHttpReceiver(BatchWriter(conn), host=host, insecure=True)
    JaegerAgentReceiver(BatchWriter(conn), host=host, insecure=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)


def test_the_receive_command_refuses_an_open_address_and_names_both_ways_on(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    refused = CliRunner().invoke(app, ["receive", "--db", str(db), "--grpc", "0.0.0.0:0", "--http", "off"])
    assert refused.exit_code == 2, refused.stdout + refused.stderr
    assert "--token" in refused.stderr and "--insecure" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    refused = CliRunner().invoke(app, ["receive-jaeger-agent", "--db", str(db), "--udp", "0.0.0.0:0"])
    assert refused.exit_code == 2 and "--insecure" in refused.stderr


def test_an_sdk_exporter_with_the_collectors_header_is_stored_and_others_are_not(conn) -> None:
    # the header exactly as deploy/otel-collector.yaml sends it: `authorization: Bearer <token>`
    with OtlpReceiver(BatchWriter(conn), host="127.0.0.1", token=TOKEN) as receiver:
        for headers in (None, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True, headers=headers, timeout=5)
            assert exporter.export(_spans()) == SpanExportResult.FAILURE  # UNAUTHENTICATED is not retried
            exporter.shutdown()
        assert _stored(conn) == 0
        exporter = OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True,
                                    headers={"authorization": f"Bearer {TOKEN}"})
        assert exporter.export(_spans()) == SpanExportResult.SUCCESS
        exporter.shutdown()
    assert _stored(conn) == 3


def test_study_external_makes_a_token_per_run_kept_only_in_an_owner_readable_file(tmp_path: Path) -> None:
    printed = io.StringIO()
    console = Console(file=printed, width=200)
    first = _receiver_token(ExternalStack(receive_grpc="127.0.0.1:0"), tmp_path, console)
    token_file = tmp_path / TOKEN_FILE
    assert first and token_file.read_text().strip() == first
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert first not in printed.getvalue() and str(token_file) in printed.getvalue()
    (tmp_path / "second").mkdir()
    second = _receiver_token(ExternalStack(receive_grpc="127.0.0.1:0"), tmp_path / "second", console)
    assert second != first
    # a token the user gave (TEMPORAL_LENS_OTLP_TOKEN) is used as is and written nowhere
    (tmp_path / "given").mkdir()
    given = ExternalStack(receive_grpc="127.0.0.1:0", token=TOKEN)
    assert _receiver_token(given, tmp_path / "given", console) == TOKEN
    assert not (tmp_path / "given" / TOKEN_FILE).exists()
    assert TOKEN not in repr(given)
    assert _receiver_token(None, tmp_path, console) is None
