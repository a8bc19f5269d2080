"""The collectors' table shapes and the spans `links` column, filled by every span source."""

from __future__ import annotations

import asyncio
import json
import uuid
from importlib.resources import files
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_lens.collectors import (
    TABLES,
    BatchWriter,
    OtlpReceiver,
    collect_histories,
    export_jaeger,
    export_parquet,
    jaeger_spans_table,
    load_jaeger_file,
    open_database,
    synthesize_history_spans,
)
from temporal_lens.ids import history_span_id, workflow_trace_id
from temporal_lens.interceptors import LensInterceptor, with_passthrough
from tests.interceptor_app.workflows import (
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    InteractiveWorkflow,
    LoopWorkflow,
    ParentWorkflow,
)

_ARROW_TO_DUCKDB = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
}


def _links(conn: duckdb.DuckDBPyConnection, name: str) -> list[dict]:
    [(links,)] = conn.execute("SELECT links FROM spans WHERE name = ?", [name]).fetchall()
    return json.loads(links)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_matches_its_arrow_shape(tmp_path: Path, table: str) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    described = [(name, kind) for name, kind, *_ in conn.execute(f"DESCRIBE {table}").fetchall()]
    shape = TABLES[table]
    expected = [
        (field.name, "JSON" if field.name in shape.json_columns else _ARROW_TO_DUCKDB[field.type])
        for field in shape.schema
    ]
    assert described == expected


def test_an_older_database_gains_the_links_column(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    ddl = files("temporal_lens.collectors").joinpath("schema.sql").read_text(encoding="utf-8")
    old_ddl = "\n".join(line for line in ddl.splitlines() if not line.strip().startswith("links "))
    assert old_ddl != ddl
    with duckdb.connect(str(path)) as old:
        old.execute(old_ddl)
        old.execute("INSERT INTO spans (trace_id, span_id, name, source) VALUES ('a', 'b', 'before', 'otlp')")
        assert "links" not in [row[0] for row in old.execute("DESCRIBE spans").fetchall()]

    conn = open_database(path)
    assert _links(conn, "before") == []
    conn.close()
    assert _links(open_database(path), "before") == []  # opening again changes nothing


def test_an_older_database_gains_the_materialized_columns_filled_from_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    ddl = files("temporal_lens.collectors").joinpath("schema.sql").read_text(encoding="utf-8")
    old_ddl = "\n".join(line for line in ddl.splitlines()
                        if not line.strip().startswith(("activity_type ", "outcome ")))
    with duckdb.connect(str(path)) as old:
        old.execute(old_ddl)
        old.execute("""INSERT INTO spans (trace_id, span_id, name, source, attributes) VALUES
            ('t', '1', 'RunActivity:ship', 'otlp', '{"temporal.activity_type": "ship", "temporal.outcome": "failed"}'),
            ('t', '2', 'StartActivity:charge', 'otlp', '{}'),
            ('t', '3', 'RunWorkflow:Order', 'otlp', '{}')""")
        old.execute("""INSERT INTO logs (event, source_file, line_no, attributes) VALUES
            ('activity failed', 'f', 1, '{"temporal.activity_type": "ship"}'), ('other', 'f', 2, '{}')""")

    conn = open_database(path)
    assert conn.execute("SELECT span_id, activity_type, outcome FROM spans ORDER BY 1").fetchall() == [
        ("1", "ship", "failed"), ("2", "charge", None), ("3", None, None)]
    assert conn.execute("SELECT line_no, activity_type FROM logs ORDER BY 1").fetchall() == [(1, "ship"), (2, None)]
    conn.execute("UPDATE spans SET outcome = 'kept' WHERE span_id = '1'")
    conn.close()
    reopened = open_database(path)  # a column already there is not filled again
    assert reopened.execute("SELECT outcome FROM spans WHERE span_id = '1'").fetchall() == [("kept",)]


def test_span_and_log_rows_copy_the_activity_type_and_outcome_into_columns() -> None:
    from temporal_lens.collectors.log_rows import log_row
    from temporal_lens.collectors.span_rows import span_row

    def span(name: str, attributes: dict) -> dict:
        return span_row(trace_id="t", span_id="s", parent_span_id=None, name=name, kind=None, service_name=None,
                        start_nanos=None, end_nanos=None, status_code=None, status_message=None,
                        attributes=attributes, events=[], links=[], resource={}, source="otlp")

    ours = span("RunActivity:ship", {"temporal.activity_type": "ship", "temporal.outcome": "timed_out"})
    assert (ours["activity_type"], ours["outcome"]) == ("ship", "timed_out")
    assert json.loads(ours["attributes"])["temporal.activity_type"] == "ship"  # copied, not moved
    contrib = span("RunActivity:charge", {"temporalWorkflowID": "w"})  # the contrib interceptor's attributes
    assert (contrib["activity_type"], contrib["outcome"]) == ("charge", None)
    assert span("RunActivity:", {})["activity_type"] is None
    assert span("RunWorkflow:Order", {})["activity_type"] is None
    record = log_row(time=None, level="info", event="activity failed", service_name="s", trace_id=None,
                     span_id=None, attributes={"temporal.activity_type": "ship"}, source_file="f", line_no=1)
    assert record["activity_type"] == "ship" and json.loads(record["attributes"]) == {"temporal.activity_type": "ship"}


def test_otlp_span_links_are_stored_through_the_receiver(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    with OtlpReceiver(BatchWriter(conn)) as receiver:
        provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True)))
        tracer = provider.get_tracer("test")
        try:
            with tracer.start_as_current_span("cause") as cause:
                pass
            with tracer.start_as_current_span("plain"):
                pass
            caused = cause.get_span_context()
            with tracer.start_as_current_span("effect", links=[trace.Link(caused, {"why": "retry", "n": 2})]):
                pass
            assert provider.force_flush()
        finally:
            provider.shutdown()

    assert _links(conn, "effect") == [
        {"trace_id": format(caused.trace_id, "032x"), "span_id": format(caused.span_id, "016x"),
         "attributes": {"why": "retry", "n": 2}}
    ]
    assert _links(conn, "plain") == []


