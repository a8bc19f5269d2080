"""Worker CPU per workflow with no interceptor, the contrib TracingInterceptor, and LensInterceptor.

The same workload (workflows of three activities) runs against one dev server, rounds alternating the three modes
so machine noise spreads evenly. Each worker is its own process exporting spans over OTLP/gRPC to a real receiver;
its CPU time is read from the process itself, from ready to drained, so start-up imports do not count.

    python bench/interceptor_overhead.py [--workflows 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("none", "contrib", "lens", "lens-spans")
"""lens: spans and lifecycle log records; lens-spans: the same interceptor with `log_lifecycle=False`."""
HERE = Path(__file__).resolve().parent


def worker_main(mode: str, address: str, queue: str, endpoint: str, log_path: str) -> None:
    """Run in a subprocess: a worker in `mode`; prints CPU seconds used between ready and SIGTERM."""
    sys.path.insert(0, str(HERE))
    from _overhead_workload import BenchWorkflow, step
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import TracingInterceptor
    from temporalio.worker import Worker

    from temporal_lens.interceptors import LensInterceptor, configure_telemetry, with_passthrough

    provider: TracerProvider | None = None
    if mode.startswith("lens"):
        telemetry = configure_telemetry(service_name="bench", otlp_endpoint=endpoint, log_path=log_path)
        provider = telemetry.tracer_provider
    elif mode == "contrib":
        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    interceptors: list = []
    if mode == "contrib" and provider is not None:
        # Workflows here start without a client span; without this flag contrib would emit no workflow spans.
        interceptors = [TracingInterceptor(provider.get_tracer("contrib"), always_create_workflow_spans=True)]
    elif mode.startswith("lens"):
        interceptors = [LensInterceptor(tracer_provider=provider, log_lifecycle=mode == "lens")]

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        client = await Client.connect(address)
        async with Worker(client, task_queue=queue, workflows=[BenchWorkflow], activities=[step],
                          interceptors=interceptors, workflow_runner=with_passthrough(None)):
            start = time.process_time()
            print("ready", flush=True)
            await stop.wait()
        if provider is not None:
            provider.force_flush()
        print(json.dumps({"cpu": time.process_time() - start}), flush=True)

    asyncio.run(serve())


async def drive(address: str, queue: str, count: int) -> float:
    from temporalio.client import Client

    client = await Client.connect(address)
    limit = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with limit:
            await client.execute_workflow("BenchWorkflow", i, id=f"{queue}-{i}", task_queue=queue)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started


def run_mode(mode: str, address: str, endpoint: str, workdir: Path, count: int, round_no: int) -> dict:
    queue = f"bench-{mode}-{round_no}-{os.getpid()}"
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", mode, address, queue, endpoint, str(workdir / f"{queue}.jsonl")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    wall = asyncio.run(drive(address, queue, count))
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=120)
    cpu = json.loads(out.strip().splitlines()[-1])["cpu"]
    return {"mode": mode, "round": round_no, "cpu_ms_per_wf": cpu / count * 1000, "wf_per_s": count / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from temporal_lens.collectors import BatchWriter, OtlpReceiver, open_database
    from temporal_lens.stack import DevServer

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        conn = open_database(workdir / "bench.duckdb")
        with DevServer(workdir, headless=True) as server, OtlpReceiver(BatchWriter(conn)) as receiver:
            for round_no in range(args.rounds):
                shift = round_no % len(MODES)
                order = MODES[shift:] + MODES[:shift]  # rotate who goes first
                for mode in order:
                    result = run_mode(mode, server.address, receiver.endpoint, workdir, args.workflows, round_no)
                    results.append(result)
                    print(f"round {round_no} {mode:8s} {result['cpu_ms_per_wf']:.2f} ms CPU/workflow, "
                          f"{result['wf_per_s']:.1f} workflows/s", flush=True)
            spans = receiver.spans_stored
        conn.close()

    medians = {m: statistics.median(r["cpu_ms_per_wf"] for r in results if r["mode"] == m) for m in MODES}
    print()
    print(f"workload: {args.workflows} workflows x 3 activities, {args.rounds} rounds, "
          f"{os.cpu_count()} cores; spans received: {spans}")
    print(f"{'mode':10s}{'median worker CPU ms/workflow':>32s}{'vs none':>10s}")
    for mode in MODES:
        print(f"{mode:10s}{medians[mode]:>32.2f}{medians[mode] / medians['none']:>10.3f}")
    print(f"lens vs contrib: {medians['lens'] / medians['contrib']:.3f}; "
          f"lens-spans vs contrib: {medians['lens-spans'] / medians['contrib']:.3f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(*sys.argv[2:7])
    else:
        main()
