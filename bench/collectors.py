"""Collector benchmarks, each measured side by side in one run; prints a table.

    python bench/collectors.py [--quick]

1. history ingest from JSON files (load_history_files, DuckDB's fast path) vs a naive row-by-row INSERT of the same
   rows, and the protobuf path it replaced (WorkflowHistory.from_json + flatten_history, batched) for comparison;
2. live history fetch from a dev server, concurrency 16 vs sequential: straight to it, and through a forwarding
   proxy adding 5 ms of round trip (bench/_latency_proxy.py), as a cluster in another zone would;
3. OTLP/gRPC receiver: sustained spans/s from 4 client threads, sent vs stored;
4. peak RSS of a subprocess streaming a 1M-record JSONL file vs a 100k-record one.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import grpc
from _support import Steps, report, rows, step
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from temporal_lens.collectors import (
    BatchWriter,
    OtlpReceiver,
    collect_histories,
    flatten_history,
    load_history_files,
    open_database,
    read_history_json,
)
from temporal_lens.collectors.history_writer import HistoryRun, write_runs
from temporal_lens.stack import DevServer, free_port

QUICK = "--quick" in sys.argv


async def record_and_start(server: DevServer, workflows: int) -> tuple[str, str]:
    """Run `workflows` small workflows; return (one recorded history JSON, the task queue)."""
    client = await Client.connect(server.address)
    queue = f"bench-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Steps],
        activities=[step],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activities=50,
    ):
        handles = [
            await client.start_workflow(Steps.run, 3, id=f"small-{n}-{queue}", task_queue=queue)
            for n in range(workflows)
        ]
        await asyncio.gather(*(h.result() for h in handles))
        recorded = (await handles[0].fetch_history()).to_json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (
            await client.count_workflows(f'TaskQueue = "{queue}" AND ExecutionStatus = "Completed"')
        ).count == workflows:
            break
        await asyncio.sleep(0.3)
    return recorded, queue


def bench_history_ingest(recorded: str, folder: Path) -> None:
    template = read_history_json_text(recorded, folder)
    history = json.loads(template)
    wid = history["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    rid = history["events"][0]["workflowExecutionStartedEventAttributes"]["originalExecutionRunId"]
    per_file = len(history["events"])
    files = 1000 if QUICK else 5000
    out = folder / "histories"
    out.mkdir()
    for n in range(files):
        fresh = template.replace(wid, f"bench-{n}").replace(rid, str(uuid.uuid4()))
        (out / f"h{n:05}.json").write_text(fresh)
    conn = open_database(folder / "ingest.duckdb")
    started = time.perf_counter()
    result = load_history_files(BatchWriter(conn), [out])  # default batches: 1000 files, at most 64 MiB
    elapsed = time.perf_counter() - started
    assert result.events == files * per_file and not result.errors, result
    fast = result.events / elapsed
    report("history JSON ingest", f"{fast:,.0f} events/s", f"({files} files x {per_file} events, {elapsed:.1f} s)")

    # Baseline: the same rows (parsed and flattened the same way) inserted one INSERT per row.
    sample = sorted(out.iterdir())[: max(20, files // 50)]
    base = open_database(folder / "naive.duckdb")
    started = time.perf_counter()
    count = 0
    for path in sample:
        table = flatten_history(read_history_json(path), namespace="default")
        names = table.column_names
        sql = f"INSERT INTO history_events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        for row in table.to_pylist():
            base.execute(sql, [row[name] for name in names])
            count += 1
    naive = count / (time.perf_counter() - started)
    report("  naive row-by-row INSERT", f"{naive:,.0f} events/s", f"({count} events) -> ratio {fast / naive:,.1f}x")

    # The path load_history_files took before the fast one: protobuf parse + Python flattening, batched writes.
    sample = sorted(out.iterdir())[: max(100, files // 5)]
    old = open_database(folder / "protobuf.duckdb")
    started = time.perf_counter()
    old_events = _load_protobuf_way(BatchWriter(old), sample, runs_per_batch=500)
    protobuf = old_events / (time.perf_counter() - started)
    report(
        "  protobuf path (before)",
        f"{protobuf:,.0f} events/s",
        f"({old_events} events) -> fast path {fast / protobuf:,.1f}x",
    )
    conn.close()
    base.close()
    old.close()


def _load_protobuf_way(writer: BatchWriter, paths: list[Path], runs_per_batch: int) -> int:
    events = 0
    pending: list[HistoryRun] = []
    for path in paths:
        history = read_history_json(path)
        pending.append(HistoryRun(history.workflow_id, history.run_id, history))
        if len(pending) >= runs_per_batch:
            events += write_runs(writer, "default", pending)
            pending = []
    if pending:
        events += write_runs(writer, "default", pending)
    return events


def read_history_json_text(recorded: str, folder: Path) -> str:
    path = folder / "recorded.json"
    path.write_text(recorded)
    read_history_json(path)  # it is a history we can read
    return recorded


async def bench_live_fetch(server: DevServer, queue: str, folder: Path) -> None:
    """Sequential vs concurrent fetch, straight to the local dev server and through a proxy adding 5 ms of round
    trip (2.5 ms each way), as a cluster in another zone would: concurrency exists to hide that wait."""
    await _live_fetch(server.address, queue, folder, "local")
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_latency_proxy.py")), str(port), server.address, "2.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
        await _live_fetch(f"127.0.0.1:{port}", queue, folder, "5 ms RTT")
    finally:
        proxy.kill()
        proxy.wait()


async def _live_fetch(address: str, queue: str, folder: Path, label: str) -> None:
    client = await Client.connect(address)
    timings = {}
    for concurrency in (1, 16):
        conn = open_database(folder / f"live-{label}-{concurrency}.duckdb".replace(" ", "-"))
        started = time.perf_counter()
        result = await collect_histories(
            client, BatchWriter(conn), query=f'TaskQueue = "{queue}"', concurrency=concurrency, full=True
        )
        timings[concurrency] = (time.perf_counter() - started, result)
        conn.close()
    (seq, seq_result), (par, par_result) = timings[1], timings[16]
    assert seq_result == par_result
    report(f"live fetch ({label}), sequential", f"{seq_result.runs / seq:,.0f} runs/s",
           f"({seq_result.runs} runs, {seq:.2f} s)")
    report(
        f"live fetch ({label}), concurrency 16",
        f"{par_result.runs / par:,.0f} runs/s",
        f"({par:.2f} s) -> ratio {seq / par:.1f}x",
    )


def bench_receiver(folder: Path) -> None:
    conn = open_database(folder / "spans.duckdb")
    batches, per_batch, senders = (40, 500, 4) if QUICK else (200, 500, 4)

    def request(sender: int, batch: int) -> ExportTraceServiceRequest:
        spans = []
        for i in range(per_batch):
            n = (sender * batches + batch) * per_batch + i
            spans.append(
                Span(
                    trace_id=(n // 10 + 1).to_bytes(16, "big"),
                    span_id=(n + 1).to_bytes(8, "big"),
                    name="RunActivity:x",
                    start_time_unix_nano=1_700_000_000_000_000_000 + n,
                    end_time_unix_nano=1_700_000_000_000_100_000 + n,
                    attributes=[KeyValue(key="temporal.workflow_id", value=AnyValue(string_value=f"wf-{n // 10}"))],
                )
            )
        return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])

    with OtlpReceiver(BatchWriter(conn)) as receiver:
        prepared = [[request(s, b) for b in range(batches)] for s in range(senders)]

        def send(requests: list[ExportTraceServiceRequest]) -> None:
            with grpc.insecure_channel(receiver.endpoint) as channel:
                stub = TraceServiceStub(channel)
                for r in requests:
                    stub.Export(r, timeout=60)

        threads = [threading.Thread(target=send, args=(p,)) for p in prepared]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    sent = batches * per_batch * senders
    stored = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    conn.close()
    report(
        "OTLP/gRPC receiver",
        f"{sent / elapsed:,.0f} spans/s",
        f"(sent {sent}, stored {stored}, lost {sent - stored}, {elapsed:.1f} s)",
    )


_LOADER = """
import resource, sys
from temporal_lens.collectors import BatchWriter, load_log_file, open_database
result = load_log_file(BatchWriter(open_database(sys.argv[1])), sys.argv[2])
print(result.loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(folder: Path) -> None:
    line = (
        json.dumps(
            {
                "event": "step",
                "level": "info",
                "timestamp": "2025-03-01T12:00:00+00:00",
                "temporal.workflow_id": "order-1",
                "n": 0,
            }
        )
        + "\n"
    )
    results = {}
    for records in (100_000, 1_000_000):
        path = folder / f"logs-{records}.jsonl"
        with path.open("w") as out:
            for _ in range(records // 1000):
                out.write(line * 1000)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _LOADER, str(folder / f"mem-{records}.duckdb"), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        loaded, maxrss_kb = map(int, done.stdout.split())
        assert loaded == records
        results[records] = (maxrss_kb / 1024, time.perf_counter() - started)
    (small, t_small), (large, t_large) = results[100_000], results[1_000_000]
    report("peak RSS loading 100k log records", f"{small:,.0f} MB", f"({100_000 / t_small:,.0f} records/s)")
    report(
        "peak RSS loading 1M log records",
        f"{large:,.0f} MB",
        f"({1_000_000 / t_large:,.0f} records/s) -> ratio {large / small:.2f}x",
    )


def main() -> None:
    started = time.perf_counter()
    workflows = 60 if QUICK else 200
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with DevServer(folder / "temporal", headless=True) as server:
            print(f"starting {workflows} workflows on a dev server ...", flush=True)
            recorded, queue = asyncio.run(record_and_start(server, workflows))
            asyncio.run(bench_live_fetch(server, queue, folder))
        bench_history_ingest(recorded, folder)
        bench_receiver(folder)
        bench_memory(folder)
    width = max(len(name) for name, _, _ in rows)
    print("\n" + "benchmark".ljust(width) + " | result")
    print("-" * (width + 40))
    for name, value, note in rows:
        print(f"{name.ljust(width)} | {value} {note}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntotal {time.perf_counter() - started:.0f} s; this process peaked at {own:,.0f} MB")


if __name__ == "__main__":
    main()