_TRACE = "0af7651916cd43dd8448eb211c80319c"
_OTHER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _jaeger_document() -> dict:
    span = {
        "traceID": _TRACE,
        "spanID": "b7ad6b7169203331",
        "operationName": "HandleSignal:approve",
        "references": [
            {"refType": "CHILD_OF", "traceID": _TRACE, "spanID": "00f067aa0ba902b7"},
            {"refType": "FOLLOWS_FROM", "traceID": _OTHER_TRACE, "spanID": "53995c3f42cd8ad8"},
            {"refType": "CHILD_OF", "traceID": _OTHER_TRACE, "spanID": "a2fb4a1d1a96d312"},
        ],
        "startTime": 1_700_000_000_000_000,
        "duration": 1500,
        "tags": [{"key": "temporal.attempt", "type": "float64", "value": 1.5}],
        "processID": "p1",
    }
    parent = {"traceID": _TRACE, "spanID": "00f067aa0ba902b7", "operationName": "RunWorkflow:Order",
              "references": [], "startTime": 1_700_000_000_000_000, "duration": 9000, "processID": "p1"}
    return {"data": [{"traceID": _TRACE, "spans": [span, parent], "processes": {"p1": {"serviceName": "orders"}}}]}


def test_jaeger_references_other_than_the_parent_are_links(tmp_path: Path) -> None:
    rows = {row["name"]: row for row in jaeger_spans_table(_jaeger_document()).to_pylist()}
    handler = rows["HandleSignal:approve"]
    assert handler["parent_span_id"] == "00f067aa0ba902b7"
    assert json.loads(handler["links"]) == [
        {"trace_id": _OTHER_TRACE, "span_id": "53995c3f42cd8ad8", "attributes": {}},
        {"trace_id": _OTHER_TRACE, "span_id": "a2fb4a1d1a96d312", "attributes": {}},
    ]
    assert json.loads(rows["RunWorkflow:Order"]["links"]) == []
    # an attempt that is not a whole number joins nothing, from Jaeger as from OTLP; the tag keeps the value
    assert handler["attempt"] is None
    assert json.loads(handler["attributes"])["temporal.attempt"] == 1.5


def test_jaeger_export_then_import_keeps_links(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(_jaeger_document()))
    source = open_database(tmp_path / "source.duckdb")
    load_jaeger_file(BatchWriter(source), path)

    [exported] = export_jaeger(source, tmp_path / "out")
    [span] = [s for s in json.loads(exported.read_text())["data"][0]["spans"] if s["operationName"].startswith("H")]
    assert [ref["refType"] for ref in span["references"]] == ["CHILD_OF", "FOLLOWS_FROM", "FOLLOWS_FROM"]
    loaded = open_database(tmp_path / "loaded.duckdb")
    load_jaeger_file(BatchWriter(loaded), exported)

    query = "SELECT name, parent_span_id, links FROM spans ORDER BY name"
    assert loaded.execute(query).fetchall() == source.execute(query).fetchall()
    assert len(_links(loaded, "HandleSignal:approve")) == 2

    export_parquet(loaded, tmp_path / "parquet", tables=["spans"])
    parquet = str(tmp_path / "parquet" / "table=spans" / "**" / "*.parquet")
    stored = duckdb.sql(f"SELECT name, links FROM read_parquet('{parquet}') ORDER BY name").fetchall()
    assert [(name, json.loads(links)) for name, links in stored] == [
        (name, json.loads(links)) for name, _, links in loaded.execute(query).fetchall()
    ]


