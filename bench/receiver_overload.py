"""The OTLP/gRPC receiver under more load than it can write: 4 exporters, then 8, side by side; prints a table.

    python bench/receiver_overload.py [--quick] [--seconds N]

The receiver is `temporal-lens receive` as a user runs it (its own process, its own DuckDB file). Each exporter is a
process keeping several Exports in flight at once, 512 spans each, for the whole duration; a refused Export
(RESOURCE_EXHAUSTED) is sent again after the delay the receiver's RetryInfo asks for (or a 0.5 s back-off when gRPC
refused it before the receiver saw it), as OTLP exporters do. At the end the receiver is stopped with SIGTERM and the
database counted. Reported per run: spans acknowledged, spans stored (must be equal: nothing acknowledged is lost),
Exports refused and retried, and the receiver's peak RSS (VmHWM), which must stay flat as the exporters double:
requests held are bounded by the receiver's concurrency limit, not by the number of exporters.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SPANS_PER_EXPORT = 512
IN_FLIGHT_PER_EXPORTER = 4
"""Exports each exporter keeps going at once: 8 exporters hold 32, twice the receiver's limit of 16."""
FALLBACK_BACKOFF = 0.5
"""Seconds to wait after a refusal without RetryInfo (gRPC's own limit), like the SDK's first back-off."""
EXPORTER_COUNTS = (4, 8)


def _request(exporter: int, sequence: int):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    base = (exporter << 40) | (sequence * SPANS_PER_EXPORT)
    spans = [
        Span(
            trace_id=(base + i // 8 + 1).to_bytes(16, "big"),
            span_id=(base + i + 1).to_bytes(8, "big"),
            name="RunActivity:charge",
            start_time_unix_nano=1_700_000_000_000_000_000 + i,
            end_time_unix_nano=1_700_000_000_000_500_000 + i,
            attributes=[KeyValue(key="temporal.workflow_id", value=AnyValue(string_value=f"order-{base + i // 8}"))],
        )
        for i in range(SPANS_PER_EXPORT)
    ]
    service = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="orders"))])
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=service,
                                                                   scope_spans=[ScopeSpans(spans=spans)])])


def run_exporter(endpoint: str, exporter: int, seconds: float) -> dict[str, int]:
    """One exporter process: IN_FLIGHT_PER_EXPORTER threads sending until the deadline; counts what was acked."""
    import grpc
    from google.rpc.error_details_pb2 import RetryInfo
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    deadline = time.monotonic() + seconds
    totals = {"acknowledged": 0, "refused": 0, "refused_with_advice": 0, "failed": 0}
    lock = threading.Lock()
    sequence = iter(range(10**9))

    def send(lane: int) -> None:
        with grpc.insecure_channel(endpoint) as channel:
            stub = TraceServiceStub(channel)
            while time.monotonic() < deadline:
                with lock:
                    number = next(sequence)
                request = _request(exporter, number)
                while time.monotonic() < deadline:
                    try:
                        stub.Export(request, timeout=30)
                    except grpc.RpcError as err:
                        if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                            with lock:
                                totals["failed"] += 1
                            break
                        advice = dict(err.trailing_metadata() or ()).get("google.rpc.retryinfo-bin")
                        delay = FALLBACK_BACKOFF
                        if advice is not None:
                            retry = RetryInfo.FromString(advice).retry_delay
                            delay = retry.seconds + retry.nanos / 1e9
                        with lock:
                            totals["refused"] += 1
                            totals["refused_with_advice"] += advice is not None
                        time.sleep(delay)
                        continue
                    with lock:
                        totals["acknowledged"] += SPANS_PER_EXPORT
                    break

    lanes = [threading.Thread(target=send, args=(lane,)) for lane in range(IN_FLIGHT_PER_EXPORTER)]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    return totals


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: this benchmark needs Linux")


def run_overload(folder: Path, exporters: int, seconds: float) -> dict[str, float]:
    import duckdb

    from temporal_lens.stack import free_port

    db = folder / f"overload-{exporters}.duckdb"
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "temporal_lens", "receive", "--db", str(db), "--grpc", f"127.0.0.1:{port}",
         "--http", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert receiver.stdout is not None
    for line in receiver.stdout:
        if "Ctrl-C stops it" in line:
            break
    else:
        raise RuntimeError(f"the receiver did not start (exit {receiver.wait()})")
    started = time.perf_counter()
    senders = [
        subprocess.Popen([sys.executable, __file__, "--exporter", f"127.0.0.1:{port}", str(n), str(seconds)],
                         stdout=subprocess.PIPE, text=True)
        for n in range(exporters)
    ]
    results = [json.loads(sender.communicate()[0]) for sender in senders]
    elapsed = time.perf_counter() - started
    peak = _peak_rss_mb(receiver.pid)
    receiver.send_signal(signal.SIGTERM)
    receiver.communicate(timeout=60)
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = conn.execute("SELECT count(*) FROM spans").fetchall()[0][0]
    totals = {key: sum(r[key] for r in results) for key in results[0]}
    return {"exporters": exporters, "stored": stored, "seconds": elapsed, "peak_mb": peak, **totals}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s per run instead of 60")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--exporter", nargs=3, metavar=("ENDPOINT", "INDEX", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.exporter:
        endpoint, index, seconds = args.exporter
        print(json.dumps(run_exporter(endpoint, int(index), float(seconds))))
        return 0

    seconds = args.seconds or (10.0 if args.quick else 60.0)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for exporters in EXPORTER_COUNTS:
            print(f"{exporters} exporters x {IN_FLIGHT_PER_EXPORTER} in flight for {seconds:.0f} s ...", flush=True)
            runs.append(run_overload(Path(tmp), exporters, seconds))
            print(f"  {runs[-1]}", flush=True)
    lost = [r for r in runs if r["stored"] != r["acknowledged"]]

    print()
    print("exporters | spans acknowledged | spans stored | lost | spans/s stored | Exports refused (retried; with "
          "RetryInfo) | failed | receiver peak RSS")
    for r in runs:
        lost_spans = r["acknowledged"] - r["stored"]
        print(f"{r['exporters']:9d} | {r['acknowledged']:18,d} | {r['stored']:12,d} | {lost_spans:4d}"
              f" | {r['stored'] / r['seconds']:14,.0f} | {r['refused']:,d} ({r['refused_with_advice']:,d})"
              f" | {r['failed']} | {r['peak_mb']:,.0f} MB")
    small, large = runs
    print(f"\npeak RSS with {large['exporters']} exporters / with {small['exporters']}: "
          f"{large['peak_mb'] / small['peak_mb']:.2f}x (target: flat, about 1x); "
          f"acknowledged but not stored: {sum(r['acknowledged'] - r['stored'] for r in runs)} (target: 0)")
    return 1 if lost or any(r["failed"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
