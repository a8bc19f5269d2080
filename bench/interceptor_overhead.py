"""Worker CPU per workflow with no interceptor, the contrib TracingInterceptor, and LensInterceptor.

The same workload (workflows of three activities) runs against one dev server. In each round every mode runs at
the same time, each in its own worker process on its own task queue with the same load, so the machine's noise
(other work, CPU frequency, a neighbour's cache) falls on all modes alike; the ratios are taken per round and their
median reported. Each worker exports spans over OTLP/gRPC to a real receiver; its CPU time is read from the process
itself, from ready to drained, so start-up imports do not count.

    python bench/interceptor_overhead.py [--workflows 200] [--rounds 5]
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
from datetime import timedelta
from pathlib import Path

MODES = ("none", "contrib", "lens", "lens-spans")
"""lens: spans and lifecycle log records, with the workflow runner LensPlugin installs (`lens_runner`: workflow-side
telemetry handed over once its task completed); lens-spans: the same with `log_lifecycle=False`."""
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

    from temporal_lens.interceptors import LensInterceptor, configure_telemetry, lens_runner, with_passthrough

    provider: TracerProvider | None = None
    if mode.startswith("lens"):
        telemetry = configure_telemetry(service_name="bench", otlp_endpoint=endpoint, log_path=log_path)
        provider = telemetry.tracer_provider
    elif mode == "contrib":
        provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    interceptors: list = []
    runner = with_passthrough(None)
    if mode == "contrib" and provider is not None:
        # Workflows here start without a client span; without this flag contrib would emit no workflow spans.
        interceptors = [TracingInterceptor(provider.get_tracer("contrib"), always_create_workflow_spans=True)]
    elif mode.startswith("lens"):
        interceptors = [LensInterceptor(tracer_provider=provider, log_lifecycle=mode == "lens")]
        runner = lens_runner(None)

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        client = await Client.connect(address)
        async with Worker(client, task_queue=queue, workflows=[BenchWorkflow], activities=[step],
                          interceptors=interceptors, workflow_runner=runner):
            start = time.process_time()
            print("ready", flush=True)
            await stop.wait()
        if provider is not None:
            provider.force_flush()
        print(json.dumps({"cpu": time.process_time() - start}), flush=True)
        if provider is not None:  # close the exporter's channel: gRPC threads alive at exit can crash finalization
            provider.shutdown()

    asyncio.run(serve())


async def drive(address: str, queue: str, count: int) -> float:
    from temporalio.client import Client

    client = await Client.connect(address)
    limit = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with limit:
            # A loaded machine can starve the dev server past the default RPC timeout: wait, the CPU is what counts.
            await client.execute_workflow("BenchWorkflow", i, id=f"{queue}-{i}", task_queue=queue,
                                          rpc_timeout=timedelta(minutes=5))

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started


def run_round(address: str, endpoint: str, workdir: Path, count: int, round_no: int) -> dict[str, float]:
    """All modes at once, each its own worker process and task queue, driven with the same load at the same time:
    whatever the machine does meanwhile (other work, frequency, cache), every mode lives through it alike.
    Returns worker CPU ms per workflow per mode."""
    order = MODES[round_no % len(MODES):] + MODES[:round_no % len(MODES)]  # rotate who starts first
    processes = {}
    for mode in order:
        queue = f"bench-{mode}-{round_no}-{os.getpid()}"
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker", mode, address, queue, endpoint, str(workdir / f"{queue}.jsonl")],
            stdout=subprocess.PIPE,
            text=True,
        )
        processes[mode] = (process, queue)
    for process, _ in processes.values():
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"

    async def drive_all() -> None:
        await asyncio.gather(*(drive(address, queue, count) for _, queue in processes.values()))

    asyncio.run(drive_all())
    cpu = {}
    for process, _ in processes.values():
        process.send_signal(signal.SIGTERM)
    for mode, (process, _) in processes.items():
        out, _ = process.communicate(timeout=120)
        cpu[mode] = json.loads(out.strip().splitlines()[-1])["cpu"] / count * 1000
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=200, help="workflows per mode per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from temporal_lens.collectors import BatchWriter, OtlpReceiver, open_database
    from temporal_lens.stack import DevServer

    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        conn = open_database(workdir / "bench.duckdb")
        with DevServer(workdir, headless=True) as server, OtlpReceiver(BatchWriter(conn)) as receiver:
            for round_no in range(args.rounds):
                started = time.perf_counter()
                cpu = run_round(server.address, receiver.endpoint, workdir, args.workflows, round_no)
                rounds.append(cpu)
                print(f"round {round_no} ({time.perf_counter() - started:.0f} s): "
                      + ", ".join(f"{mode} {cpu[mode]:.2f}" for mode in MODES) + " ms CPU/workflow", flush=True)
            spans = receiver.spans_stored
        conn.close()

    def ratios(mode: str, base: str) -> list[float]:
        return sorted(r[mode] / r[base] for r in rounds)

    print()
    print(f"workload: {args.workflows} workflows x 3 activities per mode per round, {args.rounds} rounds, all modes "
          f"running at once in each round; {os.cpu_count()} cores; spans received: {spans}")
    print(f"{'mode':10s}{'median worker CPU ms/workflow':>32s}{'vs none (median of rounds)':>30s}{'range':>16s}")
    for mode in MODES:
        r = ratios(mode, "none")
        median_cpu = statistics.median(x[mode] for x in rounds)
        print(f"{mode:10s}{median_cpu:>32.2f}{statistics.median(r):>30.3f}{f'{r[0]:.3f}-{r[-1]:.3f}':>16s}")
    for mode in ("lens", "lens-spans"):
        r = ratios(mode, "contrib")
        print(f"{mode} vs contrib: {statistics.median(r):.3f} (range {r[0]:.3f}-{r[-1]:.3f})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(*sys.argv[2:7])
    else:
        main()
