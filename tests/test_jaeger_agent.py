"""The Jaeger agent receiver, fed by a real jaeger-client tracer over UDP, and by garbage."""

from __future__ import annotations

import json
import logging
import socket

import pytest

pytest.importorskip("jaeger_client")

from jaeger_client import Config
from tornado.ioloop import IOLoop

from temporal_lens.collectors import BatchWriter, JaegerAgentReceiver, open_database


def span_rows(conn) -> list[dict]:
    result = conn.execute("SELECT * FROM spans ORDER BY start_time, name")
    names = [c[0] for c in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _tracer(port: int):
    """A jaeger-client tracer reporting to the agent port `port` (service `legacy-billing`, every span sampled)."""
    config = Config(
        config={
            "sampler": {"type": "const", "param": 1},
            "local_agent": {"reporting_host": "127.0.0.1", "reporting_port": port},
        },
        service_name="legacy-billing",
        validate=True,
    )
    # new_tracer is initialize_tracer without installing a process-wide global; jaeger-client runs its reporter on a
    # tornado IOLoop, here the one wrapping the test's asyncio loop.
    return config.new_tracer(io_loop=IOLoop.current())


async def test_jaeger_client_spans_are_stored(tmp_path) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    with JaegerAgentReceiver(BatchWriter(conn)) as receiver:
        tracer = _tracer(receiver.port)
        with tracer.start_active_span("invoice", tags={"temporal.workflow_id": "order-9", "amount": 4.5}) as scope:
            scope.span.log_kv({"event": "pdf rendered", "pages": 2})
            with tracer.start_active_span("charge", tags={"temporal.attempt": 2}) as child:
                child.span.set_tag("error", True)
        await tracer.close()  # flushes the reporter's queue to the UDP port
        assert receiver.wait_for_datagrams(1)

    assert (receiver.datagrams_rejected, receiver.spans_received, receiver.spans_stored) == (0, 2, 2)
    invoice, charge = span_rows(conn)
    assert (invoice["name"], invoice["service_name"], invoice["workflow_id"], invoice["source"]) == (
        "invoice", "legacy-billing", "order-9", "jaeger-agent")
    assert charge["parent_span_id"] == invoice["span_id"] and charge["trace_id"] == invoice["trace_id"]
    assert (charge["status_code"], charge["attempt"]) == ("ERROR", 2)
    assert json.loads(invoice["attributes"])["amount"] == 4.5
    assert json.loads(invoice["resource"])["jaeger.version"] == "Python-4.8.0"
    [event] = json.loads(invoice["events"])
    assert (event["name"], event["attributes"]) == ("pdf rendered", {"pages": 2})


def test_garbage_datagrams_are_counted_and_logged(tmp_path, caplog) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    caplog.set_level(logging.WARNING, logger="temporal_lens.collectors.jaeger_agent")
    with JaegerAgentReceiver(BatchWriter(conn)) as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.sendto(b"\x00not thrift at all", ("127.0.0.1", receiver.port))
        out.sendto(b"\x82\x81\x01\x09emitBatch\x1c", ("127.0.0.1", receiver.port))  # an emitBatch cut short
        assert receiver.wait_for_datagrams(2)

    assert (receiver.datagrams_received, receiver.datagrams_rejected, receiver.spans_stored) == (2, 2, 0)
    assert caplog.text.count("dropped a") == 2
    assert conn.execute("SELECT count(*) FROM spans").fetchall() == [(0,)]


async def test_agent_references_other_than_the_parent_become_links(tmp_path) -> None:
    from opentracing import follows_from

    conn = open_database(tmp_path / "lens.duckdb")
    with JaegerAgentReceiver(BatchWriter(conn)) as receiver:
        tracer = _tracer(receiver.port)
        cause = tracer.start_span("cause")
        cause.finish()
        with tracer.start_active_span("invoice") as parent:
            tracer.start_span("retry", child_of=parent.span, references=[follows_from(cause.context)]).finish()
        await tracer.close()
        assert receiver.wait_for_datagrams(1)

    rows = {row["name"]: row for row in span_rows(conn)}
    retry, cause_row = rows["retry"], rows["cause"]
    assert retry["parent_span_id"] == rows["invoice"]["span_id"]
    assert json.loads(retry["links"]) == [
        {"trace_id": cause_row["trace_id"], "span_id": cause_row["span_id"], "attributes": {}}
    ]
    assert json.loads(rows["invoice"]["links"]) == []