async def test_signal_and_update_handler_spans_land_with_their_caller_link(dev_server, task_queue, tmp_path) -> None:
    conn = open_database(tmp_path / "lens.duckdb")
    with OtlpReceiver(BatchWriter(conn)) as receiver:
        provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True)))
        try:
            client = await Client.connect(
                dev_server.address, namespace=dev_server.namespace,
                interceptors=[LensInterceptor(tracer_provider=provider)],
            )
            async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES,
                              workflow_runner=with_passthrough(None)):
                handle = await client.start_workflow(
                    InteractiveWorkflow.run, id=f"links-{uuid.uuid4()}", task_queue=task_queue
                )
                await handle.execute_update(InteractiveWorkflow.set_note, "n")
                await handle.signal(InteractiveWorkflow.approve)
                assert await handle.result() == "n"
            assert provider.force_flush()
        finally:
            provider.shutdown()

    callers = {
        name: {"trace_id": trace_id, "span_id": span_id, "attributes": {}}
        for name, trace_id, span_id in conn.execute(
            "SELECT name, trace_id, span_id FROM spans WHERE workflow_id = ? AND name IN"
            " ('SignalWorkflow:approve', 'StartWorkflowUpdate:set_note')", [handle.id]
        ).fetchall()
    }
    assert len(callers) == 2
    assert _links(conn, "HandleSignal:approve") == [callers["SignalWorkflow:approve"]]
    assert _links(conn, "HandleUpdate:set_note") == [callers["StartWorkflowUpdate:set_note"]]


async def _finished(client: Client, task_queue: str, count: int) -> None:
    for _ in range(100):
        listed = [e async for e in client.list_workflows(f'TaskQueue = "{task_queue}"')]
        if len(listed) >= count and all(e.close_time is not None for e in listed):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("visibility did not list the finished workflows in time")


async def test_history_spans_link_a_child_and_a_continued_run_to_their_origin(client, task_queue, tmp_path) -> None:
    parent_id, loop_id = f"parent-{uuid.uuid4()}", f"loop-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES):
        parent = await client.start_workflow(ParentWorkflow.run, id=parent_id, task_queue=task_queue)
        await parent.result()
        loop = await client.start_workflow(LoopWorkflow.run, 1, id=loop_id, task_queue=task_queue)
        await loop.result()
    await _finished(client, task_queue, count=4)  # parent, child, and the loop's two runs
    conn = open_database(tmp_path / "lens.duckdb")
    await collect_histories(client, BatchWriter(conn), query=f'TaskQueue = "{task_queue}"')
    synthesize_history_spans(conn)

    def root(workflow_id: str, run_id: str | None = None) -> tuple[str, str, list[dict]]:
        condition = "workflow_id = ? AND parent_span_id IS NULL AND source = 'history'"
        params = [workflow_id]
        if run_id is not None:
            condition, params = condition + " AND run_id = ?", [*params, run_id]
        [(run, span_id, links)] = conn.execute(f"SELECT run_id, span_id, links FROM spans WHERE {condition}",
                                                params).fetchall()
        return run, span_id, json.loads(links)

    parent_run = parent.result_run_id
    [(child_span_id, child_trace)] = conn.execute(
        "SELECT span_id, trace_id FROM spans WHERE run_id = ? AND name LIKE 'ChildWorkflow:%'", [parent_run]
    ).fetchall()
    *_, child_links = root(f"{parent_id}-child")
    assert child_links == [{"trace_id": child_trace, "span_id": child_span_id, "attributes": {}}]
    assert root(parent_id)[2] == []

    first_run = loop.first_execution_run_id
    _, first_root, first_links = root(loop_id, first_run)
    [(next_run,)] = conn.execute(
        "SELECT run_id FROM workflows WHERE workflow_id = ? AND run_id <> ?", [loop_id, first_run]
    ).fetchall()
    _, _, continued_links = root(loop_id, next_run)
    assert first_links == []
    assert continued_links == [{"trace_id": format(workflow_trace_id(loop_id, first_run), "032x"),
                                "span_id": first_root, "attributes": {}}]
    assert first_root == format(history_span_id(first_run, 1), "016x")
